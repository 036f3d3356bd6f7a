"""Why a new escape appeared: the changed line responsible for it (pure).

A new escape on a line the change touched is explained by that line. One on an untouched line
was caused elsewhere, and the compiler's own evidence says where:

1. `changed-line`: the escape's own line was added or modified;
2. `flow-step-changed`: a step of the `-m=2` explanation (`from global = p (assign) at
   util.go:7`) stands on a changed line, in any file;
3. `callee-now-leaks`: a function the value is passed to (a `call parameter` step, or a call on
   a line of the flow: an inlined callee's steps are printed at the call site) leaks its
   parameter in head and did not in base: its new `leaking param` summary is the cause;
4. `inlining-changed`: the helper whose body the compiler inlined at this call site (the
   escape's `origin`) changed, or a callee changed without a new leak summary: what the compiler
   inlines into the caller changed;
5. `toolchain`: base and head were built by different Go versions;
6. `unknown`: none of the above.

The adapter half (the git diff, the head sources) is in bot.app; this module gets plain data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.gc.model import Escape, Kind, Position, Snapshot
from bot.gc.source import FuncSpan, function_spans


class Reason(StrEnum):
    """How a new escape was attributed (a public contract: JSON `attribution.reason`)."""

    CHANGED_LINE = "changed-line"
    FLOW_STEP_CHANGED = "flow-step-changed"
    CALLEE_NOW_LEAKS = "callee-now-leaks"
    INLINING_CHANGED = "inlining-changed"
    TOOLCHAIN = "toolchain"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Attribution:
    """The change responsible for a new escape: where, in which function, and how it was found."""

    reason: Reason
    file: str = ""
    line: int = 0
    function: str = ""
    detail: str = ""  # e.g. the callee's new summary: "leaking param: p"

    @property
    def located(self) -> bool:
        """True when it points at a line of the change."""
        return bool(self.file and self.line)


@dataclass(frozen=True, slots=True)
class ChangedLines:
    """The lines a change added or modified, per head file (repository-relative), plus the head
    line where lines were only deleted (a removed line changes the flow around it)."""

    lines: Mapping[str, frozenset[int]] = field(default_factory=dict)

    def touched(self, file: str, line: int) -> bool:
        """True when `line` of head's `file` is part of the change."""
        return line in self.lines.get(file, frozenset())

    def first_in(self, file: str, start: int, end: int) -> int | None:
        """The first changed line of `file` within [start, end], or None."""
        inside = [n for n in self.lines.get(file, frozenset()) if start <= n <= end]
        return min(inside) if inside else None


SourceOf = Callable[[str], str | None]
"""Head's text of a repository-relative file (None when it is not there)."""

# a called name on a source line: `sink(`, `p.sink(`, `t.buf.Write(`; not keywords
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")
_NOT_CALLEES = frozenset(
    {"func", "if", "for", "switch", "return", "go", "defer", "select", "make", "new", "append", "len", "cap"}
)


def _callee(where: str) -> str | None:
    """`sink(&x)` -> `sink`; `p.t.Put(v)` -> `Put`; `(*T).M(x)` -> `M`."""
    head = where.split("(", 1)[0] if not where.startswith("(") else where.split(")", 1)[-1].split("(", 1)[0]
    name = head.rsplit(".", 1)[-1].strip()
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) and name not in _NOT_CALLEES else None


def _method_name(function: str) -> str:
    """`(*T).M` -> `M`, `T.M` -> `M`, `F` -> `F`; closures keep their outer function's name."""
    base = function.split(".func", maxsplit=1)[0]
    return base.rsplit(".", 1)[-1] if base.startswith("(") or base.count(".") == 1 else base


@dataclass
class _Context:
    changes: ChangedLines
    files: Callable[[str], str]
    source: SourceOf
    base_leaks: set[tuple[str, str, str, str]]
    head_leaks: dict[str, list[Escape]]  # by function's short name
    spans: dict[str, list[FuncSpan]] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)

    def line_text(self, file: str, line: int) -> str:
        if file not in self.lines:
            self.lines[file] = (self.source(file) or "").splitlines()
        text = self.lines[file]
        return text[line - 1] if 0 < line <= len(text) else ""

    def spans_of(self, file: str) -> list[FuncSpan]:
        if file not in self.spans:
            text = self.source(file)
            self.spans[file] = function_spans(text) if text else []
        return self.spans[file]

    def span_of(self, file: str, function: str) -> FuncSpan | None:
        return next((s for s in self.spans_of(file) if s.name == function), None)

    def innermost(self, file: str, line: int) -> FuncSpan | None:
        around = [s for s in self.spans_of(file) if s.start_line <= line <= s.end_line]
        return min(around, key=lambda s: s.end_line - s.start_line, default=None)

    def changed_in(self, file: str, span: FuncSpan | None) -> int | None:
        return self.changes.first_in(file, span.start_line, span.end_line) if span else None


def _leak_key(e: Escape) -> tuple[str, str, str, str]:
    return (e.package, e.function, e.kind.value, e.expression)


def _steps(escape: Escape, files: Callable[[str], str]) -> list[tuple[str, Position | None]]:
    """Every explanation step as (where, position with a repository path), in order."""
    out = []
    for flow in escape.explanation:
        for step in flow.steps:
            at = step.at
            out.append((step.where, None if at is None else Position(files(at.file), at.line, at.column)))
    return out


def _callees(escape: Escape, steps: Sequence[tuple[str, Position | None]], ctx: _Context) -> list[str]:
    """Names of the functions the value flows into, nearest first, each once."""
    names: list[str] = []
    for where, at in steps:
        called = _callee(where) if "(" in where else None
        if called:
            names.append(called)
        if at is not None:  # an inlined callee's steps are printed at the call site
            names.extend(n for n in _CALL.findall(ctx.line_text(at.file, at.line)) if n not in _NOT_CALLEES)
    return list(dict.fromkeys(names))


def _by_callee(escape: Escape, callees: Iterable[str], ctx: _Context) -> Attribution | None:
    """A callee with a new leak summary; else one whose body changed (what gets inlined changed)."""
    changed_callee: Attribution | None = None
    for name in callees:
        for leak in ctx.head_leaks.get(name, ()):
            if leak.package != escape.package and _method_name(leak.function) != name:
                continue
            changed = ctx.changed_in(leak.file, ctx.span_of(leak.file, leak.function))
            if _leak_key(leak) not in ctx.base_leaks:
                return Attribution(
                    Reason.CALLEE_NOW_LEAKS, leak.file, changed or leak.line, leak.function, leak.message
                )
            if changed is not None and changed_callee is None:
                changed_callee = Attribution(Reason.INLINING_CHANGED, leak.file, changed, leak.function)
        if changed_callee is None:  # a callee with no leak summary: look for its changed body
            for file in sorted(ctx.changes.lines):
                for span in ctx.spans_of(file):
                    changed = ctx.changed_in(file, span) if _method_name(span.name) == name else None
                    if changed is not None and changed_callee is None:
                        changed_callee = Attribution(Reason.INLINING_CHANGED, file, changed, span.name)
    return changed_callee


def _by_origin(escape: Escape, ctx: _Context) -> Attribution | None:
    """The inlined helper's allocation line, or another line of its body, changed."""
    file, _, line = escape.origin_at.rpartition(":")
    if file and line.isdigit() and ctx.changes.touched(file, int(line)):
        return Attribution(Reason.INLINING_CHANGED, file, int(line), escape.origin)
    span = (
        next((s for s in ctx.spans_of(file) if _method_name(s.name) == escape.origin), None) if file else None
    )
    changed = ctx.changed_in(file, span)
    if span is not None and changed is not None:
        return Attribution(Reason.INLINING_CHANGED, file, changed, span.name)
    return None


def attribute(
    new: Iterable[Escape],
    base: Snapshot,
    head: Snapshot,
    changes: ChangedLines,
    *,
    source: SourceOf,
    files: Callable[[str], str] = lambda name: name,
) -> dict[Escape, Attribution]:
    """The attribution of every new heap escape (leaking-param records are contracts: skipped).

    `files` maps the compiler's file names in explanation steps (`example.com/m/p/util.go` with
    -trimpath) to repository paths; `source` gives head's text of a repository file.
    """
    head_leaks: dict[str, list[Escape]] = {}
    for e in head.escapes:
        if not e.kind.allocates:
            head_leaks.setdefault(_method_name(e.function), []).append(e)
    ctx = _Context(
        changes=changes,
        files=files,
        source=source,
        base_leaks={_leak_key(e) for e in base.escapes if not e.kind.allocates},
        head_leaks=head_leaks,
    )
    other_toolchain = base.toolchain.go_version != head.toolchain.go_version
    out: dict[Escape, Attribution] = {}
    for escape in new:
        if escape.kind not in (Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP):
            continue
        out[escape] = _attribute_one(escape, ctx, other_toolchain)
    return out


def _attribute_one(escape: Escape, ctx: _Context, other_toolchain: bool) -> Attribution:
    if ctx.changes.touched(escape.file, escape.line):
        return Attribution(Reason.CHANGED_LINE, escape.file, escape.line, escape.function)
    steps = _steps(escape, ctx.files)
    for _where, at in steps:
        if at is not None and ctx.changes.touched(at.file, at.line):
            span = ctx.innermost(at.file, at.line)
            return Attribution(
                Reason.FLOW_STEP_CHANGED, at.file, at.line, span.name if span else escape.function
            )
    if escape.origin:  # an inlined helper's allocation, printed at this call site
        found = _by_origin(escape, ctx)
        if found is not None:
            return found
    found = _by_callee(escape, _callees(escape, steps, ctx), ctx)
    if found is not None:
        return found
    if other_toolchain:
        return Attribution(Reason.TOOLCHAIN)
    return Attribution(Reason.UNKNOWN)
