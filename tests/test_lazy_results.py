"""Named results are read from the source only when a rule asks for them (bot/gc/causes.py)."""

from __future__ import annotations

import pytest

from bot.gc.causes import LazyNames, classify
from bot.gc.model import Cause, Flow, Kind, Position, Step

AT = Position("p/x.go", 3, 2)


def _never() -> frozenset[str]:
    raise AssertionError("named results were read")


def test_a_heap_root_never_reads_the_named_results() -> None:
    flows = [Flow("{heap}", "&v", (Step("fmt.Println(v)", "call parameter", AT),))]
    assert classify(Kind.MOVED_TO_HEAP, "v", flows, results=LazyNames(_never)) is Cause.LEAKING_CALL


def test_a_storage_root_other_than_a_func_literal_never_reads_them() -> None:
    flows = [Flow("{storage for T{...}}", "&v", (Step("T{...}", "address-of", AT),))]
    assert classify(Kind.MOVED_TO_HEAP, "v", flows, results=LazyNames(_never)) is Cause.UNKNOWN


@pytest.mark.parametrize(("names", "cause"), [({"r"}, Cause.RETURNED), (set(), Cause.OUTLIVES_SCOPE)])
def test_a_variable_root_reads_them_once(names: set[str], cause: Cause) -> None:
    calls: list[int] = []

    def compute() -> frozenset[str]:
        calls.append(1)
        return frozenset(names)

    flows = [Flow("r", "&v", (Step("r = &v", "assign", AT),))]
    assert classify(Kind.MOVED_TO_HEAP, "v", flows, results=LazyNames(compute)) is cause
    assert len(calls) == 1


def test_a_captured_result_is_found_through_the_lazy_names() -> None:
    flows = [Flow("{storage for func literal}", "&err", (Step("func literal", "captured by a closure", AT),))]
    lazy = LazyNames(lambda: frozenset({"err"}))
    assert classify(Kind.MOVED_TO_HEAP, "err", flows, results=lazy) is Cause.RETURNED
    assert classify(Kind.MOVED_TO_HEAP, "err", flows, results=frozenset({"err"})) is Cause.RETURNED
