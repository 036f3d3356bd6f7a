"""The gate's decision (bot/gate.py): pure, on DiffResults the real diff produced."""

from __future__ import annotations

from dataclasses import replace

from bot.diff import DiffResult, diff
from bot.gate import GatePolicy, Verdict, evaluate
from bot.gc.model import Cause, Escape, Kind


def _escape(expression: str, kind: Kind = Kind.MOVED_TO_HEAP, count: int = 1) -> Escape:
    return Escape(
        package="example.com/m/p",
        file="p/p.go",
        line=3,
        column=2,
        function="F",
        kind=kind,
        expression=expression,
        message=f"moved to heap: {expression}",
        cause=Cause.RETURNED,
        count=count,
    )


def _result(*new: Escape, fixed: tuple[Escape, ...] = ()) -> DiffResult:
    return diff(fixed, new)


def test_no_new_heap_escapes_pass() -> None:
    decision = evaluate(_result(fixed=(_escape("a"),)), GatePolicy())
    assert (decision.verdict, decision.passed, decision.reason) == (Verdict.PASS, True, "no new heap escapes")
    assert decision.verdict.conclusion == "success" and decision.verdict.state == "success"


def test_new_heap_escapes_fail_counting_units() -> None:
    decision = evaluate(_result(_escape("a"), _escape("b", Kind.ESCAPES_TO_HEAP, count=2)), GatePolicy())
    assert (decision.verdict, decision.new_units, decision.reason) == (Verdict.FAIL, 3, "3 new heap escapes")
    assert not decision.passed and decision.verdict.conclusion == "failure"
    assert sorted(e.expression for e in decision.blocking) == ["a", "b"]


def test_leaking_params_are_never_gated() -> None:
    leak = replace(_escape("p", Kind.LEAKING_PARAM), message="leaking param: p")
    decision = evaluate(_result(leak, replace(leak, kind=Kind.LEAKING_PARAM_CONTENT)), GatePolicy())
    assert decision.verdict is Verdict.PASS and decision.blocking == ()


def test_not_failing_on_new_warns() -> None:
    decision = evaluate(_result(_escape("a")), GatePolicy(fail_on_new=False))
    assert (decision.verdict, decision.passed) == (Verdict.WARN, True)
    assert decision.verdict.conclusion == "neutral" and decision.verdict.state == "success"
    assert decision.reason == "1 new heap escape (not gated)"


def test_budget() -> None:
    two = _result(_escape("a"), _escape("b"))
    assert evaluate(two, GatePolicy(budget=2)).reason == "2 new heap escapes, within the budget of 2"
    over = evaluate(two, GatePolicy(budget=1))
    assert (over.verdict, over.reason) == (Verdict.FAIL, "2 new heap escapes (budget 1)")


def test_kinds_are_configurable() -> None:
    leak = replace(_escape("p", Kind.LEAKING_PARAM), message="leaking param: p")
    policy = GatePolicy(kinds=frozenset({Kind.LEAKING_PARAM}))
    assert evaluate(_result(leak), policy).verdict is Verdict.FAIL
