"""JSON written as it is encoded (bot/report/stream.py): the same document as the dict the
contract describes (bot/report/serialize.py, docs/json-output.md), compact or indented, with or
without explanations. Records come from a golden log the real compiler wrote."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.gc.model import ModuleFailure, Snapshot, Toolchain
from bot.gc.parse import parse_log
from bot.report import stream
from bot.report.serialize import snapshot_dict

GOLDEN = Path(__file__).parents[1] / "data" / "golden" / "go1.27.3.log"


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    records, stats = parse_log(GOLDEN.read_text().splitlines(keepends=True))
    failed = (ModuleFailure("example.com/m/bench", "bench", ("bench/b.go:3:2: undefined: é",)),)
    return Snapshot("HEAD", "a" * 40, Toolchain("go1.27.3", "linux", "amd64"), tuple(records), stats, failed)


def _written(snapshot: Snapshot, **kw: bool) -> bytes:
    out = io.BytesIO()
    stream.write_snapshot(snapshot, out, **kw)
    return out.getvalue()


def test_the_streamed_document_is_the_documented_one(snapshot: Snapshot) -> None:
    assert len(snapshot.escapes) > 50 and any(e.explanation for e in snapshot.escapes)
    expected = json.loads(json.dumps(snapshot_dict(snapshot)))
    compact = _written(snapshot, explain=True)
    assert json.loads(compact) == expected
    assert compact.count(b"\n") == 1 and compact.endswith(b"}\n")  # one line
    assert list(json.loads(compact)) == ["schema", "head", "escapes", "counts", "stats", "failed_modules"]


def test_pretty_is_what_json_dumps_indents(snapshot: Snapshot) -> None:
    pretty = _written(snapshot, pretty=True, explain=True).decode()
    assert pretty == json.dumps(snapshot_dict(snapshot), indent=2, ensure_ascii=False) + "\n"
    assert pretty.startswith('{\n  "schema": 2,\n  "head": {\n    "revision": "HEAD",')


def test_explanations_only_when_asked(snapshot: Snapshot) -> None:
    without = json.loads(_written(snapshot, explain=False))
    assert all("explanation" not in e for e in without["escapes"])
    full = json.loads(_written(snapshot, explain=True))
    for e in full["escapes"]:
        e.pop("explanation")
    assert without == full
    assert json.loads(json.dumps(snapshot_dict(snapshot, explain=False))) == without


@pytest.mark.parametrize("pretty", [False, True])
def test_no_escapes_and_small_buffers(
    snapshot: Snapshot, pretty: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = Snapshot("", "", Toolchain("unknown", "", ""), ())
    text = _written(empty, pretty=pretty)
    assert json.loads(text)["escapes"] == [] and (b'"escapes": []' if pretty else b'"escapes":[]') in text

    class Writes(list[bytes]):
        def write(self, data: bytes) -> int:
            self.append(data)
            return len(data)

    monkeypatch.setattr(stream, "_FLUSH", 1000)  # the buffer is written out many times
    writes = Writes()
    stream.write_snapshot(snapshot, writes, pretty=pretty, explain=True)
    assert len(writes) > 10 and all(len(w) < 1000 + 20_000 for w in writes[:-1])
    assert b"".join(writes) == _written(snapshot, pretty=pretty, explain=True)


def test_encode_is_json_dumps_of_the_same_data() -> None:
    data = {"a": [], "b": {"c": [1, None, "é\u2028"]}, "d": 1.5}
    assert stream.encode(data, pretty=True).decode() == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert stream.encode(data) == json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def test_the_documented_escape_is_valid_json_with_the_fields_written(snapshot: Snapshot) -> None:
    """docs/json-output.md's ESCAPE example parses, and names exactly the fields an escape has."""
    from bot.report.serialize import escape_dict

    doc = (Path(__file__).parents[2] / "docs" / "json-output.md").read_text()
    example = doc.split("## ESCAPE", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    assert list(json.loads(example)) == list(escape_dict(snapshot.escapes[0]))
    assert set(escape_dict(snapshot.escapes[0], explain=False)) == set(json.loads(example)) - {"explanation"}
