"""The gate (pure): does this change pass? One decision from a DiffResult and a policy.

Only new heap allocations (`moved-to-heap`, `escapes-to-heap` by default) are gated;
leaking-param changes are reported, never gated (contracts whose cost shows at call sites).
Constants boxed into interfaces (no allocation) are gated only with `[gate] constants = true`;
escapes in generated files reach the gate only with `[gate] generated = true` (the diff keeps
them out of `new` otherwise).
The steps, in order (docs/configuration.md):

1. a new escape that breaks a `//gcassert:noescape` annotation blocks, whatever else applies;
2. a new escape in a budget scope of `max-new = "never"` blocks, and nothing can allow it;
3. an allow-list entry or an inline `//escape-bot:allow <reason>` allows it (shown, not gated);
4. the rest count against their budget (the first `[[gate.budget]]` whose package glob and cause
   match, else the default `max-new`, 0 unless configured): over budget fails;
5. a failure the policy does not fail on warns; a failure accepted by the PR's label passes, and
   says who accepted it.

Before all of these: a module that built at base and does not build at head fails the gate (the
change broke it). A module that fails on both sides is the environment: reported, not gated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from bot.annotations import Annotations
from bot.config import AllowEntry, Budget, Config, ConfigError
from bot.diff import Counting, DiffResult
from bot.errors import EXIT_GATE, BotError
from bot.gc.model import Escape, Kind
from bot.wording import plural

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

    `fail_on_new`: fail when new escapes of `kinds` exceed their budget; off, they only warn
    (check-run conclusion `neutral`). `budget` is the default number of new units allowed
    where no entry of `budgets` applies.
    """

    fail_on_new: bool = True
    kinds: frozenset[Kind] = GATED_KINDS
    budget: int = 0
    budgets: tuple[Budget, ...] = ()
    allow: tuple[AllowEntry, ...] = ()
    counting: Counting = field(default_factory=Counting)  # `[gate] constants` / `generated`
    hot_only: float | None = None  # `[gate] hot-only`: only escapes hot in the profiles block

    @classmethod
    def from_config(cls, config: Config) -> GatePolicy:
        """The policy a configuration file describes."""
        gate = config.gate
        return cls(
            fail_on_new=gate.fail_on == "new",
            kinds=frozenset(gate.kinds),
            budget=gate.max_new,
            budgets=gate.budgets,
            allow=config.allow,
            counting=Counting(constants=gate.constants, generated=gate.generated),
            hot_only=gate.hot_only,
        )


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
    broken: tuple[Escape, ...] = ()  # new escapes in code annotated //gcassert:noescape
    exceeded: tuple[str, ...] = ()  # budgets over their limit, described
    accepted_by: str | None = None  # who accepted a failure with the PR label

    @property
    def passed(self) -> bool:
        """True unless the verdict is FAIL."""
        return self.verdict is not Verdict.FAIL


def _units(records: Iterable[Escape]) -> int:
    return sum(e.count for e in records)


def _noun(units: int) -> str:
    return "new heap escape" if units == 1 else "new heap escapes"


def _budget_for(escape: Escape, budgets: tuple[Budget, ...]) -> Budget | None:
    return next((b for b in budgets if b.matches(escape)), None)


def evaluate(
    result: DiffResult,
    policy: GatePolicy,
    annotations: Mapping[str, Annotations] | None = None,
    accepted_by: str | None = None,
    hot: Callable[[Escape, float], bool] | None = None,
) -> GateDecision:
    """Decide from the new escapes of `result`.

    `annotations` are the head's source comments of the files with new escapes (by repository
    path); `accepted_by` names who put the acceptance label on the PR (`@login`), if anyone;
    `hot` says whether the profiles find an escape hot at a threshold (`Insight.is_hot`). With
    `policy.hot_only` set and profiles given, a new escape that is not hot is let through.
    """
    annotations = annotations or {}
    for file, found in annotations.items():
        for s in found.suppressions:
            if not s.reason:
                raise ConfigError(f"{file}:{s.line}: //escape-bot:allow needs a reason after it")
    broken: list[Escape] = []
    strict: list[Escape] = []
    waived: list[Waived] = []
    counted: list[tuple[Escape, Budget | None]] = []
    # constants boxed into interfaces allocate nothing: gated only with `[gate] constants`
    for e in (e for e in result.new if e.kind in policy.kinds and policy.counting.counts(e)):
        comments = annotations.get(e.file)
        budget = _budget_for(e, policy.budgets)
        if comments is not None and comments.noescape(e.line, e.function):
            broken.append(e)
            continue
        if budget is not None and budget.max_new is None:
            strict.append(e)
            continue
        entry = next((a for a in policy.allow if a.matches(e)), None)
        if entry is not None:
            waived.append(Waived(e, f"allowed ({entry.key}): {entry.reason}"))
            continue
        suppression = comments.suppression_for(e.line) if comments is not None else None
        if suppression is not None:
            waived.append(Waived(e, f"allowed inline (line {suppression.line}): {suppression.reason}"))
            continue
        if policy.hot_only is not None and hot is not None and not hot(e, policy.hot_only):
            waived.append(
                Waived(e, f"cold: under {policy.hot_only:.4g} of the profiled CPU, no profiled allocation")
            )
            continue
        counted.append((e, budget))
    exceeded = _exceeded(counted, policy)
    scopes = {b.describe() for e in strict if (b := _budget_for(e, policy.budgets)) is not None}
    exceeded += [f"{scope}: no new heap escapes allowed" for scope in sorted(scopes)]
    blocking = tuple(broken + strict + [e for e, _ in counted])
    units = _units(blocking)
    decision = partial(
        GateDecision,
        blocking=blocking,
        waived=tuple(waived),
        new_units=units,
        broken=tuple(broken),
        exceeded=tuple(exceeded),
    )
    allowed = f", {len(waived)} allowed" if waived else ""
    counted_units = _units(e for e, _ in counted)
    broke = [f for f in result.failed_modules if f.side == "head"]
    if broke:
        # the change broke a module that built at base: its escapes could not be checked at all
        more = f" (and {plural(len(broke) - 1, 'more module')})" if len(broke) > 1 else ""
        also = f"; also {units} {_noun(units)}" if units else ""
        verdict, reason = (
            Verdict.FAIL,
            f"module {broke[0].where} builds at base but not at head{more}: {broke[0].reason}{also}",
        )
    elif broken:
        n = _units(broken)
        verdict, reason = Verdict.FAIL, f"{n} {_noun(n)} where //gcassert:noescape says none may be"
    elif strict:
        verdict, reason = Verdict.FAIL, f"{units} {_noun(units)}: {exceeded[-1]}"
    elif units == 0:
        verdict, reason = Verdict.PASS, f"no new heap escapes{allowed}"
    elif not exceeded:
        within = f"the budget of {policy.budget}" if not policy.budgets else "budget"
        verdict, reason = Verdict.PASS, f"{units} {_noun(units)}, within {within}{allowed}"
    elif not policy.fail_on_new:
        verdict, reason = Verdict.WARN, f"{units} {_noun(units)} (not gated){allowed}"
    elif policy.budgets:
        verdict, reason = (
            Verdict.FAIL,
            f"{counted_units} {_noun(counted_units)}: {'; '.join(exceeded)}{allowed}",
        )
    else:
        over = f" (budget {policy.budget})" if policy.budget else ""
        verdict, reason = Verdict.FAIL, f"{units} {_noun(units)}{over}{allowed}"
    if verdict is Verdict.FAIL and accepted_by:
        return decision(
            verdict=Verdict.PASS, reason=f"{reason}; accepted by {accepted_by}", accepted_by=accepted_by
        )
    return decision(verdict=verdict, reason=reason)


def _exceeded(counted: list[tuple[Escape, Budget | None]], policy: GatePolicy) -> list[str]:
    """Budgets whose new units are over their limit, as `scope: N new, max M`."""
    units: dict[int, int] = {}
    scopes: dict[int, Budget | None] = {}
    for e, budget in counted:
        key = id(budget)
        units[key] = units.get(key, 0) + e.count
        scopes[key] = budget
    out = []
    for key, n in units.items():
        budget = scopes[key]
        limit = policy.budget if budget is None else budget.max_new
        if limit is not None and n > limit:
            scope = budget.describe() if budget is not None else "everything else"
            out.append(f"{scope}: {n} new, max {limit}")
    return out


class GateFailed(BotError):
    """The gate failed: exit 1 with the reason as the one line."""

    exit_code = EXIT_GATE
