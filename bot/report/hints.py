"""What to do about a new escape, and why it escaped, in plain words (pure).

- `hint`: a fix hint specific to the escape: it names the expression and the function and says
  what usually removes the allocation for that cause (docs/causes.md shows each with a Go
  before/after example; a test checks every cause id has one);
- `chain`: the compiler's flow explanation as a short chain, `i` → `&i` (line 11) → returned;
- `attribution_words`: the change a new escape is attributed to, as a sentence.

The texts here are raw (untrusted names inside): the renderers escape them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.attribution import Attribution, Reason
from bot.gc.model import Cause, Escape, Kind, Position

# What usually removes the allocation, per cause: the advice without the code's names. `hint`
# puts the escape's own expression and function in front of it.
ADVICE: dict[Cause, str] = {
    Cause.RETURNED: "return the value, or let the caller pass the storage (`func f(dst *T)`)",
    Cause.CHANNEL_SEND: "send a value instead of a pointer, or reuse buffers through a sync.Pool",
    Cause.CLOSURE_CAPTURE: "pass the variable to the closure as an argument, or do not keep the closure "
    "beyond the call",
    Cause.STORED_IN_HEAP: "store values rather than pointers in the slice, map or struct, or preallocate "
    "the container once",
    Cause.GLOBAL: "keep the value local, or assign a copy to the package-level variable",
    Cause.INTERFACE_CONVERSION: "call a concrete-typed function, or on a hot path format with "
    "`strconv.Append*` into a reused buffer",
    Cause.LEAKING_CALL: "make the callee not keep its parameter (it then stays `does not escape`), or pass "
    "a value",
    Cause.GO_DEFER: "move the loop body into a function so the defer runs per call, or start one "
    "goroutine with the whole work",
    Cause.PANIC: "panic with a constant or a pre-built error value; this path is rarely hot",
    Cause.TOO_LARGE: "allocate once and reuse it (a field, a sync.Pool), or shrink it under the stack limit",
    Cause.UNKNOWN_SIZE: "use a constant size, or allocate once outside the loop and reslice",
    Cause.OUTLIVES_SCOPE: "declare the variable in the scope where it is used, or copy the value",
    Cause.UNSAFE: "check that the uintptr conversion is needed; keep the pointer typed",
    Cause.UNKNOWN: "read the compiler's explanation below (`go build -gcflags=-m=2`)",
}

_NAME = re.compile(r"[A-Za-z_][\w.]*")


def _callee(e: Escape) -> str:
    """The function the value is passed to, from the explanation's last `call parameter` step
    (`fmt.Fprintln(os.Stdout, fmt.a...)`: `fmt.Fprintln`); empty when it names none. Only what
    the records carry (no source text), so that a report rebuilt from the artifact is the same."""
    for flow in reversed(e.explanation):
        for step in reversed(flow.steps):
            if step.why == "call parameter" and "(" in step.where:
                name = step.where.split("(", 1)[0].strip()
                if _NAME.fullmatch(name):
                    return name
    return ""


class Code(str):
    """A part of a hint shown as code (a name from the source, or code we wrote)."""

    __slots__ = ()


def _parts(text: str) -> list[str]:
    """Our own text with `code` in backticks, as parts (odd ones are code)."""
    return [Code(p) if i % 2 else p for i, p in enumerate(text.split("`")) if p]


def hint_parts(e: Escape) -> tuple[str, ...]:
    """The hint as parts: `Code` parts are names from the source or code, the rest our words.
    The renderer escapes each for where it goes (code span or plain text)."""
    x, f = Code(e.expression), Code(e.function)
    parts: list[str] = []
    for piece in _template(e):
        if piece == "{x}":
            parts.append(x)
        elif piece == "{f}":
            parts.append(f)
        elif piece.startswith("{call:"):
            parts.append(Code(piece.removeprefix("{call:").removesuffix("}")))
        else:
            parts.extend(_parts(piece))
    return tuple(parts)


def hint(e: Escape) -> str:
    """One sentence: what the code does and what usually removes the allocation (names in
    backticks, as JSON and the terminal show it)."""
    return "".join(f"`{p}`" if isinstance(p, Code) else p for p in hint_parts(e))


def _template(e: Escape) -> list[str]:
    """The hint's pieces: `{x}` the expression, `{f}` the function, `{call:NAME}` a callee."""
    x, f = "{x}", "{f}"
    advice = ADVICE[e.cause]
    match e.cause:
        case Cause.RETURNED:
            return [f, " returns ", x, ": " + advice]
        case Cause.INTERFACE_CONVERSION:
            callee = _callee(e)
            if callee.startswith(("fmt.", "log.")):
                return [
                    x,
                    " is boxed for ",
                    "{call:" + callee + "}",
                    " in ",
                    f,
                    ": on a hot path format with `strconv.Append*` into a reused buffer",
                ]
            into = [" for ", "{call:" + callee + "}"] if callee else []
            return [x, " is boxed into an interface", *into, " in ", f, ": " + advice]
        case Cause.LEAKING_CALL:
            callee = _callee(e)
            into = ["{call:" + callee + "}"] if callee else ["a function that keeps it"]
            return [x, " is passed to ", *into, " in ", f, ": " + advice]
        case Cause.CLOSURE_CAPTURE:
            return [x, " is captured by a closure in ", f, " that outlives the call: " + advice]
        case Cause.CHANNEL_SEND:
            return [f, " sends ", x, " on a channel: " + advice]
        case Cause.GO_DEFER:
            return [x, " in ", f, " is a go statement or a defer in a loop: " + advice]
        case _:
            return [x, " in ", f, " is " + e.cause.label + ": " + advice]


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a reason chain: what the value is there, and where (None: no position)."""

    text: str
    at: Position | None = None
    ours: bool = False  # our own words (`returned`), not the source's


# the last note of a flow, as the end of the chain
_ENDS: dict[Cause, str] = {
    Cause.RETURNED: "returned",
    Cause.CHANNEL_SEND: "sent on a channel",
    Cause.CLOSURE_CAPTURE: "captured by a closure",
    Cause.STORED_IN_HEAP: "stored in the heap",
    Cause.GLOBAL: "stored in a package-level variable",
    Cause.INTERFACE_CONVERSION: "boxed into an interface",
    Cause.LEAKING_CALL: "kept by the callee",
    Cause.GO_DEFER: "kept by a go or deferred call",
    Cause.PANIC: "passed to panic",
    Cause.TOO_LARGE: "too large for the stack",
    Cause.UNKNOWN_SIZE: "size unknown at compile time",
    Cause.OUTLIVES_SCOPE: "kept by a longer-lived variable",
    Cause.UNSAFE: "converted through uintptr",
    Cause.UNKNOWN: "moved to the heap",
}
_STORAGE = re.compile(r"^&?\{storage for (.*)\}$")
MAX_LINKS = 5  # a chain longer than this keeps its first and last links


def _source_name(src: str) -> str:
    m = _STORAGE.match(src)
    return m.group(1) if m else src


def chain(e: Escape) -> tuple[Link, ...]:
    """The value's way to the heap, from the first flow's source through each step of the flows
    to the cause: `i` → `&i` (line 11) → returned (line 11). Steps repeating the previous link
    are folded; a long chain keeps its ends."""
    if not e.explanation:
        return (Link(e.expression, None), Link(_ENDS[e.cause], None, ours=True))
    links = [Link(_source_name(e.explanation[0].src), None)]
    if e.kind is Kind.MOVED_TO_HEAP and links[0].text != e.expression:
        links.insert(0, Link(e.expression, None))  # `moved to heap: i`: the chain starts at `i`
    last: Position | None = None
    for flow in e.explanation:
        for step in flow.steps:
            where = _source_name(step.where.strip())
            if step.at is not None:
                last = step.at
            if step.why == "return":
                continue  # `return &t`: the chain's end says it (`returned`, at this line)
            if links and links[-1].text == where:
                if links[-1].at is None and step.at is not None:
                    links[-1] = Link(where, step.at)
                continue
            links.append(Link(where, step.at))
    links.append(Link(_ENDS[e.cause], last, ours=True))
    if len(links) > MAX_LINKS:
        links = [*links[:2], Link("…", None, ours=True), *links[-2:]]
    return tuple(links)


_DETAIL = {
    Reason.CALLEE_NOW_LEAKS: "now stores its parameter",
    Reason.FLOW_STEP_CHANGED: "changed a step of the value's flow",
    Reason.INLINING_CHANGED: "changed what the compiler inlines here",
    Reason.CHANGED_LINE: "is this escape's own changed line",
}


def attribution_words(a: Attribution) -> str:
    """`now stores its parameter (leaking param: p)`: what the changed code did, after its name."""
    if a.reason is Reason.TOOLCHAIN:
        return "the Go toolchain changed between base and head"
    if a.reason is Reason.UNKNOWN:
        return "no changed line found on its path"
    words = _DETAIL[a.reason]
    if a.reason is Reason.CALLEE_NOW_LEAKS and a.detail and "leak" in a.detail and "param" in a.detail:
        return f"{words} ({a.detail})"
    return words
