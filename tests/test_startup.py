"""What a command imports before it runs (issue #18: `trend`/`top` as a new process). Each check runs
in a new interpreter and reads `sys.modules`; nothing is timed here (bench/bench_rediff.py is)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.db import file_head, head_revision
from tests.store.factories import REPOSITORY, make_commit, make_escapes, sha_for, snapshot_of

HEAVY = ("alembic", "github", "jinja2", "mako", "sqlalchemy.dialects.postgresql", "sqlalchemy.orm")
# Not needed to print a query's result as JSON (the tables need rich; the pull-request comment the rest)
JSON_NEEDS_NONE_OF = ("rich", "bot.history.fit", "bot.report.render", "msgspec", "unidiff", "jsonschema")
# Only the HTML report's links need bot.report.safe (and its html, unicodedata and patterns)
NO_COMMAND_NEEDS = ("bot.report.safe", "html", "unicodedata")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(proc.stdout.splitlines()[-1]))


@functools.cache
def _interpreter_alone() -> frozenset[str]:
    """What a new interpreter loads before any code of ours: under .ci/run it includes what
    coverage's subprocess measurement imports (`html`, for one)."""
    return frozenset(_modules_after("pass"))


def _loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The `heavy` modules loaded once `code` ran in a new interpreter, and not by the
    interpreter alone."""
    modules = _modules_after(code) - _interpreter_alone()
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in heavy)}


def test_the_command_modules_import_no_heavy_library() -> None:
    assert _loaded_after("import bot.cli") == set()
    assert _loaded_after("import bot.commands.history") == set()


def _history_query(tmp_path: Path, command: str, fmt: str) -> str:
    """Code that runs `command --format fmt` on a database with one stored snapshot."""
    url = f"sqlite:///{tmp_path}/escapes.db"
    sha = sha_for("startup")
    if not (tmp_path / "escapes.db").exists():
        with Store.open(url) as store:  # created (and stamped) through the migrations, here
            store.record_snapshot(REPOSITORY, make_commit(sha), snapshot_of(make_escapes(3, 4), sha))
    argv = [command, "--format", fmt, "--repo", str(tmp_path), "--branch", "main"]
    argv += ["--name", REPOSITORY, "--db", url]
    return f"from bot.cli import main\nassert main({argv!r}) == 0"


@pytest.mark.parametrize("command", ["trend", "top"])
def test_a_history_query_on_a_database_at_head_imports_no_alembic_nor_the_orm(
    tmp_path: Path, command: str
) -> None:
    assert _loaded_after(_history_query(tmp_path, command, "json")) == set()


@pytest.mark.parametrize("command", ["trend", "top"])
def test_a_history_query_as_json_imports_no_table_or_comment_library(tmp_path: Path, command: str) -> None:
    assert _loaded_after(_history_query(tmp_path, command, "json"), JSON_NEEDS_NONE_OF) == set()


# What only blame needs: its walk, the reads by file result, diff's matching
BLAME_ONLY = ("bot.history.blame", "bot.store.files", "bot.diff")


@pytest.mark.parametrize("command", ["trend", "top"])
def test_trend_and_top_load_nothing_only_blame_needs(tmp_path: Path, command: str) -> None:
    assert _loaded_after(_history_query(tmp_path, command, "json"), BLAME_ONLY) == set()


def test_blame_loads_them(tmp_path: Path) -> None:
    # the check above would pass if no query ran: blame does need them
    code = _history_query(tmp_path, "blame", "json").replace(
        "'--format'", "'--function', 'NewClient', '--format'"
    )
    assert _loaded_after(code, BLAME_ONLY) == set(BLAME_ONLY)


@pytest.mark.parametrize("command", ["trend", "top", "blame"])
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_history_query_loads_no_link_escaping(tmp_path: Path, command: str, fmt: str) -> None:
    code = _history_query(tmp_path, command, fmt)
    if command == "blame":
        code = code.replace("'--format'", "'--function', 'NewClient', '--format'")
    assert _loaded_after(code, NO_COMMAND_NEEDS) == set()


def test_the_links_of_the_html_report_load_it() -> None:
    # the control of the check above: the links do need bot.report.safe
    code = "from bot.history.links import GitHubRepository as G\nG('https://github.com', 'o/n').pull_prefix"
    assert "bot.report.safe" in _loaded_after(code, NO_COMMAND_NEEDS)


@pytest.mark.parametrize("command", ["trend", "top", "blame"])
def test_a_history_command_loads_its_modules_with_the_collector_paused(tmp_path: Path, command: str) -> None:
    """SQLAlchemy's modules (and ours) live as long as the process: collecting while they load
    only rescans them (a tenth of `trend`'s instructions). Paused, they end up frozen (bot.memory),
    so the collector no longer tracks them; and it is on again for the command's own work."""
    code = _history_query(tmp_path, command, "json")
    if command == "blame":
        code = code.replace("'--format'", "'--function', 'NewClient', '--format'")
    probe = (
        f"{code}\nimport gc, sqlalchemy.sql.compiler as c, bot.history.queries as q\n"
        "tracked = {id(o) for o in gc.get_objects()}\n"
        "print(gc.isenabled(), id(c.SQLCompiler) in tracked, id(q.__dict__) in tracked)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert proc.stdout.splitlines()[-1] == "True False False"


def test_the_table_still_loads_rich(tmp_path: Path) -> None:
    # the check above would pass if nothing were printed: the table format does need rich
    assert "rich.console" in _loaded_after(_history_query(tmp_path, "top", "table"), ("rich",))


def test_the_head_revision_read_from_the_migration_files_is_alembics() -> None:
    assert file_head() == head_revision()


def test_the_ci_use_case_imports_pygithub_only_to_talk_to_github() -> None:
    """`ci --mode analyze` and a push post nothing: PyGithub and requests (about 0.1 s) are
    imported where the client is made, not by the use case's modules."""
    code = "import bot.ci, bot.ci.flows, bot.ci.publish, bot.commands.ci"
    assert _loaded_after(code, ("github", "requests")) == set()
    # the control: the client does bring them, so the assertion above can fail
    assert {"github", "requests"} <= _loaded_after("import bot.github.client", ("github", "requests"))


# What `ci` needs and `diff` / `collect` do not: its flows, reports and the comment's templates
CI_ONLY = ("bot.ci.flows", "bot.ci.outputs", "bot.report.render", "jinja2")


def test_the_store_wrappers_diff_uses_load_nothing_only_ci_needs() -> None:
    # `diff --no-record` and `diff` on a store wrap it with bot.ci.stores (about 45 ms otherwise)
    assert _loaded_after("from bot.ci.stores import NotRecording, TolerantStore", CI_ONLY) == set()
    assert _loaded_after("import bot.commands.diff, bot.app", CI_ONLY) == set()
    # the control: the use case does load them, from the same package
    assert set(CI_ONLY) <= _loaded_after("from bot.ci import run_ci", CI_ONLY)
