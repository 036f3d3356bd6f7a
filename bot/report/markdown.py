"""`escape-bot diff --format markdown`: the report of bot/report/render.py without marker or links."""

from __future__ import annotations

from bot.diff import DiffResult
from bot.gate import GateDecision, GatePolicy, evaluate
from bot.gc.model import Snapshot
from bot.report.render import Flavour, Report, render


def comparison_markdown(
    base: Snapshot, head: Snapshot, result: DiffResult, decision: GateDecision | None = None
) -> str:
    """Verdict, new escapes grouped by cause, fixed escapes, toolchains; no size limit."""
    decision = decision or evaluate(result, GatePolicy())
    report = Report(base=base, head=head, result=result, decision=decision)
    return render(report, Flavour.PLAIN, limit=None)
