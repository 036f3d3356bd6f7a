"""FlowReader.flows in C (bot/gc/_flows.c) gives what the pure-Python reader gives.

Both readers run in this process over the same explanations (`FlowReader(..., native_flows=False)`
is the Python one): the flows are compared by `repr` (steps and positions included), and so are
the `unknown` lines, the objects shared between flows (the same Flow, Step and Position object
where the Python reader shares one) and what is left in the reader's caches. The explanations are
those of the captured logs of every Go version, odd ones made up by hypothesis (other positions,
lines cut already, `\\r`, warnings, unknown lines, steps before a flow, with and without newlines,
non-ASCII text, lone surrogates, digits outside ASCII) and arbitrary text.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gc import native, parse
from bot.gc.events import CHUNK, text_of
from bot.gc.flows import FlowReader, compact
from bot.gc.lines import Header
from bot.gc.model import Flow, Position, Step
from bot.gc.parse import LogParser, parse_lines

GOLDEN = Path(__file__).parent / "data" / "golden"
LOGS = sorted(GOLDEN.glob("*.log")) + sorted(GOLDEN.glob("*.jsonl"))

pytestmark = pytest.mark.skipif(
    native.flows is None and os.environ.get("CI") != "true", reason="bot/gc/_flows.c was not built here"
)


def test_built_in_ci() -> None:
    # CI installs with gcc and Python's headers: a missing extension there is a failure, not a skip
    assert native.flows is not None


Explanation = tuple[str | None, list[str], bool]  # (text, raw lines, ended): a Header's


def _shape(flows: list[Flow], seen: dict[int, int]) -> list[object]:
    """Which objects are shared: each Flow, Step, Position (and their strings) as the order it
    was first met in, across a reader's whole run."""
    out: list[object] = []
    for f in flows:
        out += [seen.setdefault(id(f), len(seen)), seen.setdefault(id(f.dst), len(seen))]
        out.append(seen.setdefault(id(f.src), len(seen)))
        for s in f.steps:
            out += [seen.setdefault(id(s), len(seen)), seen.setdefault(id(s.why), len(seen))]
            if s.at is not None:
                out += [seen.setdefault(id(s.at), len(seen)), seen.setdefault(id(s.at.file), len(seen))]
    return out


def _read(explanations: list[Explanation | None], native_flows: bool) -> list[object]:
    """Everything a reader gives and keeps, over `explanations` (None: `clear()`)."""
    unknown: list[str] = []
    reader = FlowReader(unknown.append, native_flows=native_flows)
    seen: dict[int, int] = {}
    alive: list[object] = []  # keeps every record alive, so that `id`s are not reused
    out: list[object] = []
    for explanation in explanations:
        if explanation is None:
            reader.clear()
            out.append("clear")
            continue
        text, raw, ended = explanation
        header = Header(leak=False, subject="x", function=None, raw=list(raw), text=text, ended=ended)
        try:
            flows = reader.flows(header)
        except Exception as e:  # both readers must fail alike
            out.append(("raised", type(e), str(e)))
            continue
        alive.append(flows)
        assert all(type(f) is Flow for f in flows)
        assert all(type(s) is Step and type(s.at) in (Position, type(None)) for f in flows for s in f.steps)
        out += [repr(flows), _shape(flows, seen), list(unknown)]
        unknown.clear()
    caches = (reader._flows, reader._steps, reader._positions, reader._words)
    out.append([sorted((k, repr(v)) for k, v in cache.items()) for cache in caches])
    return out


def _same(explanations: list[Explanation | None]) -> list[object]:
    fast, slow = _read(explanations, True), _read(explanations, False)
    assert fast == slow
    return fast


def _explanations(path: Path) -> Iterator[Explanation | None]:
    """A log's explanations as the parser hands them to its reader (compacted), a package at a time."""
    found: list[Explanation | None] = []

    class Keeper(FlowReader):
        def flows(self, header: Header) -> list[Flow]:
            if header.text is None:
                compact(header)
            found.append((header.text, [], header.ended))
            return []

        def clear(self) -> None:
            found.append(None)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parse, "FlowReader", Keeper)
        list(parse_lines(_lines(path), LogParser()))
    yield from found


def _lines(path: Path) -> list[str]:
    with open(path, "rb") as f:
        raw = f.read().splitlines(keepends=True)
    if path.suffix == ".jsonl":
        return [text_of(line) for line in raw if len(line) <= CHUNK]
    return [line.decode("utf-8", "replace") for line in raw]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_captured_logs_explanations(path: Path) -> None:
    explanations = list(_explanations(path))
    assert any(e is not None and e[0] for e in explanations)
    out = _same(explanations)
    assert any(text.startswith("[Flow(") for text in out if isinstance(text, str))


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_captured_logs_records(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = []
    for native_flows in (True, False):
        monkeypatch.setattr(parse, "FlowReader", functools.partial(FlowReader, native_flows=native_flows))
        parser = LogParser()
        records = [repr(e) for e in parse_lines(_lines(path), parser)]
        got.append((records, repr(parser.stats())))
    assert got[0] == got[1]
    assert got[0][0]


P, Q = "p/x.go:5:10", "q/y.go:1:2"
FLOWS = [
    "{heap} ← &{storage for x}:",
    "y ← x:",
    "~r0 = x:",
    "x ← y::",
    "v ← w:\r",
    " a ← b = c :",
    "x",
    ":",
    "",
    "\u2003ü ←\u3000\udcff:",
]
STEPS = [
    "x (spill) at p/x.go:5:10",
    "sink = x (assign) at p/x.go:5:7",
    "f(x) (call parameter) at p/x.go:6:3",
    "f(a (b)) (call (c)) at q/y.go:1:2",
    "x at p/x.go:1:1",
    "x (y) at <unknown line number>",
    "x (y)",
    "x (y) at ",
    "x (y) at p/x.go:9",
    "x (y) at :1",
    "x (y) at a::1",
    "x (y) at ::",
    "x (y) at a:1:b",
    "x (y) at 123",
    "x (y) at 1",
    "x (y) at p/x.go:99999999999999999999999:1",
    "x (y) at p/x.go:\u0663:1",  # an Arabic-Indic 3: a digit to str.isdigit and int()
    "x (y) at p/x.go:5:\u00b2",  # a superscript 2: a digit to str.isdigit, not to int()
    "ünïcode (assign) at p/ü.go:5:10",
    "s (assign) at p/\udcff.go:1:1",
    "(y)",
    " ()",
    "x (y) at p/x.go:1:1\r",
    "x (y)) at p/x.go:1:1",
]
OTHERS = [
    "  warning: truncated explanation due to depth",
    "     something else",
    "   odd",
    "    from",
    " flow: x ← y:",
    "",
]


# any character, lone surrogates included, and often one the parser looks at
CHARS = st.one_of(
    st.characters(exclude_categories=()), st.sampled_from(list("\udcff\ud800←ü\u0663\u00b2:() \r\n"))
)
TEXT = st.text(CHARS, max_size=12)


@st.composite
def explanation_lines(draw: st.DrawFn) -> Explanation:
    """An explanation's lines as the hot loop hands them over: `POS:   flow: ...` with the
    header's position mostly, sometimes another one or none (cut already)."""
    body = st.one_of(
        st.sampled_from(FLOWS).map(lambda f: "  flow: " + f),
        st.sampled_from(STEPS).map(lambda s: "    from " + s),
        st.sampled_from(OTHERS),
        TEXT.map(lambda s: "    from " + s),
        TEXT.map(lambda s: "  flow: " + s),
        TEXT,
    )
    prefix = st.sampled_from([f"{P}: ", f"{P}: ", f"{P}: ", f"{Q}: ", "", "x: "])
    lines = draw(st.lists(st.tuples(prefix, body).map("".join), max_size=10))
    cr = draw(st.sampled_from(["", "", "\r"]))
    newline = draw(st.sampled_from(["", "\n"]))
    raw = [line + cr + newline for line in lines]
    if raw and draw(st.booleans()):
        raw[-1] = raw[-1].removesuffix("\n")  # a log cut short
    if draw(st.booleans()):  # compacted already, as the parser's hot loop leaves it
        header = Header(leak=False, subject="x", function=None, raw=raw)
        compact(header)
        return header.text, [], header.ended
    return None, raw, False


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(explanation_lines(), st.none()), max_size=12))
def test_odd_explanations(explanations: list[Explanation | None]) -> None:
    # twice over: the second time, each flow and step comes from the caches
    _same(explanations + explanations)


TOKENS = ["\n", "\n  flow: ", "\n    from ", " ← ", " = ", " at ", " (", ")", ":", "1", "\r", "warning: "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(CHARS, max_size=4)), max_size=30), st.booleans())
def test_arbitrary_text(pieces: list[str], ended: bool) -> None:
    text = "".join(pieces)
    _same([(text, [], ended), (text, [], ended)])


def test_unknown_lines_each_time_they_are_met() -> None:
    # a flow with an unknown line is not cached: its line goes to `unknown` again
    text = f"\n    from x (spill) at {P}\n  flow: y ← x:\n    from a (b) at {P}\n   odd\n  flow: y ← x:"
    out = _same([(text, [], True), (text, [], True)])
    assert out[2] == ["   odd\n"] and out[5] == ["   odd\n"]


def test_a_superscript_digit_fails_alike() -> None:
    out = _same([("\n  flow: y ← x:\n    from x (y) at p/x.go:5:\u00b2", [], False)])
    assert out[0][0] == "raised" and out[0][1] is ValueError  # type: ignore[index]


def test_unknown_callback_errors_propagate() -> None:
    assert native.flows is not None

    def refuse(line: str) -> None:
        raise RuntimeError(line)

    for native_flows in (True, False):
        reader = FlowReader(refuse, native_flows=native_flows)
        with pytest.raises(RuntimeError, match="odd"):
            reader.flows(Header(leak=False, subject="x", function=None, text="\n  flow: a ← b:\n   odd"))


def test_read_refuses_bad_arguments() -> None:
    assert native.flows is not None
    with pytest.raises(TypeError):
        native.flows.read("", False, {}, {}, {})
    with pytest.raises(TypeError):
        native.flows.read(b"", False, {}, {}, {}, {}, print)
    with pytest.raises(TypeError):
        native.flows.read("", False, {}, [], {}, {}, print)
    assert native.flows.read("", False, {}, {}, {}, {}, print) == []
