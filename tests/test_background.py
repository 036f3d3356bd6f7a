"""Store writes queued while the next build runs (bot/background.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from bot.background import writes_in_background
from bot.commit import CommitInfo
from bot.gc.model import Snapshot
from bot.store import Store
from bot.store import repo as repo_module
from tests.doubles import MemoryStore
from tests.store.factories import TOOLCHAIN, make_commit, make_snapshot


class SlowStore(MemoryStore):
    """Records once `release` is set, noting on which thread; fails for a commit in `failing`;
    notes when its child context is entered and left."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.done: list[tuple[str, bool]] = []
        self.failing: set[str] = set()
        self.events: list[str] = []

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        self.release.wait(5)
        if commit.sha in self.failing:
            raise OSError("disk full")
        self.done.append((snapshot.revision, threading.current_thread() is not threading.main_thread()))
        return super().record_snapshot(repository, commit, snapshot)

    def writing_in_child(self, shared: Sequence[object]) -> AbstractContextManager[bool]:
        @contextmanager
        def noted() -> Iterator[bool]:
            self.events.append(f"enter {len(shared)}")
            yield False
            self.events.append(f"leave after {len(self.done)} writes")

        return noted()


def _snapshots() -> tuple[Snapshot, Snapshot]:
    return make_snapshot(2, 3, seed=1), make_snapshot(2, 4, seed=2)


def test_writes_run_in_order_off_the_caller_s_thread_and_are_done_on_leaving() -> None:
    store = SlowStore()
    base, head = _snapshots()
    with writes_in_background() as later:
        later(store, "r", make_commit(base.commit), base)
        later(store, "r", make_commit(head.commit), head)
        assert store.done == []  # queued, not run by the caller
        store.release.set()
    assert store.done == [(base.revision, True), (head.revision, True)]
    # the store was asked once, at the first write, with its escapes; left after every write
    assert store.events == [f"enter {len(base.escapes)}", "leave after 2 writes"]


def test_a_failed_write_is_raised_on_leaving() -> None:
    store = SlowStore()
    store.release.set()
    base, _ = _snapshots()
    store.failing.add(base.commit)
    with pytest.raises(OSError, match="disk full"), writes_in_background() as later:
        later(store, "r", make_commit(base.commit), base)


def test_the_body_s_error_wins_and_queued_writes_still_finish() -> None:
    store = SlowStore()
    store.release.set()
    base, head = _snapshots()
    store.failing.add(head.commit)
    with pytest.raises(RuntimeError, match="head did not build"), writes_in_background() as later:
        later(store, "r", make_commit(base.commit), base)
        later(store, "r", make_commit(head.commit), head)
        raise RuntimeError("head did not build")
    assert store.done == [(base.revision, True)]


def test_a_real_store_writes_in_its_child_and_the_writes_are_there_on_leaving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With forking allowed (pytest's own threads take no lock the store's code needs)."""
    monkeypatch.setattr(repo_module, "fork_is_safe", lambda: True)
    base, head = _snapshots()
    with Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        with writes_in_background() as later:
            later(store, "r", make_commit(base.commit), base)
            later(store, "r", make_commit(head.commit), head)
            assert store._child is not None  # the writes go to the child
        assert store._child is None
        for snapshot in (base, head):
            assert store.snapshot_status("r", snapshot.commit, TOOLCHAIN.key) == "ok"
