"""`escape-bot diff --format markdown`: the report of bot/report/render.py without marker or links."""

from __future__ import annotations

from bot.diff import DiffResult
from bot.gate import GateDecision, GatePolicy, evaluate
from bot.gc.model import Snapshot
from bot.insight import Insight
from bot.report.render import Flavour, Report, render


def comparison_markdown(
    base: Snapshot,
    head: Snapshot,
    result: DiffResult,
    decision: GateDecision | None = None,
    *,
    insight: Insight | None = None,
    enforced: bool = True,
) -> str:
    """Verdict, new escapes (hottest first, with hints), fixed escapes, toolchains; no size
    limit. `enforced` False (`diff` without `--fail-on-new`): a failing gate is said to be one
    that *would* fail."""
    decision = decision or evaluate(result, GatePolicy())
    report = Report(
        base=base,
        head=head,
        result=result,
        decision=decision,
        insight=insight or Insight(),
        enforced=enforced,
    )
    return render(report, Flavour.PLAIN, limit=None)
