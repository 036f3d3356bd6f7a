"""A child process that runs one function for its parent, forked where the arguments already are.

`compare` stores base's snapshot while head builds and parses. On a thread, the store's work
(grouping, hashing and encoding ~46,000 escapes, then the inserts: ~1.6 s of Python for the
standard library) holds the GIL that head's parse needs; in a process it runs on the other core.
Forked after base was parsed, the child has base's records already: nothing is copied until a
page is written to. A later call's arguments are pickled, except the objects shared at the fork
(base's escapes), which travel as their index: head's unchanged packages are base's very objects
(bot/gc/reuse.py), so they are a few bytes each, and in the child they are again the objects the
store's memo knows (bot/store/content.py's `split_escapes`).

Forking is safe only where no other thread can hold a lock at that moment: `fork_is_safe` says
so on Linux in a process with one thread; elsewhere the caller keeps its thread.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from bot.errors import StoreError

CHILD_ENV = "ESCAPE_BOT_STORE_CHILD"
"""`0` keeps every store write on the caller's writer thread (no child process)."""


def fork_is_safe() -> bool:
    """True on Linux in a process whose only thread is the caller (no lock can be held by another
    thread at the fork), unless ESCAPE_BOT_STORE_CHILD=0."""
    return (
        sys.platform == "linux"
        and hasattr(os, "fork")
        and threading.active_count() == 1
        and os.environ.get(CHILD_ENV, "1") != "0"
    )


class _Sharing(pickle.Pickler):
    """Pickles the shared objects as their index."""

    def __init__(self, file: io.BufferedWriter, ids: dict[int, int]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._ids = ids

    def persistent_id(self, obj: object) -> int | None:
        return self._ids.get(id(obj))


class _Unsharing(pickle.Unpickler):
    """Reads the shared objects' indexes back as the child's copies of them."""

    def __init__(self, file: io.BufferedReader, shared: Sequence[object]) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> object:
        return self._shared[pid]


class ChildWriter:
    """`call(*args)` run in a child process forked at construction, one call at a time, in order;
    its result or exception comes back. `shared` (and the sequence itself) is never pickled.
    `after_fork` runs first in the child (the store forgets its parent's connections there)."""

    def __init__(
        self,
        call: Callable[..., Any],
        shared: Sequence[object],
        after_fork: Callable[[], None] = lambda: None,
    ) -> None:
        table = [shared, *shared]
        self._table = table  # keeps every shared object alive, so that no id is reused
        self._ids = {id(obj): index for index, obj in enumerate(table)}
        requests_in, requests_out = os.pipe()
        replies_in, replies_out = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            os.close(requests_out)
            os.close(replies_in)
            _child(call, table, after_fork, requests_in, replies_out)
        os.close(requests_in)
        os.close(replies_out)
        self.pid = pid
        self._requests = os.fdopen(requests_out, "wb")
        self._replies = os.fdopen(replies_in, "rb")
        self._lock = threading.Lock()  # one call on the pipes at a time, and close after it
        self._reaping = threading.Lock()  # one waitpid: the caller's thread and close() may both ask
        self._how = ""  # how the child ended, once it was waited for

    def __call__(self, *args: Any) -> Any:
        """Run `call(*args)` in the child; its exception is raised here."""
        with self._lock:
            try:
                _Sharing(self._requests, self._ids).dump(args)
                self._requests.flush()
                ok, value = pickle.load(self._replies)
            except (OSError, EOFError, pickle.UnpicklingError):
                raise StoreError(f"the store's writer process stopped: {self._ended()}") from None
        if ok:
            return value
        raise value

    def close(self) -> None:
        """No more calls: the child exits once it has answered the last one; wait for it. A call
        still in flight on another thread (a stop signal cut the wait for it short) is answered
        first, so that the pipes are never closed under it."""
        with self._lock:
            for pipe in (self._requests, self._replies):
                with contextlib.suppress(OSError):  # the child is gone: the last call said so already
                    pipe.close()
        self._ended()

    def _ended(self) -> str:
        """Wait for the child, once whoever asks first; how it ended."""
        with self._reaping:
            if self.pid != 0:
                _, status = os.waitpid(self.pid, 0)
                self.pid = 0
                self._how = _how(status)
            return self._how


def _how(status: int) -> str:
    """A wait status in words."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:  # a real-time signal has no name
            return f"killed by signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _child(
    call: Callable[..., Any],
    table: Sequence[object],
    after_fork: Callable[[], None],
    requests_fd: int,
    replies_fd: int,
) -> None:
    """The child's life: answer each request until the parent closes the pipe, then `_exit`
    (no atexit handler, no `finally` of the caller's frames, no flush of inherited buffers)."""
    code = 1
    try:
        # Every object inherited stays alive and uncollected: the parent's connections are never
        # closed from here (closing one would end the parent's session), and the pages they
        # share with the parent are not written to by the collector.
        gc.freeze()
        after_fork()
        requests = os.fdopen(requests_fd, "rb")
        replies = os.fdopen(replies_fd, "wb")
        while True:
            try:
                args = _Unsharing(requests, table).load()
            except EOFError:
                break
            try:
                reply: tuple[bool, Any] = (True, call(*args))
            except Exception as exc:  # every error goes back to the caller
                reply = (False, exc)
            replies.write(_picklable(reply))
            replies.flush()
        code = 0
    finally:
        os._exit(code)


def _picklable(reply: tuple[bool, Any]) -> bytes:
    """The pickled reply; an exception that does not pickle (or unpickle) goes as a StoreError
    with its type and message."""
    try:
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(data)
    except Exception:  # any failure to pickle means: send the text instead
        exc = reply[1]
        data = pickle.dumps((False, StoreError(f"{type(exc).__name__}: {exc}")))
    return data
