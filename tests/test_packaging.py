"""The wheel carries what an installed escape-bot needs at run time, outside Python modules."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_migrations_templates_and_demo(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("escape_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # migrations/ at the top of the repository becomes the package bot.store.migrations
    assert {
        "bot/store/migrations/env.py",
        "bot/store/migrations/versions/v0001_initial.py",
        "bot/store/migrations/versions/v0002_aggregate_counts.py",
        "bot/report/templates/report.md.j2",
        "bot/examples/demo/base/go.mod",
        "bot/examples/demo/head/inventory/inventory.go",
        "bot/py.typed",
    } <= names
    assert not any(n.startswith(("tests/", "migrations/")) for n in names)
    # the parser's C loop is compiled where gcc and Python's headers are (CI's machine has both)
    assert any(n.startswith("bot/gc/_scan.") and n.endswith(".so") for n in names)
    assert any(n.startswith("bot/gc/_flows.") and n.endswith(".so") for n in names)
    # every module of the package is in the wheel (a new subpackage must be listed in pyproject)
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "bot").rglob("*.py")}
    missing = {m for m in modules if m not in names}
    assert not missing, f"not in the wheel (add the package to [tool.setuptools] packages): {sorted(missing)}"
