"""Store writes queued while the next build runs (bot/background.py)."""

from __future__ import annotations

import threading

import pytest

from bot.background import writes_in_background


def test_writes_run_in_order_off_the_caller_s_thread_and_are_done_on_leaving() -> None:
    done: list[tuple[str, bool]] = []
    release = threading.Event()
    main = threading.get_ident()

    def write(name: str) -> None:
        release.wait(5)
        done.append((name, threading.get_ident() != main))

    with writes_in_background() as later:
        later(lambda: write("base"))
        later(lambda: write("head"))
        assert done == []  # queued, not run by the caller
        release.set()
    assert done == [("base", True), ("head", True)]


def test_a_failed_write_is_raised_on_leaving() -> None:
    with pytest.raises(OSError, match="disk full"), writes_in_background() as later:
        later(lambda: (_ for _ in ()).throw(OSError("disk full")))


def test_the_body_s_error_wins_and_queued_writes_still_finish() -> None:
    done: list[str] = []
    with pytest.raises(RuntimeError, match="head did not build"), writes_in_background() as later:
        later(lambda: done.append("base"))
        later(lambda: (_ for _ in ()).throw(OSError("disk full")))
        raise RuntimeError("head did not build")
    assert done == ["base"]
