"""`Store.writing_in_child` on both backends: snapshots recorded by a forked child read back as
those recorded in this process, the parent's own connections survive the child, and errors
come back to the caller."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.errors import StoreError
from bot.store import Store
from bot.store import repo as repo_module

from .conftest import database
from .dbutil import row_counts
from .factories import TOOLCHAIN, edit_package, make_commit, make_escapes, sha_for, snapshot_of

REPO = "acme/service"


@pytest.fixture
def forkable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork although pytest's process may run other threads: the child runs only the store's
    own code, which takes no lock those threads could hold."""
    monkeypatch.setattr(repo_module, "fork_is_safe", lambda: True)


@pytest.fixture
def inserts_here() -> Iterator[list[str]]:
    """INSERT statements executed by this process (a child's happen in its own memory)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    yield seen
    event.remove(Engine, "before_cursor_execute", note)


def _pair() -> tuple[Any, Any]:
    escapes = make_escapes(12, 30, seed=7)
    base = snapshot_of(escapes, sha_for("child-base"))
    package = sorted({e.package for e in escapes})[3]
    head = snapshot_of(edit_package(escapes, package, random.Random(5)), sha_for("child-head"))
    return base, head


def test_a_pair_recorded_by_the_child_reads_back_as_one_recorded_here(
    db_url: str,
    forkable: None,
    inserts_here: list[str],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base, head = _pair()
    with Store.open(db_url) as store:
        inserts_here.clear()  # creating the schema inserted its version
        with store.writing_in_child(base.escapes) as forked:
            assert forked
            assert store.record_snapshot(REPO, make_commit(base.commit), base)
            assert store.record_snapshot(REPO, make_commit(head.commit), head)
            assert not store.record_snapshot(REPO, make_commit(base.commit), base)  # stored already
        assert inserts_here == []  # every row was written by the child
        # this process's connections were not closed nor disturbed by the child
        found = [store.find_snapshot(REPO, s.commit, TOOLCHAIN.key) for s in (base, head)]
        kind = "postgresql" if db_url.startswith("postgresql") else "sqlite"
        with (
            database(kind, request, tmp_path_factory.mktemp("here")) as other_url,
            Store.open(other_url) as here,
        ):
            for snapshot in (base, head):
                assert here.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)
            assert found == [here.find_snapshot(REPO, s.commit, TOOLCHAIN.key) for s in (base, head)]
            assert row_counts(db_url) == row_counts(other_url)
    assert inserts_here  # the listener sees this process's own inserts


def test_an_error_in_the_child_is_raised_by_record_snapshot(db_url: str, forkable: None) -> None:
    base, head = _pair()
    with Store.open(db_url) as store, store.writing_in_child(base.escapes) as forked:
        assert forked
        with pytest.raises(ValueError, match="recorded as commit"):
            store.record_snapshot(REPO, make_commit(head.commit), base)
        assert store.record_snapshot(REPO, make_commit(base.commit), base)  # the child goes on


def test_a_killed_child_is_a_store_error(db_url: str, forkable: None) -> None:
    base, _ = _pair()
    with Store.open(db_url) as store:
        with store.writing_in_child(base.escapes) as forked:
            assert forked and store._child is not None
            os.kill(store._child.pid, signal.SIGKILL)
            with pytest.raises(StoreError, match="killed by SIGKILL"):
                store.record_snapshot(REPO, make_commit(base.commit), base)
        assert store.find_snapshot(REPO, base.commit, TOOLCHAIN.key) is None
        assert store.record_snapshot(REPO, make_commit(base.commit), base)  # written here now


def test_no_child_where_forking_is_unsafe_or_the_store_read_only(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = _pair()
    monkeypatch.setattr(repo_module, "fork_is_safe", lambda: False)
    with Store.open(db_url) as store, store.writing_in_child(base.escapes) as forked:
        assert not forked and store._child is None
        assert store.record_snapshot(REPO, make_commit(base.commit), base)
    monkeypatch.setattr(repo_module, "fork_is_safe", lambda: True)
    with Store.open(db_url, access="read") as store, store.writing_in_child(base.escapes) as forked:
        assert not forked
