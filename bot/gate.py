"""The gate (pure): does this change pass? One decision from a DiffResult and a policy.

Today the policy is "no new heap allocations" (`moved-to-heap`, `escapes-to-heap`); leaking-param
changes are reported and never gated (they are contracts; their cost shows at call sites).
Budgets, allow-lists and suppressions plug in at the marked steps of `evaluate`: each one moves
escapes from `blocking` to `waived` with a reason, or raises the number of units allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.diff import DiffResult
from bot.errors import EXIT_GATE, BotError
from bot.gc.model import Escape, Kind

GATED_KINDS: frozenset[Kind] = frozenset({Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP})


class Verdict(StrEnum):
    """The gate's answer; `conclusion` is the check-run word for it."""

    PASS = "pass"  # no blocking escape
    WARN = "warn"  # new escapes, but the policy does not fail on them
    FAIL = "fail"

    @property
    def conclusion(self) -> str:
        """GitHub check-run conclusion."""
        return {"pass": "success", "warn": "neutral", "fail": "failure"}[self.value]

    @property
    def state(self) -> str:
        """GitHub commit-status state (statuses have no 'neutral')."""
        return "failure" if self is Verdict.FAIL else "success"


@dataclass(frozen=True, slots=True, kw_only=True)
class GatePolicy:
    """What fails the gate.

    `fail_on_new`: fail when new escapes of `kinds` exceed `budget` units (default 0); off, new
    escapes only warn (check-run conclusion `neutral`).
    """

    fail_on_new: bool = True
    kinds: frozenset[Kind] = GATED_KINDS
    budget: int = 0


@dataclass(frozen=True, slots=True)
class Waived:
    """A new escape the policy lets through, and why (allow-list entry, suppression...)."""

    escape: Escape
    reason: str


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The verdict, the escapes behind it and a one-line reason."""

    verdict: Verdict
    blocking: tuple[Escape, ...]  # new escapes that count against the gate
    waived: tuple[Waived, ...]
    new_units: int  # units of `blocking`
    reason: str

    @property
    def passed(self) -> bool:
        """True unless the verdict is FAIL."""
        return self.verdict is not Verdict.FAIL


def _units(records: tuple[Escape, ...]) -> int:
    return sum(e.count for e in records)


def evaluate(result: DiffResult, policy: GatePolicy) -> GateDecision:
    """Decide from the new escapes of `result`."""
    candidates = tuple(e for e in result.new if e.kind in policy.kinds)
    # allow-lists and suppressions go here: move matching candidates to `waived`
    waived: tuple[Waived, ...] = ()
    blocking = candidates
    units = _units(blocking)
    noun = "new heap escape" if units == 1 else "new heap escapes"
    if units == 0:
        return GateDecision(Verdict.PASS, blocking, waived, units, "no new heap escapes")
    if units <= policy.budget:
        return GateDecision(
            Verdict.PASS, blocking, waived, units, f"{units} {noun}, within the budget of {policy.budget}"
        )
    if not policy.fail_on_new:
        return GateDecision(Verdict.WARN, blocking, waived, units, f"{units} {noun} (not gated)")
    over = f" (budget {policy.budget})" if policy.budget else ""
    return GateDecision(Verdict.FAIL, blocking, waived, units, f"{units} {noun}{over}")


class GateFailed(BotError):
    """The gate failed: exit 1 with the reason as the one line."""

    exit_code = EXIT_GATE
