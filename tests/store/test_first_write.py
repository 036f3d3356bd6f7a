"""`Store.open(create="at-first-write")` on both backends: an empty database stays empty, every
lookup finds nothing without a query, and the first write creates the schema at head (in the
child process when one writes) before recording; the commands open their store so."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect

from bot.errors import SchemaOutdatedError
from bot.store import Store, current, upgrade
from bot.store import repo as repo_module
from bot.store.db import head_revision, make_engine
from bot.store.queries import snapshots

from .factories import REPOSITORY, TOOLCHAIN, make_commit, make_escapes, sha_for, snapshot_of

ROOT = Path(__file__).resolve().parents[2]


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL statements this process executes."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    yield seen
    event.remove(Engine, "before_cursor_execute", note)


def test_an_empty_database_is_created_by_the_first_write(db_url: str, statements: list[str]) -> None:
    sha = sha_for("first-write")
    snapshot = snapshot_of(make_escapes(3, 4), sha)
    with Store.open(db_url, create="at-first-write") as store:
        assert current(db_url) is None
        assert "snapshot" not in _tables(db_url)
        statements.clear()
        assert store.snapshot_status(REPOSITORY, sha, TOOLCHAIN.key) is None
        assert store.find_snapshot(REPOSITORY, sha, TOOLCHAIN.key) is None
        assert store.failure(REPOSITORY, sha, TOOLCHAIN.key) is None
        assert store.other_toolchain_key(REPOSITORY, sha, TOOLCHAIN) is None
        assert store.stored_commits(REPOSITORY) == set()
        assert store.find_pair(REPOSITORY, sha, sha, TOOLCHAIN.key, {}) is None
        assert store.pair_with_base(REPOSITORY, sha, TOOLCHAIN.key, snapshot, {}) is None
        assert statements == []  # nothing asked: there is nothing yet
        assert store.record_snapshot(REPOSITORY, make_commit(sha), snapshot)
        assert current(db_url) == head_revision()
        assert store.snapshot_status(REPOSITORY, sha, TOOLCHAIN.key) == "ok"
        found = store.find_snapshot(REPOSITORY, sha, TOOLCHAIN.key)
        assert found is not None and len(found.escapes) == len(snapshot.escapes)
    with Store.open(db_url) as again:  # an ordinary open finds it at head
        assert again.stored_commits(REPOSITORY) == {sha}


def test_the_child_process_creates_it(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # fork although pytest may run threads: the child runs only the store's code
    monkeypatch.setattr(repo_module, "fork_is_safe", lambda: True)
    sha = sha_for("first-write-child")
    snapshot = snapshot_of(make_escapes(4, 5), sha)
    with Store.open(db_url, create="at-first-write") as store:
        with store.writing_in_child(snapshot.escapes) as forked:
            assert forked
            assert store.record_snapshot(REPOSITORY, make_commit(sha), snapshot)
        assert current(db_url) == head_revision()
        # the parent reads what the child recorded
        assert store.snapshot_status(REPOSITORY, sha, TOOLCHAIN.key) == "ok"


def test_a_query_of_the_history_creates_it_first(db_url: str) -> None:
    with Store.open(db_url, create="at-first-write") as store:
        assert list(snapshots(store, REPOSITORY)) == []
    assert current(db_url) == head_revision()


def test_an_empty_database_opened_as_usual_is_created_at_once(db_url: str) -> None:
    Store.open(db_url).close()
    assert current(db_url) == head_revision()


def test_an_outdated_database_is_still_refused_when_opened(db_url: str) -> None:
    upgrade(db_url, "0001")
    with pytest.raises(SchemaOutdatedError):
        Store.open(db_url, create="at-first-write")


def test_a_first_run_imports_no_alembic_and_its_child_creates_the_database(tmp_path: Path) -> None:
    """The point of waiting: the process that runs the build and the diff never imports Alembic
    (~0.1 s); the child that records does, and creates the schema."""
    url = f"sqlite:///{tmp_path}/escapes.db"
    code = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from bot.store import Store
from bot.store import repo
from tests.store.factories import REPOSITORY, make_commit, make_escapes, sha_for, snapshot_of
repo.fork_is_safe = lambda: True
sha = sha_for("first-run")
snapshot = snapshot_of(make_escapes(3, 4), sha)
with Store.open({url!r}, create="at-first-write") as store:
    with store.writing_in_child(snapshot.escapes) as forked:
        stored = store.record_snapshot(REPOSITORY, make_commit(sha), snapshot)
    status = store.snapshot_status(REPOSITORY, sha, snapshot.toolchain.key)
print(json.dumps([forked, stored, status, "alembic" in sys.modules]))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert json.loads(proc.stdout.splitlines()[-1]) == [True, True, "ok", False]
    assert current(url) == head_revision()
