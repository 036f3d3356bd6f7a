"""JSON output with msgspec's encoder (pure: it writes to the binary stream it is given).

`write_snapshot` writes `collect --format json` as it goes: the fields before the escapes, then
the escapes one at a time through a buffer of about a megabyte, then the rest. Memory stays flat
in the number of escapes (no list of dicts, no whole-document string), and the document is the
one `serialize.snapshot_dict` describes (docs/json-output.md). Compact by default (one line);
`pretty` indents by two spaces, as `json.dumps(indent=2, ensure_ascii=False)` would.

`encode` is for the smaller documents (`diff`, the CI report files): the same encoder, whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import msgspec

from bot.gc.model import Snapshot
from bot.report.serialize import COLLECT_SCHEMA_VERSION, escape_dict, side_dict, snapshot_summary


class BinaryStream(Protocol):
    """Where the document goes: `sys.stdout.buffer`, a file opened "wb", a BytesIO."""

    def write(self, data: bytes, /) -> object:
        """Write all of `data`."""


_ENCODER = msgspec.json.Encoder()
_FLUSH = 1 << 20  # bytes buffered before a write


def encode(data: Any, *, pretty: bool = False) -> bytes:
    """One JSON document with a final newline; indented by two spaces when `pretty`."""
    raw = _ENCODER.encode(data)
    return (msgspec.json.format(raw, indent=2) if pretty else raw) + b"\n"


class _ObjectWriter:
    """A top-level JSON object written field by field; an array field item by item."""

    def __init__(self, out: BinaryStream, pretty: bool) -> None:
        self._out = out
        self._pretty = pretty
        self._buffer = bytearray(b"{")
        self._fields = 0

    def _value(self, value: Any, depth: int) -> bytes:
        raw = _ENCODER.encode(value)
        if not self._pretty:
            return raw
        # a JSON string holds no raw newline: every newline of the formatted value starts a line
        return msgspec.json.format(raw, indent=2).replace(b"\n", b"\n" + b"  " * depth)

    def _key(self, key: str) -> None:
        if self._fields:
            self._buffer += b","
        self._fields += 1
        self._buffer += b"\n  " if self._pretty else b""
        self._buffer += _ENCODER.encode(key) + (b": " if self._pretty else b":")

    def field(self, key: str, value: Any) -> None:
        self._key(key)
        self._buffer += self._value(value, 1)

    def array(self, key: str, items: Iterable[Any]) -> None:
        self._key(key)
        self._buffer += b"["
        empty = True
        for item in items:
            if not empty:
                self._buffer += b","
            empty = False
            self._buffer += b"\n    " if self._pretty else b""
            self._buffer += self._value(item, 2)
            if len(self._buffer) >= _FLUSH:
                self._out.write(bytes(self._buffer))
                self._buffer.clear()
        self._buffer += b"\n  ]" if self._pretty and not empty else b"]"

    def close(self) -> None:
        self._buffer += b"\n}\n" if self._pretty else b"}\n"
        self._out.write(bytes(self._buffer))
        self._buffer.clear()


def write_snapshot(
    snapshot: Snapshot, out: BinaryStream, *, pretty: bool = False, explain: bool = True
) -> None:
    """`collect --format json` into `out`, escape by escape. Without `explain` the escapes have
    no `explanation` (about 70 % of the bytes for the standard library)."""
    writer = _ObjectWriter(out, pretty)
    writer.field("schema", COLLECT_SCHEMA_VERSION)
    writer.field("head", side_dict(snapshot))
    writer.array("escapes", (escape_dict(e, explain=explain) for e in snapshot.escapes))
    for key, value in snapshot_summary(snapshot).items():
        writer.field(key, value)
    writer.close()
