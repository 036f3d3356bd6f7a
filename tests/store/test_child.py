"""A function run in a forked child process (bot/store/child.py): real forks, real pipes."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.errors import StoreError
from bot.store import child as child_module
from bot.store.child import ChildWriter, fork_is_safe


@pytest.fixture
def shared() -> list[object]:
    return [object() for _ in range(10)]


@contextmanager
def _started(call: Any, shared: list[object]) -> Iterator[ChildWriter]:
    writer = ChildWriter(call, shared)
    try:
        yield writer
    finally:
        writer.close()


def test_calls_run_in_another_process_in_order_with_the_child_s_state(shared: list[object]) -> None:
    calls: list[int] = []

    def call(n: int) -> tuple[int, list[int]]:
        calls.append(n)
        return os.getpid(), list(calls)

    with _started(call, shared) as writer:
        first, second = writer(1), writer(2)
    assert first[0] == second[0] != os.getpid()
    assert (first[1], second[1]) == ([1], [1, 2])  # the child's list grew
    assert calls == []  # never run here


def test_shared_objects_arrive_as_the_child_s_copies_and_others_pickled(shared: list[object]) -> None:
    def call(objects: tuple[object, ...], sequence: object) -> tuple[tuple[bool, ...], bool]:
        return tuple(any(o is s for s in shared) for o in objects), sequence is shared

    with _started(call, shared) as writer:
        found, whole = writer((shared[0], shared[7], "new", shared[7]), shared)
    assert found == (True, True, False, True)
    assert whole  # the sequence itself travels as a reference too


def test_an_exception_comes_back_and_the_child_goes_on(shared: list[object]) -> None:
    def call(n: int) -> int:
        if n < 0:
            raise ValueError(f"negative: {n}")
        if n == 0:
            raise StoreError("database is locked", details="more")
        return n * 2

    with _started(call, shared) as writer:
        with pytest.raises(ValueError, match="negative: -1"):
            writer(-1)
        with pytest.raises(StoreError, match="database is locked") as caught:
            writer(0)
        assert caught.value.details == "more"
        assert writer(21) == 42


def test_an_exception_that_does_not_pickle_comes_back_as_its_text(shared: list[object]) -> None:
    class Local(Exception):  # a local class cannot be pickled by reference
        pass

    def call() -> None:
        raise Local("lost connection")

    with _started(call, shared) as writer, pytest.raises(StoreError, match=r"^Local: lost connection$"):
        writer()


def test_a_killed_child_is_an_error_saying_so(shared: list[object]) -> None:
    writer = ChildWriter(lambda: None, shared)
    os.kill(writer.pid, signal.SIGKILL)
    with pytest.raises(StoreError, match="writer process stopped: killed by SIGKILL"):
        writer()
    writer.close()  # nothing left to wait for: no error


def test_a_child_killed_by_a_nameless_signal_says_its_number(shared: list[object]) -> None:
    number = signal.SIGRTMIN + 3  # real-time signals between SIGRTMIN and SIGRTMAX have no name
    writer = ChildWriter(lambda: None, shared)
    os.kill(writer.pid, number)
    with pytest.raises(StoreError, match=f"writer process stopped: killed by signal {number}$"):
        writer()
    writer.close()


def test_close_while_a_call_waits_on_another_thread_reaps_the_child_once(shared: list[object]) -> None:
    """A stop signal cuts the main thread's wait for the writer thread short: closing then meets
    the call still in flight, whose child is dying too. Both want to wait for it."""
    for _ in range(10):
        writer = ChildWriter(lambda: time.sleep(0.2), shared)
        errors: list[str] = []

        def call(writer: ChildWriter = writer, errors: list[str] = errors) -> None:
            try:
                writer()
            except StoreError as exc:
                errors.append(str(exc))

        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(0.05)  # the call is in flight
        os.kill(writer.pid, signal.SIGKILL)
        writer.close()  # no ChildProcessError
        thread.join()
        assert errors == ["the store's writer process stopped: killed by SIGKILL"]


def test_close_waits_for_the_child(shared: list[object]) -> None:
    writer = ChildWriter(lambda: None, shared)
    pid = writer.pid
    writer.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already


def test_fork_is_safe_only_alone_on_linux_and_not_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(child_module.sys, "platform", "linux")
    monkeypatch.delenv(child_module.CHILD_ENV, raising=False)
    assert fork_is_safe()
    monkeypatch.setenv(child_module.CHILD_ENV, "0")
    assert not fork_is_safe()
    monkeypatch.delenv(child_module.CHILD_ENV)
    monkeypatch.setattr(child_module.sys, "platform", "darwin")
    assert not fork_is_safe()
    monkeypatch.setattr(child_module.sys, "platform", "linux")
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not fork_is_safe()


def test_another_thread_makes_forking_unsafe() -> None:
    """The real count, with a real thread waiting on a lock."""
    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(10,))
    thread.start()
    try:
        assert not fork_is_safe()
    finally:
        release.set()
        thread.join()
