"""Canonical serialisation and digests: the identity that content addressing relies on."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace

import pytest

from bot.gc.model import Cause, Escape, Flow, Kind, Position, Step
from bot.store.content import (
    ExplanationReader,
    ExplanationWriter,
    PackageMemo,
    canonical_order,
    escape_from_row,
    explanation_from_json,
    explanation_to_json,
    site_row,
    split_escapes,
)

from .factories import make_escapes

ESCAPE = Escape(
    package="example.com/m/p",
    file="p/a.go",
    line=3,
    column=9,
    function="(*T).M",
    kind=Kind.ESCAPES_TO_HEAP,
    expression="&T{...}",
    message="&T{...} escapes to heap",
    cause=Cause.RETURNED,
    explanation=(Flow("~r0", "&T{...}", (Step("&T{...}", "spill", Position("p/a.go", 3, 9)),)),),
    count=1,
    line_text="\treturn &T{} // é",
)


def test_digest_is_pinned() -> None:
    # The digests are persistent identities: changing the serialisation must change the
    # version prefix in content.py (and this value) on purpose, never by accident.
    (package,) = split_escapes([ESCAPE])
    assert package.files[0].digest == "791ec5b47b65a0f8eab245ad40c11232ae8e28dcf88ec5dffe24360c7b0d5240"
    assert package.digest == "6a23a212223c09eb5674fde89dc3f8e5356a1da46435da3e80d2772f4e9b15e2"


def test_digest_ignores_input_order() -> None:
    escapes = make_escapes(5, 40, seed=3)
    shuffled = list(escapes)
    random.Random(1).shuffle(shuffled)
    assert [p.digest for p in split_escapes(escapes)] == [p.digest for p in split_escapes(shuffled)]


@pytest.mark.parametrize(
    "change",
    [
        {"line": 4},
        {"column": 10},
        {"function": "(*T).N"},
        {"kind": Kind.MOVED_TO_HEAP},
        {"expression": "&U{...}"},
        {"message": "&T{...} escapes to heap, too"},
        {"cause": Cause.GLOBAL},
        {"count": 2},
        {"line_text": "\treturn &T{}"},  # not part of Escape equality, but stored: must be hashed
        {"explanation": ()},
        {"file": "p/b.go"},
        {"package": "example.com/m/q"},
    ],
)
def test_every_stored_field_changes_the_digest(change: dict[str, object]) -> None:
    (before,) = split_escapes([ESCAPE])
    (after,) = split_escapes([replace(ESCAPE, **change)])  # type: ignore[arg-type]
    assert before.digest != after.digest


def test_unchanged_files_keep_their_digest_when_a_sibling_changes() -> None:
    escapes = make_escapes(1, 60, seed=5)
    first_file = escapes[0].file
    edited = [replace(e, line=e.line + 1) if e.file == first_file else e for e in escapes]
    (before,), (after,) = split_escapes(escapes), split_escapes(edited)
    assert before.digest != after.digest
    changed = {f.file for f in before.files} - {f.file for f in after.files} | {
        a.file for a, b in zip(before.files, after.files, strict=True) if a.digest != b.digest
    }
    assert changed == {first_file}


def test_explanation_round_trip() -> None:
    flows = (
        Flow("~r0", "x", (Step("x", "spill", Position("a.go", 1, 2)), Step("y", "call parameter", None))),
        Flow("{heap}", "&y", ()),
    )
    text = explanation_to_json(flows)
    assert " " not in text.replace("call parameter", "")  # compact
    assert explanation_from_json(text) == flows
    assert explanation_to_json(()) == "[]"
    assert explanation_from_json("[]") == ()


# Every character class JSON escapes differently: quotes, backslashes, control characters, DEL,
# non-ASCII, the line separators JavaScript cares about, a character outside the BMP.
AWKWARD = '"q" \\ \x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f é \u2028\u2029 \ufeff \U0001f600 </script>'


def _reference_column(escape: Escape) -> str:
    """The explanation column as the store first wrote it (json module, no sharing)."""
    flows = [
        {
            "dst": f.dst,
            "src": f.src,
            "steps": [
                {
                    "where": s.where,
                    "why": s.why,
                    "at": None if s.at is None else [s.at.file, s.at.line, s.at.column],
                }
                for s in f.steps
            ],
        }
        for f in escape.explanation
    ]
    extras = {k: getattr(escape, k) for k in ("static", "origin", "origin_at", "generated", "appends")}
    extras = {k: v for k, v in extras.items() if v}
    return json.dumps(
        {"flows": flows, **extras} if extras else flows, ensure_ascii=False, separators=(",", ":")
    )


@pytest.mark.parametrize("extras", [{}, {"origin": AWKWARD, "generated": True, "appends": 2}])
def test_explanation_column_is_the_json_module_s_text(extras: dict[str, object]) -> None:
    # The digests hash this text: the fast writer must produce the json module's bytes exactly.
    step = Step(AWKWARD, "spill", Position(AWKWARD, 12, 0))
    shared = Flow(AWKWARD, "&y", (step, Step("y", AWKWARD, None), step))
    escapes = [
        replace(ESCAPE, explanation=(shared, Flow("{heap}", "x", ()), shared), **extras),  # type: ignore[arg-type]
        replace(ESCAPE, line=4, explanation=(shared,), line_text=AWKWARD),
        replace(ESCAPE, line=5, explanation=()),
    ]
    writer = ExplanationWriter()
    for escape in escapes:
        assert site_row(escape, writer)[-1] == _reference_column(escape)
        assert site_row(escape)[-1] == _reference_column(escape)


def test_file_digest_hashes_the_json_module_s_text() -> None:
    # msgspec encodes the digested rows: the digest must still be that of json.dumps's bytes.
    escape = replace(ESCAPE, function=AWKWARD, line_text=AWKWARD, explanation=(Flow(AWKWARD, "x", ()),))
    (package,) = split_escapes([escape])
    text = json.dumps([escape.file, [list(site_row(escape))]], ensure_ascii=False, separators=(",", ":"))
    expected = hashlib.sha256(b"escape-bot file-result v1\n" + text.encode()).hexdigest()
    assert package.files[0].digest == expected


def test_escape_row_round_trip_keeps_line_text() -> None:
    back = escape_from_row(ESCAPE.package, ESCAPE.file, site_row(ESCAPE))
    assert back == ESCAPE
    assert back.line_text == ESCAPE.line_text  # compare=False on the dataclass


def test_accuracy_fields_round_trip_in_the_explanation_column() -> None:
    marked = replace(
        ESCAPE,
        static="constant",
        origin="mk",
        origin_at="p/p.go:7",
        generated=True,
        appends=3,
    )
    row = site_row(marked)
    assert row[-1].startswith('{"flows":')
    back = escape_from_row(marked.package, marked.file, row)
    assert back == marked
    assert (back.static, back.origin, back.origin_at, back.generated, back.appends) == (
        "constant",
        "mk",
        "p/p.go:7",
        True,
        3,
    )
    assert site_row(ESCAPE)[-1].startswith("[")  # unmarked escapes keep the plain list


def test_a_reader_reads_what_was_written_and_shares_equal_flows() -> None:
    escapes = make_escapes(6, 30, seed=4)
    marked = [replace(e, static="constant", appends=2) if i % 7 == 0 else e for i, e in enumerate(escapes)]
    twice = [*marked, *marked]  # the same content in two records, as in two files or snapshots
    reader = ExplanationReader()
    back = [escape_from_row(e.package, e.file, site_row(e), reader=reader) for e in twice]
    assert back == twice
    assert [escape_from_row(e.package, e.file, site_row(e)) for e in twice] == twice
    shared = [(a, b) for a, b in zip(back[: len(marked)], back[len(marked) :], strict=True) if a.explanation]
    assert shared and all(a.explanation[0] is b.explanation[0] for a, b in shared)
    light = [escape_from_row(e.package, e.file, site_row(e), flows=False) for e in marked]
    assert light == [replace(e, explanation=()) for e in marked]


def test_canonical_order_is_what_split_escapes_stores() -> None:
    escapes = make_escapes(3, 30, seed=8)
    ordered = canonical_order(reversed(escapes))
    stored = [
        escape_from_row(p.package, f.file, row)
        for p in split_escapes(escapes)
        for f in p.files
        for row in f.rows
    ]
    assert list(ordered) == stored


def test_memo_gives_what_a_fresh_split_gives() -> None:
    base = make_escapes(6, 30, seed=5)
    changed = base[0].package
    # head: one package edited (new objects), the others the very objects of base
    head = [replace(e, line=e.line + 1) if e.package == changed else e for e in base]
    memo: PackageMemo = {}
    assert split_escapes(base, memo) == split_escapes(base)
    with_memo = split_escapes(head, memo)
    assert with_memo == split_escapes(head)
    assert with_memo[0].digest != split_escapes(base)[0].digest
    # equal values in new objects are content-hashed again, and give the same content
    copies = [replace(e) for e in head]
    assert split_escapes(copies, memo) == split_escapes(head)
    assert all(memo[p.package][1] is p for p in split_escapes(copies, memo))
