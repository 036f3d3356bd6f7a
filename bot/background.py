"""Store writes that overlap the next build: `compare` records base while head builds.

One worker thread runs the writes in the order they were queued (base's before head's: storing
head reuses what storing base computed, bot/store/content.py's memo). Leaving the context waits
for every write, also when the body failed (base is stored even if head does not build, as when
it was stored first), and then raises the first write's error unless the body raised its own.
Head's build is go's work in other processes, and head's parse mostly takes base's blocks
(bot/gc/reuse.py), so the write competes with little Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

Later = Callable[[Callable[[], Any]], None]
"""Queues a write to run in the background."""


@contextmanager
def writes_in_background() -> Iterator[Later]:
    """A function that queues writes; they have all finished when the context is left."""
    pending: list[Future[Any]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="escape-bot-store") as pool:
        yield lambda write: pending.append(pool.submit(write))
    for future in pending:  # reached only when the body returned: its error comes first
        future.result()
