"""The Markdown report (pure): PR comment, job summary, check-run summary and `--format markdown`.

One Jinja2 template renders every flavour. The environment is sandboxed with strict undefined
variables, and its `finalize` hook lets a template output only `Md` (escaped by a filter from
bot/report/safe.py) or an integer: a value printed without a filter fails the rendering instead of
reaching a pull request unescaped.

GitHub refuses comment bodies over 65,536 characters and check summaries over 65,535 bytes (422),
so `render` fits the report into a limit (bot/report/limits.py) by leaving out the least useful
detail first: explanations, then the fixed list, then rows of new escapes; the counts always
stay, and the report says how much was left out and where the full report is.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.diff import DiffResult
from bot.gate import GateDecision, Verdict
from bot.gc.model import Cause, Escape, Snapshot
from bot.insight import Insight
from bot.report import limits, safe, text
from bot.report.filters import UnsafeOutputError, environment, plural
from bot.report.limits import Limit
from bot.report.safe import Md
from bot.report.view import (
    MAX_CONSTANT_ROWS,
    VISIBLE_ROWS,
    Allowed,
    Group,
    LeftOut,
    Links,
    Row,
    broken_module,
    compiler_section,
    escape_row,
    explanation_lines,
    headline,
    mark_groups,
    ordered_new,
    side_view,
    unit_count,
)

_VERDICT_WORDS = {Verdict.PASS: "passed", Verdict.WARN: "would fail", Verdict.FAIL: "failed"}
_ICONS = {Verdict.PASS: ":white_check_mark: ", Verdict.WARN: ":warning: ", Verdict.FAIL: ":x: "}

# re-exported: callers build links and headlines with the report
__all__ = ["Links", "Report", "explanation_lines", "headline", "render"]

DEFAULT_NAME = "default"


# the limits are defined, with their units, in bot/report/limits.py; these names are what callers use
COMMENT_LIMIT = limits.COMMENT_BODY
CHECK_SUMMARY_LIMIT = limits.CHECK_SUMMARY
STEP_SUMMARY_LIMIT = limits.STEP_SUMMARY


class Flavour(StrEnum):
    """Where the Markdown goes."""

    COMMENT = "comment"  # the sticky PR comment: starts with the hidden marker
    SUMMARY = "summary"  # the job summary (GITHUB_STEP_SUMMARY)
    CHECK = "check"  # check-run output.summary
    PLAIN = "plain"  # `escape-bot diff --format markdown`


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Everything the report shows."""

    base: Snapshot
    head: Snapshot
    result: DiffResult
    decision: GateDecision
    name: str = DEFAULT_NAME
    links: Links | None = None
    insight: Insight = field(default_factory=Insight)  # attribution, hotness, toolchain effect
    accept_label: str | None = "escape-bot/accept"  # `[accept] label`; None: acceptance is off
    policy_url: str | None = None  # where the configuration reference is (a link when given)
    enforced: bool = True  # False: `diff` without `--fail-on-new`, a failing gate exits 0


@dataclass(frozen=True, slots=True, kw_only=True)
class _Cut:
    """How much detail to keep (None: all)."""

    explanations: int | None = None
    fixed: int | None = None
    new: int | None = None


@dataclass(frozen=True, slots=True)
class _Model:
    """The full view before cutting."""

    rows: tuple[Row, ...]  # the new escapes, most important first
    fixed: tuple[Row, ...]
    context: dict[str, object] = field(hash=False)


def _model(report: Report, flavour: Flavour, limit: Limit | None) -> _Model:
    result, links, insight = report.result, report.links, report.insight
    counted = result.counting.counts
    waived = {w.escape for w in report.decision.waived}
    new = [e for e in result.new if e.kind.allocates and counted(e) and e not in waived]
    fixed = [e for e in result.fixed if e.kind.allocates and counted(e)]
    constants = [e for e in result.new if e.kind.allocates and not counted(e)]
    by_cause: dict[Cause, list[Escape]] = defaultdict(list)
    for e in new:
        by_cause[e.cause].append(e)
    groups = tuple(Group(c.value, c.label, unit_count(by_cause[c])) for c in Cause if c in by_cause)
    head_sha = report.head.commit
    rows = tuple(escape_row(e, head_sha, links, insight) for e in ordered_new(new, insight))
    leaks_new = unit_count(e for e in result.new if not e.kind.allocates)
    leaks_fixed = unit_count(e for e in result.fixed if not e.kind.allocates)
    n_new, n_fixed = unit_count(new), unit_count(fixed)
    allowed = tuple(Allowed(escape_row(w.escape, head_sha, links), w.reason) for w in report.decision.waived)
    context: dict[str, object] = {
        "marker": safe.marker(report.name) if flavour is Flavour.COMMENT else None,
        "icon": Md("")
        if flavour is Flavour.PLAIN
        else Md(_ICONS[report.decision.verdict if report.enforced else Verdict.WARN]),
        "headline": headline(
            n_new,
            n_fixed,
            report.decision.verdict,
            sites=len(new),
            allowed=unit_count(w.escape for w in report.decision.waived),
        ),
        "name": report.name if report.name != DEFAULT_NAME else None,
        "groups": groups,
        "new_units": n_new,
        "new_sites": len(new),
        "fixed_units": n_fixed,
        "unchanged": unit_count(e for e in result.unchanged if e.kind.allocates and counted(e)),
        "leaks_new": leaks_new,
        "leaks_fixed": leaks_fixed,
        "base": side_view(report.base, links),
        "head": side_view(report.head, links),
        "toolchains_differ": report.base.toolchain != report.head.toolchain and insight.toolchain is None,
        "compiler": compiler_section(insight, links, report.base.commit),
        "ranked_by": ", ".join(insight.profiles),
        "limit": limit.size if limit else 0,
        "limit_unit": limit.unit if limit else "characters",
        "flavour": flavour.value,
        "gate_reason": report.decision.reason,
        "gate_verdict": _VERDICT_WORDS[report.decision.verdict],
        "warn_only": report.decision.verdict is Verdict.WARN,
        "not_enforced": report.decision.verdict is Verdict.FAIL and not report.enforced,
        "accepted_by": report.decision.accepted_by,
        "accept_label": report.accept_label,
        "policy_url": report.policy_url,
        "broken": tuple(escape_row(e, head_sha, links) for e in report.decision.broken),
        "allowed": allowed,
        # constants boxed into interfaces: shown, never counted unless `[gate] constants`
        "constants": tuple(escape_row(e, head_sha, links) for e in constants[:MAX_CONSTANT_ROWS]),
        "constants_units": unit_count(constants),
        "constants_left_out": max(len(constants) - MAX_CONSTANT_ROWS, 0),
        "skipped": tuple(text.skipped_lines(report.head, result)),
        "failed_modules": tuple(broken_module(f, report.base, report.head) for f in result.failed_modules),
    }
    fixed_rows = tuple(escape_row(e, report.base.commit, links) for e in fixed)
    return _Model(rows, fixed_rows, context)


def _take(rows: Sequence[Row], budget: int | None) -> tuple[tuple[Row, ...], int | None]:
    """The first `budget` rows (all when None) and what is left of the budget."""
    if budget is None:
        return tuple(rows), None
    kept = tuple(rows[:budget])
    return kept, budget - len(kept)


def _view(model: _Model, cut: _Cut) -> dict[str, object]:
    """The template context with at most `cut` rows, fixed rows and explanations, in document order."""
    kept, _ = _take(model.rows, cut.new)
    with_steps = [r for r in kept if r.steps]
    explained, _ = _take(with_steps, cut.explanations)
    visible = mark_groups(kept[:VISIBLE_ROWS])
    collapsed = mark_groups(kept[VISIBLE_ROWS:])
    fixed, _ = _take(model.fixed, cut.fixed)
    left = LeftOut(
        explanations=sum(1 for r in model.rows if r.steps) - len(explained),
        fixed=len(model.fixed) - len(fixed),
        new=len(model.rows) - len(kept),
    )
    return {
        **model.context,
        "rows": visible,
        "more_rows": collapsed,
        "more_units": sum(r.count for r in collapsed),
        "explained": tuple(explained),
        "fixed": fixed,
        "fixed_left_out": left.fixed,
        "left_out": left,
    }


def _render_view(view: dict[str, object]) -> str:
    return environment().get_template("report.md.j2").render(view)


def _largest_fitting(render: Callable[[int], str], high: int, fits: Callable[[str], bool]) -> str | None:
    """The rendering with the largest k in [0, high] that fits (size grows with k), or None."""
    best = render(0)
    if not fits(best):
        return None
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        text = render(mid)
        if fits(text):
            low, best = mid, text
        else:
            high = mid - 1
    return best


def render(report: Report, flavour: Flavour = Flavour.COMMENT, *, limit: Limit | None = COMMENT_LIMIT) -> str:
    """The report as Markdown within `limit` (None: no limit)."""
    model = _model(report, flavour, limit)

    def fits(text: str) -> bool:
        return limit is None or limit.fits(text)

    def attempt(cut: _Cut) -> str:
        return _render(model, cut, flavour, report.name)

    text = attempt(_Cut())
    if fits(text):
        return text
    n_expl = sum(1 for r in model.rows if r.steps)
    n_new = len(model.rows)
    # least useful first: explanations, then the fixed list, then rows of new escapes
    phases: list[tuple[int, Callable[[int], _Cut]]] = [
        (n_expl, lambda k: _Cut(explanations=k)),
        (len(model.fixed), lambda k: _Cut(explanations=0, fixed=k)),
        (n_new, lambda k: _Cut(explanations=0, fixed=0, new=k)),
    ]
    for high, make_cut in phases:
        found = _largest_fitting(functools.partial(_attempt_cut, attempt, make_cut), high, fits)
        if found is not None:
            return found
    # not even the counts fit (a limit of a few hundred characters): cut at a line and say so
    note = "\n\n(report cut to fit the size limit)\n"
    text = attempt(_Cut(explanations=0, fixed=0, new=0))
    while text and not fits(text + note):
        text = text[: text.rfind("\n", 0, len(text) - 1) + 1]
    return text + note


def _attempt_cut(attempt: Callable[[_Cut], str], make_cut: Callable[[int], _Cut], k: int) -> str:
    return attempt(make_cut(k))


def _render(model: _Model, cut: _Cut, flavour: Flavour, name: str) -> str:
    text = _render_view(_view(model, cut))
    if flavour is Flavour.COMMENT and not text.startswith(safe.marker(name) + "\n"):
        raise UnsafeOutputError("the comment does not start with its marker")
    return text


def failure_markdown(name: str, reason: str, details: str, limit: Limit | None = None) -> str:
    """Why no verdict could be given: the one-line reason, then the compiler's (or the error's)
    lines in a code block, keeping as many of the first lines as `limit` allows and saying how
    many were left out."""
    title = f"escape-bot ({name})" if name != DEFAULT_NAME else "escape-bot"
    head = f"**:x: {safe.plain(title)} could not give a verdict**\n\n{safe.plain(safe.one_line(reason))}\n"
    lines = details.strip().splitlines()

    def text(k: int) -> str:
        if not lines:
            return head
        block = f"\n{safe.code_block(lines[:k])}\n" if k else "\n"
        left = len(lines) - k
        note = f"\n{plural(left, 'more line')} left out: see the job's log.\n" if left else ""
        return head + block + note

    if limit is None or limit.fits(text(len(lines))):
        return text(len(lines))
    found = _largest_fitting(text, len(lines), limit.fits)
    return found if found is not None else limit.cut(head)
