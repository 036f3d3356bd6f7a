"""SIGINT, SIGTERM and SIGHUP stop a command the same way: cleaned up, one line, 128 + the signal.

A cancelled CI job sends SIGTERM (to the bot alone, not to its children), a closed terminal
SIGHUP, Ctrl-C SIGINT (to the whole foreground process group). Each becomes `Interrupted`,
raised where the main thread is: the `finally` blocks on the way out remove the temporary
worktrees and directories and stop a running `go build` (bot/gc/run.py). A second signal while
that cleanup runs is ignored, so that it cannot cut the cleanup short; cleanup is bounded
(a go build gets a few seconds to stop before it is killed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

# SIGHUP is POSIX only (Windows runners are not tested, but must not fail on import)
STOP_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s)


class Interrupted(BaseException):
    """A stop signal arrived. A BaseException like KeyboardInterrupt, so that no `except
    Exception` swallows it; not a KeyboardInterrupt, so that click does not turn it into Abort."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """SIGINT, SIGTERM, SIGHUP."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal (130, 143, 129)."""
        return 128 + self.signum


@contextmanager
def stop_signals() -> Iterator[None]:
    """Turn the stop signals into `Interrupted` while the block runs (main thread only: elsewhere
    Python cannot install handlers, and a caller there has its own)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            return  # already stopping: let the cleanup finish
        received.append(signum)
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


STOP_GRACE_SECONDS = 5.0


def stop_process_group(proc: subprocess.Popen[Any]) -> None:
    """Stop a process started as the leader of its own group (`process_group=0`: a go command) and
    everything in the group (the compilers go runs): SIGINT, what Ctrl-C would have sent them,
    then SIGKILL if it has not exited after STOP_GRACE_SECONDS. A go stopped so leaves its $WORK
    behind, which is why bot/gc/run.py points GOTMPDIR at a directory of its own."""
    if not hasattr(os, "killpg"):  # Windows: no process groups to signal
        proc.kill()
        return
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return  # the group is gone
        try:
            proc.wait(timeout=STOP_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue
