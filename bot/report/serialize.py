"""Records <-> JSON-ready dicts. The shape is the contract documented in docs/json-output.md."""

from __future__ import annotations

from typing import Any

from bot.attribution import Attribution
from bot.diff import DiffResult, fingerprint
from bot.gc.model import Cause, Escape, FailedModule, Kind, ModuleFailure, ParseStats, Snapshot
from bot.insight import Insight, ToolchainEffect
from bot.profile.hotness import Hotness
from bot.report.hints import hint

SCHEMA_VERSION = 1
# `collect`'s object: 2 since `explanation` became opt-in (`--explain`), a field that left the default.
COLLECT_SCHEMA_VERSION = 2


def escape_dict(e: Escape, *, explain: bool = True) -> dict[str, Any]:
    """One escape; `explanation` is the flat list of steps, each naming its flow (left out
    unless `explain`)."""
    fields = {
        "package": e.package,
        "file": e.file,
        "line": e.line,
        "column": e.column,
        "function": e.function,
        "kind": e.kind.value,
        "expression": e.expression,
        "message": e.message,
        "cause": e.cause.value,
        "cause_label": e.cause.label,
        "count": e.count,
        "allocates": e.allocates,
        "no_allocation_reason": e.static or None,
        "origin": {"function": e.origin, "at": e.origin_at or None} if e.origin else None,
        "generated": e.generated,
        "subkind": "append-growth" if e.appends else None,
        "appends": e.appends,
        "fingerprint": fingerprint(e),
        "hint": hint(e),
    }
    if explain:
        fields["explanation"] = [
            {
                "flow": f"{flow.dst} ← {flow.src}",
                "where": step.where,
                "why": step.why,
                "at": str(step.at) if step.at else None,
            }
            for flow in e.explanation
            for step in flow.steps
        ]
    return fields


def attribution_dict(a: Attribution) -> dict[str, Any]:
    """`{file, line, function, reason, detail}`: the change a new escape is attributed to."""
    return {
        "reason": a.reason.value,
        "file": a.file or None,
        "line": a.line or None,
        "function": a.function or None,
        "detail": a.detail or None,
    }


def hotness_dict(h: Hotness) -> dict[str, Any]:
    """`{cpu_share, alloc_bytes, alloc_objects, source}`: what the profiles say of an escape."""
    share = None if h.cpu_share is None else round(h.cpu_share, 6)
    return {
        "cpu_share": share,
        "alloc_bytes": h.alloc_bytes,
        "alloc_objects": h.alloc_objects,
        "source": h.source,
    }


def toolchain_effect_dict(t: ToolchainEffect) -> dict[str, Any]:
    """The compiler's own effect when base and head were built by different Go versions."""
    result = t.result
    return {
        "from": t.before,
        "to": t.after,
        "new": None if result is None else [escape_dict(e) for e in result.new if e.allocates],
        "fixed": None if result is None else [escape_dict(e) for e in result.fixed if e.allocates],
        "note": t.note or None,
    }


def new_escape_dict(e: Escape, insight: Insight) -> dict[str, Any]:
    """A new heap escape with its attribution and hotness (null when not computed)."""
    attribution = insight.attributions.get(e)
    hotness = insight.hotness.get(e)
    return escape_dict(e) | {
        "attribution": attribution_dict(attribution) if attribution else None,
        "hotness": hotness_dict(hotness) if hotness else None,
    }


def side_dict(s: Snapshot) -> dict[str, Any]:
    """`base` / `head`: which revision, which commit, which toolchain."""
    return {
        "revision": s.revision,
        "commit": s.commit,
        "go_version": s.toolchain.go_version,
        "goos": s.toolchain.goos,
        "goarch": s.toolchain.goarch,
        "tags": list(s.toolchain.tags),
        "escapes": sum(e.count for e in s.escapes if e.allocates),
    }


def stats_dict(stats: ParseStats) -> dict[str, Any]:
    """Parser counters: `unknown_lines` should stay 0."""
    return {
        "lines": stats.lines,
        "packages": stats.packages,
        "unknown_lines": stats.unknown_lines,
        "generated_skipped": stats.generated_skipped,
        "duplicates_collapsed": stats.duplicates_collapsed,
    }


def by_cause(records: tuple[Escape, ...] | list[Escape]) -> dict[str, int]:
    """Units per cause id, only causes present, in taxonomy order."""
    counts = {c.value: 0 for c in Cause}
    for e in records:
        counts[e.cause.value] += e.count
    return {k: v for k, v in counts.items() if v}


def failed_module_dict(f: FailedModule | ModuleFailure) -> dict[str, Any]:
    """A module that did not build: its path, directory, side (in a comparison) and go's errors."""
    side = {"side": f.side} if isinstance(f, FailedModule) else {}
    return {"module": f.module, "directory": f.directory, **side, "errors": list(f.errors)}


def snapshot_dict(s: Snapshot, *, explain: bool = True) -> dict[str, Any]:
    """`escape-bot collect --format json` (bot/report/stream.py writes it escape by escape)."""
    return {
        "schema": COLLECT_SCHEMA_VERSION,
        "head": side_dict(s),
        "escapes": [escape_dict(e, explain=explain) for e in s.escapes],
        **snapshot_summary(s),
    }


def snapshot_summary(s: Snapshot) -> dict[str, Any]:
    """The fields of `collect --format json` after the escapes: counts, stats, failed modules."""
    allocating = [e for e in s.escapes if e.allocates]
    return {
        "counts": {
            "escapes": sum(e.count for e in allocating),
            "constants": sum(e.count for e in s.escapes if e.kind.allocates and e.static),
            "leaks": sum(e.count for e in s.escapes if not e.kind.allocates),
            "by_cause": by_cause(allocating),
            "unknown_cause": sum(e.count for e in allocating if e.cause is Cause.UNKNOWN),
        },
        "stats": stats_dict(s.stats),
        "failed_modules": [failed_module_dict(f) for f in s.failed_modules],
    }


def skipped_dict(head: Snapshot, result: DiffResult) -> dict[str, dict[str, int]]:
    """Heap-escape units neither listed nor gated, per reason: files the go command or cgo
    generated (`generated-by-go`, never user code), a `// Code generated` header
    (`generated`), an include/exclude glob (`excluded`)."""
    out = {s.reason: {"head": s.head, "new": s.new, "fixed": s.fixed} for s in result.skipped}
    if head.stats.generated_skipped:
        out["generated-by-go"] = {"head": head.stats.generated_skipped}
    return dict(sorted(out.items()))


def comparison_dict(
    base: Snapshot, head: Snapshot, result: DiffResult, *, insight: Insight | None = None, **extra: Any
) -> dict[str, Any]:
    """`escape-bot diff --format json`: `new`/`fixed` hold heap escapes, leaks have their own lists."""
    alloc = [Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP]
    insight = insight or Insight()

    def constants(records: tuple[Escape, ...]) -> int:
        return sum(e.count for e in records if e.kind.allocates and e.static)

    return {
        "schema": SCHEMA_VERSION,
        "base": side_dict(base),
        "head": side_dict(head),
        "new": [new_escape_dict(e, insight) for e in insight.order(result.new) if e.kind.allocates],
        "fixed": [escape_dict(e) for e in result.fixed if e.kind.allocates],
        "new_leaks": [escape_dict(e) for e in result.new if not e.kind.allocates],
        "fixed_leaks": [escape_dict(e) for e in result.fixed if not e.kind.allocates],
        "counts": {
            **result.counts(alloc),
            "new_by_cause": by_cause(result.counted(result.new)),
            "fixed_by_cause": by_cause(result.counted(result.fixed)),
            "leaks": result.counts([Kind.LEAKING_PARAM, Kind.LEAKING_PARAM_CONTENT]),
            "constants": {"new": constants(result.new), "fixed": constants(result.fixed)},
        },
        "skipped": skipped_dict(head, result),
        "same_toolchain": base.toolchain == head.toolchain,
        "failed_modules": [failed_module_dict(f) for f in result.failed_modules],
        "toolchain_change": toolchain_effect_dict(insight.toolchain) if insight.toolchain else None,
        "profiles": list(insight.profiles),
        **extra,
    }
