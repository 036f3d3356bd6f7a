"""bot/gc/flows.py reads an explanation handed over as printed (`POS:   flow: ...`) in bulk: the
flows and the unknown lines must be those of reading each line with its `POS: ` cut, whatever
`compact` meets (another position, a line cut already, `\r`, unknown lines)."""

from __future__ import annotations

import pytest

from bot.gc.flows import FlowReader, compact
from bot.gc.lines import Header
from bot.gc.model import Flow

P = "p/x.go:5:10"
PRINTED = [
    f"{P}:   flow: {{heap}} ← &{{storage for x}}:",
    f"{P}:     from x (spill) at p/x.go:5:10",
    f"{P}:     from sink = x (assign) at p/x.go:5:7",
    f"{P}:   flow: y ← x:",
    f"{P}:     from f(x) (call parameter) at p/x.go:6:3",
]


def _read(lines: list[str]) -> tuple[list[Flow], list[str]]:
    unknown: list[str] = []
    return FlowReader(unknown.append).flows(
        Header(leak=False, subject="x", function=None, raw=lines)
    ), unknown


def _cut(lines: list[str]) -> list[str]:
    return [line if line[:1] == " " else line[line.find(": ") + 2 :] for line in lines]


CASES = {
    "one position": PRINTED,
    "another position": [*PRINTED[:2], "q/y.go:1:2:     from z (assign) at q/y.go:1:2", *PRINTED[2:]],
    "a line cut already": [*PRINTED[:3], "    from w (assign) at p/x.go:7:1", *PRINTED[3:]],
    "steps before a flow": [PRINTED[1], *PRINTED],
    "a warning": [*PRINTED, f"{P}:   warning: truncated explanation due to depth"],
    "an unknown line": [*PRINTED[:2], f"{P}:     something else", *PRINTED[2:]],
    "a step without reason": [*PRINTED[:2], f"{P}:     from x at p/x.go:1:1", *PRINTED[2:]],
    "carriage returns": [line + "\r" for line in PRINTED],
}


@pytest.mark.parametrize("newline", ["", "\n"], ids=["events", "text"])
@pytest.mark.parametrize("case", list(CASES))
def test_bulk_reading_equals_line_by_line(case: str, newline: str) -> None:
    lines = [line + newline for line in CASES[case]]
    assert _read(lines) == _read(_cut(lines))


def test_bulk_reading_finds_the_flows() -> None:
    flows, unknown = _read(PRINTED)
    assert [(f.dst, f.src, [s.why for s in f.steps]) for f in flows] == [
        ("{heap}", "&{storage for x}", ["spill", "assign"]),
        ("y", "x", ["call parameter"]),
    ]
    assert unknown == []
    assert _read([line + "\n" for line in PRINTED])[0] == flows


@pytest.mark.parametrize("newline", ["", "\n"], ids=["events", "text"])
@pytest.mark.parametrize("case", list(CASES))
def test_compact_always_leaves_one_string(case: str, newline: str) -> None:
    header = Header(leak=False, subject="x", function=None, raw=[line + newline for line in CASES[case]])
    compact(header)
    assert header.raw == []
    assert header.text is not None and header.text.count("\n") == len(CASES[case])
    assert header.ended == (newline == "\n")


@pytest.mark.parametrize("newline", ["", "\n"], ids=["events", "text"])
def test_unknown_lines_go_out_as_they_came_each_time_they_are_met(newline: str) -> None:
    unknown: list[str] = []
    reader = FlowReader(unknown.append)
    lines = [line + newline for line in CASES["an unknown line"] + CASES["a step without reason"][2:3]]
    for _ in range(2):
        flows = reader.flows(Header(leak=False, subject="x", function=None, raw=list(lines)))
        assert [len(f.steps) for f in flows] == [2, 1]
    once = ["    something else" + newline, "    from x at p/x.go:1:1" + newline]
    assert unknown == once + once
