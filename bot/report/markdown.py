"""`escape-bot diff --format markdown`: the report of bot/report/render.py without marker or links."""

from __future__ import annotations

from bot.diff import DiffResult
from bot.gate import GatePolicy, evaluate
from bot.gc.model import Snapshot
from bot.report.render import Flavour, Report, render


def comparison_markdown(base: Snapshot, head: Snapshot, result: DiffResult) -> str:
    """Verdict, new escapes grouped by cause, fixed escapes, toolchains; no size limit."""
    report = Report(base=base, head=head, result=result, decision=evaluate(result, GatePolicy()))
    return render(report, Flavour.PLAIN, limit=None)
