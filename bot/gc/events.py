"""`go build -json` events -> their kind, package and output lines. Pure.

One event carries a whole package's output (69 MB for go/types): a big event's `Output` is never
held as one decoded string, but decoded a megabyte at a time, so memory follows the event line.
The runner hands a big event over as the bytes it read (as `str` it would take two bytes a
character: flow lines hold `←`), small ones as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import AnyStr, Generic

from bot.gc import native

CHUNK = 1 << 20


class Piece(str):
    """Many lines of an event's output at once, for bot/gc/_scan.c to read in place as
    `filter(None, piece.splitlines())` without a str per line (`LogParser.events(pieces=True)`,
    which only the C scanner asks for)."""

    framed = False  # its `# package` lines are dropped (the event's framing names the package)


class FramedPiece(Piece):
    """A Piece whose lines starting with `# ` are dropped, as the framing replaces them."""

    framed = True


def lines_in(batch: list[str]) -> int:
    """How many lines a batch of `LogParser.events` stands for."""
    if len(batch) == 1 and isinstance(batch[0], Piece):
        assert native.scan is not None  # only the C scanner asks for pieces
        count: int = native.scan.count_lines(batch[0])
        return count
    return len(batch)


class BadEvent(ValueError):
    """A line that starts like an event but is not a JSON object."""


def is_event(line: str | bytes) -> bool:
    """A line of `go build -json` output (a JSON object), as text or bytes."""
    return line[:1] in ("{", b"{")


def text_of(line: str | bytes) -> str:
    """A line as text: bytes are UTF-8, undecodable ones replaced as the runner's text pipe does."""
    return line if isinstance(line, str) else line.decode("utf-8", "replace")


def read_event(line: str | bytes) -> tuple[str, str, Iterator[str]]:
    """An event's Action, ImportPath and output, as pieces of about a megabyte each cut after a
    newline (their `splitlines()` are `Output.splitlines()`); BadEvent when the line is not a
    JSON object."""
    found = None
    if len(line) > CHUNK:
        found = _big_event(line, TEXT) if isinstance(line, str) else _big_event(line, BYTES)
    if found is not None:
        return found
    try:
        event = json.loads(text_of(line))
    except ValueError as exc:
        raise BadEvent(str(exc)) from None
    if not isinstance(event, dict):
        raise BadEvent("not an object")
    output = str(event.get("Output", ""))
    return str(event.get("Action")), str(event.get("ImportPath", "")), pieces(output)


@dataclass(frozen=True, slots=True)
class Marks(Generic[AnyStr]):
    """The JSON marks `_big_event` looks for, as text or bytes like the line."""

    quote: AnyStr
    backslash: AnyStr
    newline: AnyStr  # the escape, `\\n`
    output: AnyStr
    last: AnyStr
    close: AnyStr


TEXT = Marks('"', "\\", "\\n", ',"Output":"', '"}', "}")
BYTES = Marks(b'"', b"\\", b"\\n", b',"Output":"', b'"}', b"}")


def _big_event(line: AnyStr, marks: Marks[AnyStr]) -> tuple[str, str, Iterator[str]] | None:
    """`read_event` of a line whose Output is its last field (cmd/go writes ImportPath, Action,
    Output in this order), without decoding the Output whole; None for any other shape."""
    head = _head(line, marks)
    if head is None:
        return None
    action, key, start, end = head
    return action, key, _chunks(line, start, end, marks)


def _head(line: AnyStr, marks: Marks[AnyStr]) -> tuple[str, str, int, int] | None:
    """Action and ImportPath of an event whose Output is its last field, decoded from the fields
    before Output alone, and where the Output's JSON string body starts and ends; None for any
    other shape (then the whole line is decoded)."""
    output, last = marks.output, marks.last
    at = line.find(output)
    end = _stripped_end(line)
    if at <= 0 or not line.endswith(last, 0, end):
        return None
    try:
        head = json.loads(text_of(line[:at] + marks.close))
    except ValueError:
        return None
    if not isinstance(head, dict) or "Action" not in head or "ImportPath" not in head:
        return None  # they come after the Output: not cmd/go's order
    return str(head["Action"]), str(head["ImportPath"]), at + len(output), end - len(last)


def _stripped_end(line: AnyStr) -> int:
    """`len(line.rstrip())` without the copy `rstrip` makes of a line (69 MB for go/types)."""
    end = len(line)
    while end and line[end - 1 : end].isspace():
        end -= 1
    return end


def action_and_package(line: str | bytes) -> tuple[str, str]:
    """An event's Action and ImportPath, as `read_event` gives them; ("", "") for a text line or a
    bad event. The Output, most of an event, is not decoded when it is the last field (as cmd/go
    writes it): `ReusingParser` asks this of every event it may take from its cache."""
    if not is_event(line):
        return "", ""
    head = _head(line, TEXT) if isinstance(line, str) else _head(line, BYTES)
    if head is not None:
        return head[0], head[1]
    try:
        action, key, _ = read_event(line)
    except BadEvent:
        return "", ""
    return action, key


def _chunks(line: AnyStr, start: int, end: int, marks: Marks[AnyStr]) -> Iterator[str]:
    """The JSON string body `line[start:end]`, decoded a chunk at a time; each chunk is cut right
    after an escaped newline (`\\n` whose backslash is not itself escaped), never inside a UTF-8
    sequence (they hold no ASCII byte)."""
    quote, backslash, newline = marks.quote, marks.backslash, marks.newline
    while start < end:
        cut = line.find(newline, start + CHUNK, end)
        while cut >= 0 and _escaped(line, cut, backslash):
            cut = line.find(newline, cut + 1, end)
        stop = end if cut < 0 else cut + 2
        yield json.loads(text_of(quote[:0].join((quote, line[start:stop], quote))))
        start = stop


def _escaped(line: AnyStr, at: int, backslash: AnyStr) -> bool:
    """True when the backslash at `at` is the second of `\\\\` (an escaped backslash)."""
    run = 0
    while at - run - 1 >= 0 and line[at - run - 1 : at - run] == backslash:
        run += 1
    return run % 2 == 1


def pieces(text: str) -> Iterator[str]:
    """`text` a megabyte at a time, cut after a newline (so their lines are `text`'s lines)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start + CHUNK)
        end = size if end < 0 else end + 1
        yield text[start:end] if start or end < size else text
        start = end
