"""What a command imports before it runs (issue #18: `trend`/`top` as a new process). Each check runs
in a new interpreter and reads `sys.modules`; nothing is timed here (bench/bench_rediff.py is)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.store import Store
from bot.store.db import file_head, head_revision
from tests.store.factories import REPOSITORY, make_commit, make_escapes, sha_for, snapshot_of

HEAVY = ("alembic", "github", "jinja2", "mako", "sqlalchemy.dialects.postgresql")


def _loaded_after(code: str) -> set[str]:
    """The heavy modules loaded once `code` ran in a new interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    modules = json.loads(proc.stdout.splitlines()[-1])
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_the_command_modules_import_no_heavy_library() -> None:
    assert _loaded_after("import bot.cli") == set()
    assert _loaded_after("import bot.commands.history") == set()


def test_a_history_query_on_a_database_at_head_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/escapes.db"
    sha = sha_for("startup")
    with Store.open(url) as store:  # created (and stamped) through the migrations, here
        store.record_snapshot(REPOSITORY, make_commit(sha), snapshot_of(make_escapes(3, 4), sha))
    argv = ["trend", "--format", "json", "--repo", str(tmp_path), "--branch", "main"]
    argv += ["--name", REPOSITORY, "--db", url]
    code = f"from bot.cli import main\nassert main({argv!r}) == 0"
    assert _loaded_after(code) == set()


def test_the_head_revision_read_from_the_migration_files_is_alembics() -> None:
    assert file_head() == head_revision()
