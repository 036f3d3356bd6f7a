"""Store writes that overlap the next build: `compare` records base while head builds.

One worker thread runs the writes in the order they were queued (base's before head's: storing
head reuses what storing base computed, bot/store/content.py's memo). Leaving the context waits
for every write, also when the body failed (base is stored even if head does not build, as when
it was stored first), and then raises the first write's error unless the body raised its own.

Where the store can (bot/store/child.py: Linux, one thread), the first write forks a child
process, from the caller's thread, before the worker thread starts: the worker then only waits
for the child, and storing base (~1.6 s of Python on the standard library) runs on another core
instead of taking turns at the GIL with head's parse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

from bot.commit import CommitInfo
from bot.gc.model import Snapshot
from bot.ports import SnapshotStore

Later = Callable[[SnapshotStore, str, CommitInfo, Snapshot], None]
"""Queues `store.record_snapshot(repository, commit, snapshot)` to run in the background."""


@contextmanager
def writes_in_background() -> Iterator[Later]:
    """A function that queues snapshot writes; they have all finished when the context is left."""
    pending: list[Future[Any]] = []
    with (
        ExitStack() as children,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="escape-bot-store") as pool,
    ):
        forked: set[int] = set()  # the stores asked already (each is asked once, at its first write)

        def later(store: SnapshotStore, repository: str, commit: CommitInfo, snapshot: Snapshot) -> None:
            if id(store) not in forked:
                forked.add(id(store))
                # closed after the pool has finished every write (the ExitStack is left last)
                children.enter_context(store.writing_in_child(snapshot.escapes))
            pending.append(pool.submit(store.record_snapshot, repository, commit, snapshot))

        yield later
    for future in pending:  # reached only when the body returned: its error comes first
        future.result()
