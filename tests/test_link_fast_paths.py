"""The parser's fast paths give what the plain ones give: records built by `fast_frozen_init`'s
`__init__` and `replace`, and `declared` against the regular expressions' `findall`."""

from __future__ import annotations

import dataclasses
import pickle
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gc.lines import (
    CONST_BLOCK,
    CONST_LINE,
    SPEC_NAME,
    STRUCT_LINE,
    STRUCT_SPEC,
    TYPE_BLOCK,
    Block,
    parse_pos,
)
from bot.gc.model import Cause, Escape, Flow, Kind, Position, Step, replace
from bot.gc.parse import LogParser
from bot.gc.sourcefacts import declared

FLOW = Flow("{heap}", "x", (Step("x", "spill", Position("p/x.go", 3, 4)),))


def _escape(**changes: object) -> Escape:
    base: dict[str, object] = dict(
        package="p", file="p/x.go", line=3, column=4, function="F", kind=Kind.ESCAPES_TO_HEAP,
        expression="x", message="x escapes to heap", cause=Cause.STORED_IN_HEAP, explanation=(FLOW,),
    )  # fmt: skip
    return Escape(**{**base, **changes})  # type: ignore[arg-type]


def _plain(**values: object) -> Escape:
    """An Escape built as `dataclasses` builds a frozen record: field by field."""
    e = object.__new__(Escape)
    for f in dataclasses.fields(Escape):
        object.__setattr__(e, f.name, values.get(f.name, f.default))
    return e


def test_a_fast_built_record_is_the_record_dataclasses_builds() -> None:
    e = _escape(count=2, origin="mk", generated=True)
    plain = _plain(**{f.name: getattr(e, f.name) for f in dataclasses.fields(Escape)})
    assert type(e) is Escape and e == plain and hash(e) == hash(plain) and repr(e) == repr(plain)
    assert pickle.dumps(e) == pickle.dumps(plain) and pickle.loads(pickle.dumps(e)) == e
    assert e.count == 2 and e.static == "" and e.appends == 0  # defaults
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.line = 5  # type: ignore[misc]


def test_replace_is_dataclasses_replace() -> None:
    e = _escape()
    every: list[dict[str, object]] = [
        {},
        {"count": 3},
        {"origin": "mk", "origin_at": "p/y.go:7"},
        {"expression": "a"},
    ]
    for changes in every:
        assert repr(replace(e, **changes)) == repr(dataclasses.replace(e, **changes))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        replace(e, nonsense=1)
    assert replace(FLOW, src="y") == dataclasses.replace(FLOW, src="y")  # any other dataclass


def _findall(
    text: str, single: re.Pattern[str], block: re.Pattern[str], spec: re.Pattern[str]
) -> frozenset[str]:
    names = set(single.findall(text))
    for found in block.findall(text):
        names.update(spec.findall(found))
    return frozenset(names)


_PIECES = ["const", "type", " ", "\t", "\n", "(", ")", "a", "B1", "struct", "{", "}", "=", "x", "\r", "//"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_declared_is_findall(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert declared(text, "const", CONST_LINE, CONST_BLOCK, SPEC_NAME) == _findall(
        text, CONST_LINE, CONST_BLOCK, SPEC_NAME
    )
    assert declared(text, "type", STRUCT_LINE, TYPE_BLOCK, STRUCT_SPEC) == _findall(
        text, STRUCT_LINE, TYPE_BLOCK, STRUCT_SPEC
    )


def test_declared_blocks_hide_their_lines() -> None:
    text = "const x = 1\nconst (\n  a = 1\n  const (\n b\n)\n c\n)\n\tconst\ty int\ntype (\n T struct{}\n)\n"
    assert declared(text, "const", CONST_LINE, CONST_BLOCK, SPEC_NAME) == {"x", "a", "const", "b", "y"}
    assert declared(text, "type", STRUCT_LINE, TYPE_BLOCK, STRUCT_SPEC) == {"T"}


def _nearest_declared_above(block: Block, file: str, line: int, column: int) -> str:
    """The nearest function declared above a position, by a walk over every declaration."""
    best: tuple[int, int, str] | None = None
    for pos, name in block.decls:
        parsed = parse_pos(pos)
        if parsed is None or parsed[0] != file:
            continue
        decl = (parsed[1], parsed[2], name)
        if (decl[0], decl[1]) <= (line, column or 10**6) and (best is None or decl > best):
            best = decl
    return best[2] if best else "?"


def test_the_function_without_sources_is_the_nearest_declared_above() -> None:
    rng = random.Random(7)
    for _ in range(200):
        parser, block = LogParser(), Block("p")
        for _ in range(rng.randint(0, 30)):
            at = f":{rng.randint(1, 5)}" if rng.random() < 0.8 else ""
            block.decls.append(
                (f"{rng.choice('ab')}.go:{rng.randint(1, 20)}{at}", rng.choice(["F", "G", "T.M"]))
            )
        block.decls.append(("not a position", "X"))
        for _ in range(30):
            file, line, column = rng.choice("abc") + ".go", rng.randint(0, 22), rng.choice([0, 1, 3, 6])
            found = parser._function_from_source(block, file, line, column)
            assert found == _nearest_declared_above(block, file, line, column)
