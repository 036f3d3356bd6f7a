"""A Markdown view of a comparison (CLI `--format markdown`): every untrusted value escaped."""

from __future__ import annotations

from collections import defaultdict

from bot.diff import DiffResult
from bot.gc.model import Cause, Escape, Snapshot
from bot.report.safe import code_span, plain


def _verdict(n_new: int, n_fixed: int) -> str:
    if not n_new and not n_fixed:
        return "No change in heap escapes."
    parts = []
    if n_new:
        parts.append(f"{n_new} new heap escape{'s' if n_new != 1 else ''}")
    if n_fixed:
        parts.append(f"{n_fixed} fixed")
    return ", ".join(parts) + "."


def _row(e: Escape) -> str:
    count = f" ×{e.count}" if e.count > 1 else ""
    return (
        f"| {code_span(f'{e.file}:{e.line}', in_table=True)} | {code_span(e.function, in_table=True)} "
        f"| {code_span(e.expression, in_table=True)}{count} | {plain(e.message, in_table=True)} |"
    )


def comparison_markdown(base: Snapshot, head: Snapshot, result: DiffResult) -> str:
    """Verdict, new escapes grouped by cause, fixed escapes, toolchains."""
    new = [e for e in result.new if e.kind.allocates]
    fixed = [e for e in result.fixed if e.kind.allocates]
    out = [f"**{_verdict(sum(e.count for e in new), sum(e.count for e in fixed))}**", ""]
    groups: dict[Cause, list[Escape]] = defaultdict(list)
    for e in new:
        groups[e.cause].append(e)
    if groups:
        out += ["| cause | new |", "| --- | ---: |"]
        out += [f"| {c.label} | {sum(e.count for e in groups[c])} |" for c in Cause if c in groups]
        out.append("")
    for cause in Cause:
        if cause not in groups:
            continue
        out += [f"### {cause.label} ({code_span(cause.value)})", ""]
        out += ["| where | function | expression | compiler |", "| --- | --- | --- | --- |"]
        out += [_row(e) for e in groups[cause]]
        out.append("")
    if fixed:
        out += ["<details><summary>Fixed</summary>", ""]
        out += ["| where | function | expression | compiler |", "| --- | --- | --- | --- |"]
        out += [_row(e) for e in fixed]
        out += ["", "</details>", ""]
    unchanged = sum(e.count for e in result.unchanged if e.kind.allocates)
    out.append(
        f"{unchanged} unchanged. Base {code_span(base.commit[:12] or base.revision)} "
        f"({plain(base.toolchain.go_version)}), head {code_span(head.commit[:12] or head.revision)} "
        f"({plain(head.toolchain.go_version)})."
    )
    if base.toolchain.go_version != head.toolchain.go_version:
        out += ["", "> [!WARNING]", "> Base and head were built by different Go toolchains."]
    return "\n".join(out) + "\n"
