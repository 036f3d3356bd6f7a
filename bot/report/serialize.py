"""Records <-> JSON-ready dicts. The shape is the contract documented in docs/json-output.md."""

from __future__ import annotations

from typing import Any

from bot.diff import DiffResult, fingerprint
from bot.gc.model import Cause, Escape, Kind, ParseStats, Snapshot

SCHEMA_VERSION = 1


def escape_dict(e: Escape) -> dict[str, Any]:
    """One escape; `explanation` is the flat list of steps, each naming its flow."""
    return {
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
        "explanation": [
            {
                "flow": f"{flow.dst} ← {flow.src}",
                "where": step.where,
                "why": step.why,
                "at": str(step.at) if step.at else None,
            }
            for flow in e.explanation
            for step in flow.steps
        ],
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


def snapshot_dict(s: Snapshot) -> dict[str, Any]:
    """`escape-bot collect --format json`."""
    allocating = [e for e in s.escapes if e.allocates]
    return {
        "schema": SCHEMA_VERSION,
        "head": side_dict(s),
        "escapes": [escape_dict(e) for e in s.escapes],
        "counts": {
            "escapes": sum(e.count for e in allocating),
            "constants": sum(e.count for e in s.escapes if e.kind.allocates and e.static),
            "leaks": sum(e.count for e in s.escapes if not e.kind.allocates),
            "by_cause": by_cause(allocating),
            "unknown_cause": sum(e.count for e in allocating if e.cause is Cause.UNKNOWN),
        },
        "stats": stats_dict(s.stats),
    }


def skipped_dict(head: Snapshot, result: DiffResult) -> dict[str, dict[str, int]]:
    """Heap-escape units neither listed nor gated, per reason: files the go command or cgo
    generated (`generated-by-go`, never user code), a `// Code generated` header
    (`generated`), an include/exclude glob (`excluded`)."""
    out = {s.reason: {"head": s.head, "new": s.new, "fixed": s.fixed} for s in result.skipped}
    if head.stats.generated_skipped:
        out["generated-by-go"] = {"head": head.stats.generated_skipped}
    return dict(sorted(out.items()))


def comparison_dict(base: Snapshot, head: Snapshot, result: DiffResult, **extra: Any) -> dict[str, Any]:
    """`escape-bot diff --format json`: `new`/`fixed` hold heap escapes, leaks have their own lists."""
    alloc = [Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP]

    def constants(records: tuple[Escape, ...]) -> int:
        return sum(e.count for e in records if e.kind.allocates and e.static)

    return {
        "schema": SCHEMA_VERSION,
        "base": side_dict(base),
        "head": side_dict(head),
        "new": [escape_dict(e) for e in result.new if e.kind.allocates],
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
        **extra,
    }
