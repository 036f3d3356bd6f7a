"""Flow explanation -> cause id (pure, table-driven).

The decisive evidence is the root of the last flow (`{heap}`, a result slot, `{storage for X}`,
a variable) and the last `from` note, as described in docs/causes.md.
Rules are tried in order; the first that matches wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.gc.model import Cause, Flow, Kind, Step, fast_frozen_init

HEAP = "{heap}"
_RESULT = re.compile(r"^~r\d+$")
_STORAGE = re.compile(r"^&?\{storage for (.*)\}$")
_IDENT = re.compile(r"^[A-Za-z_]\w*$")

# `from WHERE (WHY)` reasons, grouped by what they mean for the cause.
SIZE_REASONS = frozenset({"too large for stack", "too aligned for stack"})
UNKNOWN_SIZE_REASONS = frozenset({"non-constant size", "zero-sized element"})
UNSAFE_REASONS = frozenset({"//go:uintptrescapes", "conversion to unsafe.Pointer"})
_SIZE_OR_UNSAFE = SIZE_REASONS | UNKNOWN_SIZE_REASONS | UNSAFE_REASONS
CLOSURE_REASONS = frozenset({"captured by a closure", "reference"})
ASSIGN_REASONS = frozenset(
    {
        "assign",
        "assign-pair",
        "assign-pair-dot-type",
        "assign-pair-mapr",
        "assign-pair-receive",
        "range",
        "range-deref",
        "switch case",
    }
)
CONTAINER_REASONS = frozenset({"key of map put", "appended slice...", "copied slice", "appendee slice"})
LITERAL_ELEMENT_REASONS = frozenset(
    {
        "array literal element",
        "slice-literal-element",
        "struct literal element",
        "map literal key",
        "map literal value",
    }
)

# Expressions that allocate by themselves; anything else that "escapes to heap" is a value
# boxed into an interface (`fmt.Println(a)` prints `a escapes to heap`).
_ALLOCATING_PREFIXES = ("&", "new(", "make(", "func literal", "append", "... argument", "[]", "map[")


def is_boxed_operand(expression: str) -> bool:
    """True when an `escapes to heap` subject is a value boxed into an interface."""
    expr = expression.strip()
    if expr.startswith(_ALLOCATING_PREFIXES) or expr.endswith("}"):
        return False
    # string concatenation and conversions that copy (`string(b)`, `[]byte(s)`) allocate
    return not (" + " in expr or expr.startswith(("string(", "[]byte(", "[]rune(")))


_LITERAL = re.compile(
    r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)+\'|true|false'
    r"|\(?[-+]?(?:0[xXbBoO][0-9a-fA-F_.pP+-]+|[0-9][0-9_]*\.?[0-9_]*(?:[eE][-+]?[0-9_]+)?|\.[0-9_]+"
    r"(?:[eE][-+]?[0-9_]+)?)i?(?:[-+](?:[0-9][0-9_]*\.?[0-9_]*(?:[eE][-+]?[0-9_]+)?)i)?\)?"
)
_CONVERSION = re.compile(r"^\(?\*?[A-Za-z_][\w.]*\)?\((.*)\)$", re.S)

CONSTANT_REASON = "constant: the interface points at read-only static data, nothing is allocated"
NIL_REASON = "nil converted to an interface: it points at read-only static data, nothing is allocated"
ZERO_VALUE_REASON = "empty literal boxed into an interface: read-only static data, nothing is allocated"
ONE_BYTE_REASON = "one-byte string conversion: the string points at runtime static data, nothing is allocated"

# go/constant's stringVal.String prints at most 72 runes: a longer literal is cut to its first 69
# runes (quote included) and "..." (`"FormatFloat(): thousands separator directive ... 3 d...`).
_SHORTENED_MAX = 72
_SHORTENED_STRING = re.compile(r'"(?:[^"\\]|\\.)*\\?\.\.\.')


_BASIC_TYPES = frozenset(
    ("bool", "string", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32",
     "uint64", "uintptr", "byte", "rune", "float32", "float64", "complex64", "complex128")
)  # fmt: skip


def is_constant(expression: str, source: str | None = None) -> bool:
    """True when an `escapes to heap` subject is a constant (`"boom"`, `42`, `time.Duration(1e9)`).

    The compiler prints constants folded to their value (Go ≥ 1.22), so a named constant shows
    as its literal; converting one to an interface uses static read-only data (the order pass's
    `addrTemp`), and nothing is allocated at run time. `T(1)` reads like a call `f(1)`: it is a
    constant when T is a basic type, or when `source` (the text at the position) does not say
    `T(`, i.e. the compiler folded a named constant such as `time.Second`.
    """
    expr = expression.strip()
    if len(expr) == _SHORTENED_MAX and _SHORTENED_STRING.fullmatch(expr):
        return True  # a long string literal the compiler printed shortened
    for _ in range(4):  # conversions of conversions: `T(U(1))`
        m = _CONVERSION.match(expr)
        if m is None:
            break
        name = expr[: expr.index("(", 1)].strip("()*")
        if name not in _BASIC_TYPES and (source is None or source.startswith(name + "(")):
            return False
        expr = m.group(1).strip()
    return _LITERAL.fullmatch(expr) is not None


# A nil converted to a type: `net.IP(nil)`, `([]byte)(nil)`, `(*T)(nil)`.
_NIL_CONVERSION = re.compile(r"(?:\((?:[^()]|\([^()]*\))+\)|[\w.\[\]*]+)\(nil\)")
# An empty array or struct literal: `[0]int{}`, `[4]byte{}`, `struct{}{}`, `T{}` (T from the source).
_EMPTY_ARRAY = re.compile(r"\[(?:\d+|\.\.\.)\][^{}]+\{\}|struct ?\{[^{}]*\}\{\}")
_EMPTY_NAMED = re.compile(r"([A-Za-z_]\w*)\{\}")


def _elements(source: str) -> list[str] | None:
    """The top-level elements of the first `{...}` in `source`; None when it is not closed."""
    start = source.find("{")
    if start < 0:
        return None
    items: list[str] = []
    depth, begin = 0, start + 1
    for i in range(start, len(source)):
        ch = source[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                last = source[begin:i].strip()
                return [*items, last] if last else items
        elif ch == "," and depth == 1:
            items.append(source[begin:i].strip())
            begin = i + 1
    return None


def runtime_static(expression: str, source: str | None = None, struct_types: Names = frozenset()) -> str:
    """Why an `escapes to heap` site that is not a constant allocates nothing, or ''.

    Only what the compiler and the runtime guarantee (Go 1.21-1.27):
    - a nil of any type boxed into an interface: walk/order.go's OCONVIFACE stores a nil slice
      (a static composite literal) in read-only data (`addrTemp`), and `runtime.convTslice` returns
      `&zeroVal` for a nil slice anyway; pointers, maps, channels and funcs are the data word itself;
    - an empty array or struct literal (`[0]int{}`, `T{}` with `type T struct` in `struct_types`):
      a static composite literal, put in read-only data by `addrTemp` (zero-size ones use
      `runtime.zerobase`, walk/convert.go `dataWord`);
    - `string([]byte{b})` of at most one byte (`source`, the text at the position, says how many):
      `runtime.slicebytetostring` returns "" for 0 bytes and a slice of `runtime.staticuint64s`
      for 1, without calling mallocgc.
    """
    expr = expression.strip()
    if _NIL_CONVERSION.fullmatch(expr):
        return NIL_REASON
    if _EMPTY_ARRAY.fullmatch(expr):
        return ZERO_VALUE_REASON
    named = _EMPTY_NAMED.fullmatch(expr)
    if named is not None and named.group(1) in struct_types:
        return ZERO_VALUE_REASON
    if expr == "string([]byte{...})" and source:
        at = source[source.find("[]byte{") :] if source.startswith("string(") else source
        elements = _elements(at) if at.startswith(("[]byte{", "{")) else None
        if elements is not None and len(elements) <= 1 and not any(":" in e or "..." in e for e in elements):
            return ONE_BYTE_REASON
    return ""


class Names(Protocol):
    """A set of names as the rules read it: membership and emptiness (a frozenset, or
    `LazyNames`)."""

    def __contains__(self, name: object, /) -> bool: ...

    def __len__(self) -> int: ...


class LazyNames:
    """Names computed on first use: most explanations never ask for the named results."""

    __slots__ = ("_compute", "_names")

    def __init__(self, compute: Callable[[], frozenset[str]]) -> None:
        self._compute = compute
        self._names: frozenset[str] | None = None

    def _get(self) -> frozenset[str]:
        if self._names is None:
            self._names = self._compute()
        return self._names

    def __contains__(self, name: object, /) -> bool:
        return name in self._get()

    def __len__(self) -> int:
        return len(self._get())


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the rules look at, computed once per explanation."""

    kind: Kind
    subject: str
    flows: tuple[Flow, ...]
    root: str
    last: Step | None
    reasons: frozenset[str]
    results: Names = frozenset()  # named results of the enclosing function


fast_frozen_init(Evidence)  # one per record classified

StorageLookup = Callable[[str], Sequence[Flow] | None]
"""Finds the explanation of `{storage for X}` by X (closures, literals), if the log has one."""


def _last_step(flows: Sequence[Flow]) -> Step | None:
    for flow in reversed(flows):
        if flow.steps:
            return flow.steps[-1]
    return None


def _assign_target(where: str) -> str:
    """Left-hand side of an assignment step (`xs[0] = &v` -> `xs[0]`)."""
    for sep in (" := ", " = ", " <- "):
        lhs, found, _ = where.partition(sep)
        if found:
            return lhs.split(",")[0].strip()
    return where.strip()


def _from_root(ev: Evidence, storage: StorageLookup | None, depth: int) -> Cause | None:
    root, last = ev.root, ev.last
    # named results are identifiers: `{heap}` and `{storage for X}` never ask for them (reading
    # them means finding the function in its source, the parser's cost per file)
    if (
        (root[:2] == "~r" and _RESULT.match(root))
        or (last is not None and last.why == "return")
        or (not root.startswith("{") and root in ev.results)
    ):
        return Cause.RETURNED
    if root == HEAP:
        if last is None:
            return None
        why = last.why
        if why == "send":
            return Cause.CHANNEL_SEND
        if why in CLOSURE_REASONS:
            return Cause.CLOSURE_CAPTURE
        if why in ("call parameter", "callee operand", "call argument"):
            if last.where.startswith("panic("):
                return Cause.PANIC
            if last.where.startswith("append("):
                return Cause.STORED_IN_HEAP  # the appended element lives in the new backing array
            if "interface-converted" in ev.reasons or (
                ev.kind is Kind.ESCAPES_TO_HEAP and is_boxed_operand(ev.subject)
            ):
                return Cause.INTERFACE_CONVERSION
            return Cause.LEAKING_CALL
        if why in CONTAINER_REASONS:
            return Cause.STORED_IN_HEAP
        if why in ASSIGN_REASONS:
            target = _assign_target(last.where)
            return Cause.GLOBAL if _IDENT.match(target) else Cause.STORED_IN_HEAP
        if why == "spill" and ev.reasons <= {"spill"}:
            # a func literal or go/defer wrapper whose only note is the spill: `defer` in a
            # loop or a `go` statement keeps the closure beyond the frame
            return Cause.GO_DEFER
        if why == "interface-converted":
            return Cause.INTERFACE_CONVERSION
        if why in LITERAL_ELEMENT_REASONS or why in ("spill", "address-of", "indirection", "dot of pointer"):
            return Cause.STORED_IN_HEAP
        return None
    storage_match = _STORAGE.match(root)
    if storage_match:
        if last is not None and last.why in CLOSURE_REASONS:
            return Cause.CLOSURE_CAPTURE
        if "interface-converted" in ev.reasons:
            return Cause.INTERFACE_CONVERSION
        target = storage_match.group(1)
        if target == "func literal" and last is not None and last.why in CLOSURE_REASONS:
            return Cause.CLOSURE_CAPTURE
        if storage is not None and depth < 4:
            # the cause of an element is the cause of the literal that holds it
            flows = storage(target)
            if flows:
                # the enclosing literal lives in the same function: keep its named results, or
                # `b = &T{s: make(...)}; return` would lose `returned` on the way
                inner = evidence(Kind.ESCAPES_TO_HEAP, target, tuple(flows), ev.results)
                return _decide(inner, storage, depth + 1)
        return None
    # root is an ordinary variable that is not itself on the heap: it outlives the value
    # (assigned to a variable of an enclosing scope or loop)
    if root and not root.startswith("{"):
        return Cause.OUTLIVES_SCOPE
    return None


def evidence(kind: Kind, subject: str, flows: tuple[Flow, ...], results: Names = frozenset()) -> Evidence:
    """Collect the facts the rules use."""
    reasons = frozenset([step.why for flow in flows for step in flow.steps])
    root = flows[-1].dst if flows else ""
    return Evidence(kind, subject, flows, root, _last_step(flows), reasons, results)


def _captures_result(ev: Evidence) -> bool:
    """A closure captured a named result by reference and the value was stored in it.

    `defer func() { if r := recover(); r != nil { err = fmt.Errorf(...) } }()`: the value goes
    into `err`, which the enclosing function returns; the closure itself does not escape.
    """
    if not ev.flows or ev.root != "{storage for func literal}" or not ev.results:
        return False
    return ev.flows[-1].src.removeprefix("&") in ev.results


def _decide(ev: Evidence, storage: StorageLookup | None, depth: int) -> Cause:
    reasons = ev.reasons
    if not reasons.isdisjoint(_SIZE_OR_UNSAFE):  # rare: one test for the three rules
        if not reasons.isdisjoint(SIZE_REASONS):
            return Cause.TOO_LARGE
        if not reasons.isdisjoint(UNKNOWN_SIZE_REASONS):
            return Cause.UNKNOWN_SIZE
        return Cause.UNSAFE
    if _captures_result(ev):
        return Cause.RETURNED
    last = ev.last
    if last is not None and last.why in CLOSURE_REASONS:
        return Cause.CLOSURE_CAPTURE
    return _from_root(ev, storage, depth) or Cause.UNKNOWN


def classify(
    kind: Kind,
    subject: str,
    flows: Sequence[Flow],
    storage: StorageLookup | None = None,
    results: Names = frozenset(),
) -> Cause:
    """The cause of one escape or leak from its explanation (`unknown` when none fits).

    `storage` finds the explanation of `{storage for X}`; `results` are the enclosing
    function's named results (from source), which the compiler prints like variables.
    """
    return _decide(evidence(kind, subject, tuple(flows), results), storage, 0)


# ---- the taxonomy as `escape-bot causes` prints it (docs/causes.md has the rules in full) ----


@dataclass(frozen=True, slots=True)
class CauseInfo:
    """One cause id, its one-line meaning and a Go example that gets it."""

    cause: Cause
    meaning: str
    example: str


# in the order the rules above try them (docs/causes.md's table); the examples are that table's
CAUSE_EXAMPLES: dict[Cause, str] = {
    Cause.TOO_LARGE: "new([10000]int)",
    Cause.UNKNOWN_SIZE: "make([]struct{}, n)",
    Cause.UNSAFE: "keep(uintptr(unsafe.Pointer(&x)))",
    Cause.CLOSURE_CAPTURE: "x := 0; return func() int { x++; return x }",
    Cause.RETURNED: "return &t",
    Cause.CHANNEL_SEND: "ch <- &T{}",
    Cause.PANIC: "panic(fmt.Sprint(x))",
    Cause.STORED_IN_HEAP: "xs[0] = &v",
    Cause.GLOBAL: "Global = &g",
    Cause.INTERFACE_CONVERSION: "fmt.Println(n)",
    Cause.LEAKING_CALL: "s.Take(&v)",
    Cause.GO_DEFER: "go func() {...}()",
    Cause.OUTLIVES_SCOPE: "var p *int; for ... { x := i; p = &x }",
    Cause.UNKNOWN: "",
}


def taxonomy() -> tuple[CauseInfo, ...]:
    """Every cause id with its meaning and example (every Cause member, none left out)."""
    ordered = list(CAUSE_EXAMPLES) + [c for c in Cause if c not in CAUSE_EXAMPLES]
    return tuple(CauseInfo(c, c.label, CAUSE_EXAMPLES.get(c, "")) for c in ordered)
