"""The pure core imports no subprocess, database or HTTP library (architecture.md, "Rooms")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "bot"
PURE = [
    "gc/parse.py",
    "gc/causes.py",
    "gc/model.py",
    "gc/names.py",
    "gc/source.py",
    "gc/signature.py",
    "diff.py",
    "failures.py",
    "commit.py",
    *[str(p.relative_to(ROOT)) for p in sorted((ROOT / "report").glob("*.py"))],
]
FORBIDDEN = {
    "subprocess",
    "sqlalchemy",
    "alembic",
    "github",
    "requests",
    "urllib",
    "http",
    "socket",
    "psycopg",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            if node.module.startswith("bot."):
                names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_adapters(module: str) -> None:
    imports = _imports(ROOT / module)
    assert not imports & FORBIDDEN, f"{module} imports {imports & FORBIDDEN}"
    adapters = {"bot.gc.run", "bot.git", "bot.store", "bot.github", "bot.cli", "bot.app"}
    assert not {i for i in imports if any(i.startswith(a) for a in adapters)}, module
