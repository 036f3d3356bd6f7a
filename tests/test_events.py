"""`go build -json` events read a megabyte at a time (bot/gc/events.py) give exactly the lines of
the decoded event, and a log of such events the same records as its text form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.gc.events import CHUNK, BadEvent, action_and_package, pieces, read_event
from bot.gc.parse import parse_log

GOLDEN = Path(__file__).parent / "data" / "golden"

# text the chunked decoder must not cut wrongly: a literal backslash before `n`, escaped quotes,
# CR LF, a line separator, non-ASCII (`←` in flow lines), tabs
TRICKY = 'p.go:1:2: "a\\\\n" escapes to heap\r\np.go:3:4:   flow: x ← y:\n\tq\u2028r\\n\\\\\\n"\n'


def _big_event() -> tuple[str, str]:
    """A real event's output, with tricky lines, repeated past several chunks."""
    first = GOLDEN.joinpath("go1.27.3.jsonl").read_text().splitlines()[0]
    output = json.loads(first)["Output"]
    text = ""
    while len(text) < 3 * CHUNK:
        text += output + TRICKY
    event = {"ImportPath": "example.com/big", "Action": "build-output", "Output": text}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n", text


def test_a_big_event_is_split_like_its_decoded_output() -> None:
    line, text = _big_event()
    action, package, parts = read_event(line)
    assert (action, package) == ("build-output", "example.com/big")
    got = _lines(parts)
    assert got == text.splitlines()
    assert len(got) > 30_000


def _lines(parts: Iterator[str]) -> list[str]:
    return [line for part in parts for line in part.splitlines()]


def test_pieces_have_the_lines_of_the_text() -> None:
    text = ("x" * 1000 + "\r\n" + "y\u2028z\n") * (CHUNK // 500)
    assert _lines(pieces(text)) == text.splitlines()
    assert len(list(pieces(text))) > 1
    assert list(pieces("")) == []


def test_a_line_that_is_not_an_object_is_a_bad_event() -> None:
    for line in ("{not json", "[1, 2]"):
        with pytest.raises(BadEvent):
            read_event(line)


def test_a_big_event_parses_like_its_text(tmp_path: Path) -> None:
    """The golden log's events merged into one event per package over a megabyte: the records
    are those of the text log (the chunked path is the one a big package takes)."""
    events = [json.loads(x) for x in GOLDEN.joinpath("go1.27.3.jsonl").read_text().splitlines()]
    padding = "example.com/corpus/basic/basic.go:1:1: can inline Pad\n" * (CHUNK // 40)
    lines = []
    for e in events:
        if e.get("Action") == "build-output":
            e["Output"] += padding
        lines.append(json.dumps(e, separators=(",", ":")) + "\n")
    framed, stats = parse_log(lines)
    with open(GOLDEN / "go1.27.3.log", encoding="utf-8") as f:
        text, _ = parse_log(f)
    assert stats.unknown_lines == 0
    assert framed == text and len(text) > 50


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 21, 34])
def test_every_cut_of_tricky_text_decodes_the_same(size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few characters put a cut at every kind of escape (`\\\\` before `n` included)."""
    from bot.gc import events

    monkeypatch.setattr(events, "CHUNK", size)
    text = TRICKY * 5
    event = {"ImportPath": "p", "Action": "build-output", "Output": text}
    line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))  # as cmd/go writes it
    assert _lines(read_event(line)[2]) == text.splitlines()
    assert _lines(pieces(text)) == text.splitlines()


def test_action_and_package_are_read_events_without_the_output() -> None:
    """Every event of a real log, as text and as bytes, and events of other shapes (Output not
    last, no Output, escapes in the fields before it): what `read_event` says; ("", "") for a
    text line or a line that is not an object."""
    lines = GOLDEN.joinpath("go1.27.3.jsonl").read_text().splitlines(keepends=True)
    others = [
        '{"Action":"build-output","Output":"x\\n","ImportPath":"p"}\n',
        '{"ImportPath":"a\\"b\\u00e9","Action":"build-fail"}\n',
        '{"ImportPath":"q","Action":"build-output","Output":"\\"}\\n"}',
        '{"ImportPath":"q","Output":"y","Action":"start"} ',
    ]
    seen = set()
    for line in [*lines, *others, _big_event()[0]]:
        for form in (line, line.encode()):
            action, package, _ = read_event(form)
            assert action_and_package(form) == (action, package)
            seen.add(action)
    assert {"build-output", "build-fail", "start"} <= seen
    for bad in ("{not json", "[1]", "p.go:1:2: x escapes to heap\n", b"{", b"# p\n", ""):
        assert action_and_package(bad) == ("", "")
