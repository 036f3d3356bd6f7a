"""The parser's hot loop in C (bot/gc/_scan.c) gives what the pure-Python loop gives.

Both loops run in this process over the same lines (`parse_lines(..., native_scan=False)` is the
Python one); records are compared by `repr` (every field, the explanation's flows and steps
included) and so are the parser's counters, on the captured logs of every Go version, on odd
logs made up by hypothesis, and through the runner's build-error watcher, which relies on each
line being read before the next one is asked for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gc import native
from bot.gc.builderrors import BuildErrors, watch
from bot.gc.events import CHUNK, text_of
from bot.gc.lines import Header, Summary
from bot.gc.parse import LogParser, parse_lines

GOLDEN = Path(__file__).parent / "data" / "golden"

pytestmark = pytest.mark.skipif(
    native.scan is None and os.environ.get("CI") != "true", reason="bot/gc/_scan.c was not built here"
)


def test_built_in_ci() -> None:
    # CI installs with gcc and Python's headers: a missing extension there is a failure, not a skip
    assert native.scan is not None


def _run(lines: Iterable[str], native_scan: bool) -> tuple[list[str], str]:
    parser = LogParser()
    records = [repr(e) for e in parse_lines(lines, parser, native_scan=native_scan)]
    return records, repr(parser.stats())


def _same(lines: list[str]) -> tuple[list[str], str]:
    fast, slow = _run(lines, True), _run(lines, False)
    assert fast == slow
    return fast


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.log")) + sorted(GOLDEN.glob("*.jsonl")), ids=str)
def test_captured_logs(path: Path) -> None:
    with open(path, "rb") as f:
        raw = f.read().splitlines(keepends=True)
    if path.suffix == ".jsonl":
        lines: list[str] = [text_of(line) for line in raw if len(line) <= CHUNK]
    else:
        lines = [line.decode("utf-8", "replace") for line in raw]
    records, _stats = _same(lines)
    assert records  # the logs hold escapes: an empty result on both sides would prove nothing


P, Q = "p/x.go:5:10", "q/y.go:1:2"
PIECES = [
    f"{P}:   flow: {{heap}} ← &{{storage for x}}:",
    f"{P}:     from x (spill) at p/x.go:5:10",
    f"{P}:     from sink = x (assign) at p/x.go:5:7",
    f"{P}:   flow: y ← x:",
    f"{P}:     from f(x) (call parameter) at p/x.go:6:3",
    f"{Q}:     from z (assign) at q/y.go:1:2",
    "    from w (assign) at p/x.go:7:1",
    "  flow: v ← w:",
    f"{P}:   warning: truncated explanation due to depth",
    f"{P}:     something else",
    f"{P}:     from x at p/x.go:1:1",
    f"{P}:     from x (y) at <unknown line number>",
    f"{P}:   flow: ~r0 = x:",
    f"{P}:     from ünïcode (assign) at p/x.go:5:10",
    f"{P}:     from s (assign) at p/\udcff.go:1:1",  # a lone surrogate, as a JSON event can hold
    "   odd",
    f"{P}:  flow:x",
    "",
    "no position at all",
    f"{P}: inlining call to strings.Clone",
    f"{P}: inlining call to \udcfe",
    f"{Q}: can inline F with cost 3 as: func() {{ }}",
    f"{Q}: cannot inline G: function too complex",
    f"{Q}: can inline  H",
    f"{P}: x does not escape",
    f"{P}: y does not escape, mutate, or call",
    f"{P}: devirtualizing x.M to *T",
    f"{P}: devirtualizing ends like a header:",  # a header to Python, not a message to skip
    f"{Q}: can inline K:",
    f"{P}: index bounds check elided",
    f"{P}: zz capturing by ref: y",
    ": inlining call to nowhere",
    f"{P}: something the parser does not know",
    '{"ImportPath":"p","Action":"build-output","Output":"p/x.go:5:10: moved to heap: e\\n"}',
    "#notaheader",
    # explanation headers of every shape `parse_header` reads (or refuses)
    f"{P}: parameter leaks to x:",
    f"{P}: parameter p leaks to {{storage for {{a}}}} for F with derefs=1:",
    f"{P}: parameter p leaks to {{storage for {{a}} for G with derefs=0:",
    f"{P}: parameter p leaks to {{heap}} with derefs=0:",
    f"{P}: parameter p leaks to ~r0 for F with derefs=0:",
    f"{P}: parameter p leaks to x for F:",
    f"{P}: x escapes to heap:",
    f"{P}: a escapes to heap in b escapes to heap in F:",
    f"{P}: not a header:",
    # escapes at positions `parse_pos` reads, or refuses, or reads with Unicode digits
    "p/x.go:5: x escapes to heap",
    "p/x.go:x:3: moved to heap: z",
    "p/x.go:\u0663:3: moved to heap: z",
    "p/x.go:3:\u0663: moved to heap: z",
    ":5: moved to heap: z",
    "p/x.go::5: leaking param: p",
    "p/x.go:1:99999999999999999999: moved to heap: v",
    "p/x.go:99999999999999999999:3: moved to heap: w",
    f"{P}: leaking param: p",  # takes the `parameter p leaks` headers' functions
    f"{Q}: leaking param content: q",
    f"{Q}: leaking param: q to result ~r0 level=0",
    "x escapes to heap in F:",  # an explanation without position (`#next`)
    "moved to heap: #next",
]


def _header(pos: str, leak: bool) -> str:
    if leak:
        return f"{pos}: parameter x leaks to {{heap}} for F with derefs=0:"
    return f"{pos}: x escapes to heap in F:"


@st.composite
def odd_logs(draw: st.DrawFn) -> list[str]:
    lines = ["# example.com/p"] if draw(st.booleans()) else []
    for n in range(draw(st.integers(0, 12))):
        pos = P if draw(st.booleans()) else f"p/x.go:{n}:3"
        lines.append(_header(pos, draw(st.booleans())))
        lines += draw(st.lists(st.sampled_from(PIECES), max_size=8))
        lines.append(draw(st.sampled_from([f"{pos}: x escapes to heap", f"{pos}: leaking param: x", ""])))
        if draw(st.integers(0, 9)) == 0:
            lines.append("# example.com/q [example.com/q.test]")
    ending = draw(st.sampled_from(["\n", "\r\n", ""]))
    out = [line + ending for line in lines]
    if out and draw(st.booleans()):
        out[-1] = out[-1].rstrip("\r\n")  # a log cut short
    return out


@pytest.mark.parametrize("piece", PIECES)
def test_each_odd_line_alone(piece: str) -> None:
    # each shape once where it decides a record: a header's function, an escape's position
    for ending in ("\n", ""):
        lines = [f"# example.com/p{ending}", piece + ending, f"{P}: leaking param: p{ending}"]
        _same([*lines, f"{P}: x escapes to heap"])


@settings(max_examples=400, deadline=None)
@given(odd_logs())
def test_odd_logs(lines: list[str]) -> None:
    _same(lines)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list(": #{}\n\r\tfa.go1←")), max_size=30), max_size=30))
def test_arbitrary_text(lines: list[str]) -> None:
    _same(lines)


def test_explanation_spans_a_skipped_line() -> None:
    # an empty line leaves the explanation open (`_positionless`); a consumed message closes it
    lines = [
        "# p",
        f"{P}: x escapes to heap in F:",
        f"{P}:   flow: {{heap}} ← &x:",
        "",
        f"{P}:     from &x (address-of) at {P}",
        f"{P}: inlining call to f",
        f"{P}:     from orphan (assign) at {P}",
        f"{P}: x escapes to heap",
    ]
    (record,), stats = _same(lines)
    assert "address-of" in record
    assert "unknown_lines=1" in stats  # the `from` line after `inlining call to` belongs to nothing


def test_watcher_sees_the_same_unknown_lines() -> None:
    lines = [
        "# example.com/p",
        f"{P}: x escapes to heap in F:",
        f"{P}:   flow: {{heap}} ← &x:",
        f"{P}: inlining call to f",
        "p/x.go:9:9: undefined: frobnicate",
        f"{P}: x escapes to heap",
        "# example.com/q",
        "q/y.go:1:2: syntax error: unexpected }",
    ]
    seen = []
    for native_scan in (True, False):
        parser, errors = LogParser(), BuildErrors(lambda text: text)
        list(parse_lines(watch(iter(lines), parser, errors), parser, native_scan=native_scan))
        seen.append(errors.lines)
    assert seen[0] == seen[1]
    assert seen[0] == [
        "# example.com/p",
        "p/x.go:9:9: undefined: frobnicate",
        "# example.com/q",
        "q/y.go:1:2: syntax error: unexpected }",
    ]


def test_scanner_refuses_bad_arguments() -> None:
    assert native.scan is not None
    scanner_type = native.scan.Scanner
    with pytest.raises(TypeError, match="tuples of bytes"):
        scanner_type([], ("not bytes",), (), (), Header, Summary)
    with pytest.raises(TypeError, match="kinds"):
        scanner_type([], (), (), ((b"", True, None),), Header, Summary)
    with pytest.raises(TypeError, match="callable"):
        scanner_type([], (), (), (), None, Summary)
    scanner = scanner_type(["a: b", "p.go:1:1: moved to heap: x"], (), (), (), Header, Summary)
    with pytest.raises(TypeError, match="not a Block"):
        scanner.next(SimpleNamespace(headers=[], summaries=[], inlined_at={}, decls=[]), None)
    assert scanner.next(None, None) == "a: b"  # outside a package every line is Python's
    assert scanner.next(None, None) == "p.go:1:1: moved to heap: x"
    assert scanner.next(None, None) is None
    assert scanner.consumed == 0


def test_maker_builds_what_the_dataclass_builds() -> None:
    from bot.gc.model import Kind
    from bot.gc.parse import _made

    make_header, make_summary = _made(Header), _made(Summary)
    assert make_header is not Header and make_summary is not Summary  # made in C here
    assert make_header(True, "p", "F") == Header(True, "p", "F")
    one, two = make_header(False, "x", None), make_header(False, "x", None)
    assert one.raw == [] and one.raw is not two.raw and one.flows is not two.flows  # factories called
    args = ("p.go:1:2", Kind.MOVED_TO_HEAP, "p.go", 1, 2, "x", "moved to heap: x")
    assert repr(make_summary(*args)) == repr(Summary(*args))
    with pytest.raises(TypeError, match="positionally"):
        make_header(True)  # a required field missing
    with pytest.raises(TypeError, match="positionally"):
        make_summary(*args, "one too many")


def test_maker_refuses_what_it_cannot_build_alike() -> None:
    from dataclasses import dataclass

    from bot.gc.parse import _made

    @dataclass(slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            self.a += 1

    @dataclass
    class Plain:  # no slots
        a: int

    assert _made(Checked) is Checked and _made(Plain) is Plain  # the class itself, as Python builds it
    assert native.scan is not None
    with pytest.raises(TypeError, match="not exactly"):
        native.scan.Maker(Header, (("leak", 0, None), ("subject", 0, None)))
    fields = [(name, 1, None) for name in Header.__slots__]
    fields[1] = (fields[1][0], 0, None)  # a given field after a default one
    with pytest.raises(TypeError, match="given fields first"):
        native.scan.Maker(Header, tuple(fields))
    with pytest.raises(TypeError):
        native.scan.Maker(Header, "not a tuple")


BOUNDARIES = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\n\n"]


@st.composite
def json_logs(draw: st.DrawFn) -> list[str]:
    # `go build -json` events whose Output the C scanner reads in place (bot/gc/events.py's
    # Piece): every line boundary of str.splitlines, empty lines, `# package` lines at a line's
    # start after any boundary, lone surrogates; a text log's lines in between
    events = []
    for n in range(draw(st.integers(1, 4))):
        lines = draw(odd_logs())
        joined = "".join(line.rstrip("\r\n") + draw(st.sampled_from(BOUNDARIES)) for line in lines)
        if draw(st.booleans()):
            joined = f"# example.com/p{n}\n" + joined
        event = {"ImportPath": f"example.com/p{n % 2}", "Action": "build-output", "Output": joined}
        events.append(json.dumps(event))
        if draw(st.integers(0, 5)) == 0:
            events.append(json.dumps({"ImportPath": "x", "Action": "build-fail"}))
    return events


@settings(max_examples=300, deadline=None)
@given(json_logs())
def test_json_logs_read_in_place(events: list[str]) -> None:
    _same(events)


def test_count_lines_is_splitlines() -> None:
    assert native.scan is not None
    for text in [
        "",
        "a",
        "a\n",
        "\n\na\r\nb\rc\x85d\u2028e\u2029f\x0bg\x0ch\x1ci\x1dj\x1ek\n",
        "x\udcffy\nz",
    ]:
        assert native.scan.count_lines(text) == len(list(filter(None, text.splitlines())))


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.jsonl")), ids=str)
def test_reused_blocks_count_the_same_lines(path: Path) -> None:
    # head's reuse of base's blocks (bot/gc/reuse.py) counts a block's lines from the batches of
    # `events`: a Piece stands for all its lines, its `# package` lines included
    from bot.gc.reuse import BlockCache, ReusingParser

    lines = [text_of(line) for line in path.read_bytes().splitlines(keepends=True)]
    seen = []
    for native_scan in (True, False):
        cache = BlockCache()
        runs = []
        for _ in range(2):  # base parses and caches every block; head takes them all
            parser = ReusingParser(cache, "context")
            records = [repr(e) for e in parse_lines(lines, parser, native_scan=native_scan)]
            runs.append((records, repr(parser.stats())))
        assert runs[0] == runs[1] and cache.reused > 0
        seen.append((runs[0], sorted((b.package, b.lines) for b in cache.blocks.values())))
    assert seen[0] == seen[1]
