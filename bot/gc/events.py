"""`go build -json` events -> their kind, package and output lines. Pure.

One event carries a whole package's output (69 MB for go/types): a big event's `Output` is never
held as one decoded string, but decoded a megabyte at a time, so memory follows the event line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

CHUNK = 1 << 20
_OUTPUT = ',"Output":"'


class BadEvent(ValueError):
    """A line that starts like an event but is not a JSON object."""


def read_event(line: str) -> tuple[str, str, Iterator[str]]:
    """An event's Action, ImportPath and output, as pieces of about a megabyte each cut after a
    newline (their `splitlines()` are `Output.splitlines()`); BadEvent when the line is not a
    JSON object."""
    at = line.find(_OUTPUT) if len(line) > CHUNK else -1
    end = len(line.rstrip())
    if at > 0 and line.endswith('"}', 0, end):
        # cmd/go writes ImportPath, Action, Output in this order: Output is the last field
        try:
            head = json.loads(line[:at] + "}")
        except ValueError:
            head = None
        if isinstance(head, dict):
            return str(head.get("Action")), str(head.get("ImportPath", "")), _chunks(line, at + 11, end - 2)
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise BadEvent(str(exc)) from None
    if not isinstance(event, dict):
        raise BadEvent("not an object")
    output = str(event.get("Output", ""))
    return str(event.get("Action")), str(event.get("ImportPath", "")), pieces(output)


def _chunks(line: str, start: int, end: int) -> Iterator[str]:
    """The JSON string body `line[start:end]`, decoded a chunk at a time; each chunk is cut right
    after an escaped newline (`\\n` whose backslash is not itself escaped)."""
    while start < end:
        cut = line.find("\\n", start + CHUNK, end)
        while cut >= 0 and _escaped(line, cut):
            cut = line.find("\\n", cut + 1, end)
        stop = end if cut < 0 else cut + 2
        yield json.loads('"' + line[start:stop] + '"')
        start = stop


def _escaped(line: str, at: int) -> bool:
    """True when the backslash at `at` is the second of `\\\\` (an escaped backslash)."""
    run = 0
    while at - run - 1 >= 0 and line[at - run - 1] == "\\":
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
