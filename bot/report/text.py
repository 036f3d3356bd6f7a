"""Plain-text views for terminals and logs: one escape a line, `file:line:col: message`."""

from __future__ import annotations

from collections.abc import Iterable

from bot.diff import DiffResult
from bot.gc.model import Escape, FailedModule, Snapshot
from bot.gc.parse import GOROOT_PREFIX, in_goroot
from bot.report.safe import path, visible
from bot.report.serialize import by_cause
from bot.wording import plural


def notes(e: Escape) -> list[str]:
    """What the compiler's line does not say: inlined origin, grouped appends, no allocation."""
    out = []
    if e.origin:
        out.append(f"via inlined {e.origin}" + (f", {e.origin_at}" if e.origin_at else ""))
    if e.appends > 1:
        out.append(f"{e.appends} appends to {e.expression.removeprefix('append(').removesuffix(', ...)')}")
    if e.static:
        # `constant: ...`, `nil converted to an interface: ...`: what it is, then the verdict
        out.append(f"{e.static.split(':', 1)[0]}: no allocation")
    if e.generated:
        out.append("generated file")
    return out


def shown_file(file: str) -> str:
    """A file for display: `$GOROOT/net/http/server.go` unquoted (the prefix says it is the Go
    distribution's, not the repository's), anything else through `path`."""
    if in_goroot(file):
        rest = file.removeprefix(GOROOT_PREFIX)
        if path(rest) == rest:
            return file
    return path(file)


def escape_line(e: Escape) -> str:
    """`file:line:col: message [cause] in function` (the compiler's own order, greppable).

    One line whatever the file is called: an odd name is quoted, controls are escaped."""
    times = f" ×{e.count}" if e.count > 1 else ""
    extra = "".join(f" ({visible(n)})" for n in notes(e))
    where = f"{shown_file(e.file)}:{e.line}:{e.column}"
    return f"{where}: {visible(e.message)}{times} [{e.cause.value}] in {visible(e.function)}{extra}"


def _escapes(n: int, where: str) -> str:
    return f"{n:,} heap escape{'' if n == 1 else 's'} {where} {'is' if n == 1 else 'are'} not gated"


def skipped_lines(head: Snapshot, result: DiffResult) -> list[str]:
    """`3 heap escapes in generated files are not gated, 1 of them new`, one line per reason."""
    where = {"generated": "in generated files", "excluded": "in files excluded by the configuration"}
    lines = []
    for s in result.skipped:
        new = f", {s.new:,} of them new" if s.new else ""
        lines.append(_escapes(s.head, where.get(s.reason, s.reason)) + new)
    if head.stats.generated_skipped:
        lines.append(_escapes(head.stats.generated_skipped, "in files the go command generated"))
    return lines


def cause_summary(records: Iterable[Escape]) -> str:
    """`returned 3, closure-capture 1`."""
    return ", ".join(f"{cause} {n}" for cause, n in by_cause(list(records)).items()) or "none"


def snapshot_text(s: Snapshot, *, leaks: bool = False) -> str:
    """All heap escapes of one revision, then a one-line total by cause."""
    shown = [e for e in s.escapes if leaks or e.kind.allocates]
    lines = [escape_line(e) for e in shown]
    allocating = [e for e in s.escapes if e.allocates]
    total = sum(e.count for e in allocating)
    # a snapshot read from a log does not know its toolchain: say nothing rather than "with unknown"
    known = s.toolchain.go_version not in ("", "unknown")
    with_go = f" with {s.toolchain.go_version}" if known else ""
    lines.append(f"{plural(total, 'heap escape')} ({cause_summary(allocating)}){with_go}")
    if s.stats.unknown_lines:
        lines.append(f"warning: {plural(s.stats.unknown_lines, 'compiler line')} not understood")
    for f in s.failed_modules:
        lines.append(f"module {visible(f.where)} did not build (its escapes are missing):")
        lines += ["    " + visible(e) for e in f.errors]
    return "\n".join(lines)


def side_words(side: str, base: str, head: str) -> str:
    """What a failed module's side means, naming the revisions."""
    return {
        "both": f"does not build at base {base} nor at head {head}: the environment, not the change "
        "(not gated)",
        "head": f"builds at base {base} but not at head {head}: the change broke it",
        "base": f"did not build at base {base} and builds at head {head}",
    }[side]


def label(s: Snapshot) -> str:
    """`main (0123456789ab)` or `0123456789ab`: a side's revision for messages."""
    if not s.commit:
        return s.revision or "the working tree"
    return (
        s.commit[:12]
        if not s.revision or s.commit.startswith(s.revision)
        else f"{s.revision} ({s.commit[:12]})"
    )


def failed_modules_text(failed: Iterable[FailedModule], base: Snapshot, head: Snapshot) -> list[str]:
    """A line per module that did not build, which side and why, then go's error lines."""
    lines = []
    for f in failed:
        words = side_words(f.side, visible(label(base)), visible(label(head)))
        lines.append(f"module {visible(f.where)} {words}; not compared:")
        lines += ["    " + visible(e) for e in f.errors]
    return lines


def comparison_text(base: Snapshot, head: Snapshot, result: DiffResult) -> str:
    """New and fixed heap escapes, then a verdict line."""
    new = [e for e in result.new if e.kind.allocates]
    fixed = [e for e in result.fixed if e.kind.allocates]
    counted = result.counting.counts
    lines: list[str] = []
    if new:
        lines.append("new:")
        lines += ["  " + escape_line(e) for e in new]
    if fixed:
        lines.append("fixed:")
        lines += ["  " + escape_line(e) for e in fixed]
    n_new = sum(e.count for e in new if counted(e))
    n_fixed = sum(e.count for e in fixed if counted(e))
    unchanged = sum(e.count for e in result.unchanged if e.kind.allocates and counted(e))
    lines.append(
        f"{n_new} new heap escape{'s' if n_new != 1 else ''}, {n_fixed} fixed, {unchanged} unchanged "
        f"({visible(base.revision or base.commit[:12])} → {visible(head.revision or head.commit[:12])})"
    )
    lines += skipped_lines(head, result)
    if base.toolchain.go_version != head.toolchain.go_version:
        lines.append(
            f"warning: base built with {visible(base.toolchain.go_version)}, "
            f"head with {visible(head.toolchain.go_version)}: "
            "differences may come from the toolchain"
        )
    lines += failed_modules_text(result.failed_modules, base, head)
    return "\n".join(lines)
