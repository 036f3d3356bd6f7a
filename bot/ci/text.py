"""Status and annotation text: the commit status description, check-run annotations, and the
workflow-command annotations used when nothing can be published.
"""

from __future__ import annotations

from typing import Literal

from bot.ci.settings import MAX_COMMAND_ANNOTATIONS, Target
from bot.gate import Verdict
from bot.gc.parse import in_goroot
from bot.github.actions import WorkflowCommands
from bot.github.positions import Positions, locate
from bot.github.records import (
    Annotation,
    PermissionDeniedError,
)
from bot.report import safe
from bot.report.render import (
    Report,
    explanation_lines,
    headline,
)
from bot.report.serialize import by_cause


def status_description(report: Report) -> str:
    """`3 new heap escapes, 1 fixed (returned 2, global 1)`, at most 140 characters."""
    new = report.result.counted(report.result.new)  # constants boxed into interfaces do not count
    fixed = report.result.counted(report.result.fixed)
    text = headline(sum(e.count for e in new), sum(e.count for e in fixed), report.decision.verdict)
    causes = ", ".join(f"{c} {n}" for c, n in by_cause(new).items())
    text = f"{text} ({causes})" if causes else text
    return text if len(text) <= 140 else text[:139] + "…"


def check_annotations(report: Report, where: Positions | None = None) -> list[Annotation]:
    """One check-run annotation per new heap escape, on its line in the commit the check run is on.

    `where` maps the built commit's lines to that commit's (a merge commit's lines differ from the
    PR head's when the base changed the file above them); an escape on a line the base changed
    has no place there and gets no annotation (the summary still lists it). Escapes that block the
    gate are failures (warnings when the gate does not fail); allowed ones are notices that say
    why they were allowed.
    """
    blocking_level: Literal["failure", "warning"] = (
        "failure" if report.decision.verdict is Verdict.FAIL else "warning"
    )
    allowed = {id(w.escape): w.reason for w in report.decision.waived}
    out = []
    for e in report.result.counted(report.result.new):
        times = f" ({e.count} allocations)" if e.count > 1 else ""
        reason = allowed.get(id(e))
        # a line the base changed has no place in the PR head; a `$GOROOT/` file is not the repository's
        at = None if in_goroot(e.file) else locate(where or {}, e.file, max(e.line, 1))
        if at is None:
            continue
        # data for the API, never Markdown, but shown: controls escaped (a bidi override in a
        # file name reorders what the reader sees; a newline fakes a second line)
        out.append(
            Annotation(
                path=safe.visible(e.file),
                line=at,
                level="notice" if reason is not None else blocking_level,
                title=f"New heap escape: {e.cause.label}" + (" (allowed)" if reason is not None else ""),
                message=safe.visible(
                    f"{e.message}{times} in {e.function} [{e.cause.value}]"
                    + (f"; {reason}" if reason is not None else "")
                ),
                raw_details="\n".join(safe.visible(line) for line in explanation_lines(e)),
            )
        )
    return out


def degrade(
    commands: WorkflowCommands,
    report: Report,
    denied: list[PermissionDeniedError],
    target: Target,
    annotate: bool,
) -> None:
    """No permission to publish: a warning naming it, and (unless a check run carries them) the
    first 10 new escapes as annotations."""
    for exc in denied:
        why = (
            "pull requests from forks get a read-only token"
            if target.from_fork
            else f"add `{exc.permission}` to the workflow's `permissions:`"
        )
        commands.annotate(
            "warning",
            f"escape-bot could not {exc.action}: the token lacks `{exc.permission}` ({why}). "
            "The result is in the job summary.",
        )
    if not annotate:
        return
    level: Literal["error", "warning"] = "error" if report.decision.verdict is Verdict.FAIL else "warning"
    new = report.result.counted(report.result.new)
    for e in new[:MAX_COMMAND_ANNOTATIONS]:
        line = locate(target.positions, e.file, max(e.line, 1))  # the job's annotations: head's lines
        commands.annotate(
            level,
            safe.visible(f"{e.message} in {e.function} [{e.cause.value}]"),
            file=safe.visible(e.file) if line is not None else None,
            line=line,
            title=f"New heap escape: {e.cause.label}",
        )
    if len(new) > MAX_COMMAND_ANNOTATIONS:
        commands.annotate(
            "notice", f"{len(new) - MAX_COMMAND_ANNOTATIONS} more new heap escapes: see the job summary"
        )
