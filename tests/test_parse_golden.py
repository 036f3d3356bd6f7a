"""Golden tests on captured compiler logs of Go 1.21, 1.22, 1.24, 1.25 and 1.27.

The logs in tests/data/golden/ are real `go build -trimpath -gcflags=-m=2` output for the corpus
module in tests/data/corpus/ (see the README there). Each corpus function carries a comment
`// Name: cause <id>` naming the cause its escape must get; the expected records per version
are in tests/data/golden/expected/ (regenerate with ESCAPE_BOT_REGOLD=1 and review the diff).
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path

import pytest

from bot.gc.model import Escape
from bot.gc.parse import module_file_mapper, parse_log

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"
GOLDEN = DATA / "golden"
VERSIONS = ["go1.21.13", "go1.22.10", "go1.24.11", "go1.25.5", "go1.27.3"]
JSON_VERSIONS = ["go1.24.11", "go1.25.5", "go1.27.3"]
MAPPER = module_file_mapper({"example.com/corpus": "tests/data/corpus"})


def _source(printed: str) -> str | None:
    path = CORPUS.parents[2] / MAPPER(printed)
    return path.read_text() if path.exists() else None


def _parse(name: str, sources: bool = True) -> tuple[list[Escape], int]:
    with open(GOLDEN / name, encoding="utf-8") as f:
        records, stats = parse_log(f, files=MAPPER, sources=_source if sources else None)
    return records, stats.unknown_lines


def _rows(records: list[Escape]) -> list[list[object]]:
    return [
        [
            *(e.package, e.file, e.line, e.column, e.function, e.kind.value, e.expression, e.cause.value),
            *(e.count, e.origin, e.origin_at, bool(e.static), e.generated, e.appends),
        ]
        for e in records
    ]


def _expected_causes() -> dict[str, str]:
    """`// Name: cause <id>` comments of the corpus: function -> cause id."""
    found: dict[str, str] = {}
    for path in CORPUS.rglob("*.go"):
        for m in re.finditer(r"^// ([\w.()*]+): cause ([a-z-]+)", path.read_text(), re.MULTILINE):
            found[m.group(1)] = m.group(2)
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_golden_records(version: str) -> None:
    records, unknown = _parse(f"{version}.log")
    assert unknown == 0
    expected_file = GOLDEN / "expected" / f"{version}.json"
    rows = _rows(records)
    if os.environ.get("ESCAPE_BOT_REGOLD"):
        expected_file.parent.mkdir(exist_ok=True)
        expected_file.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    assert rows == json.loads(expected_file.read_text())


@pytest.mark.parametrize("version", VERSIONS)
def test_corpus_functions_get_their_cause(version: str) -> None:
    records, _ = _parse(f"{version}.log")
    causes: dict[str, set[str]] = defaultdict(set)
    for e in records:
        # closures count for their function; methods by name (`(*List).Push` -> `Push`)
        name = e.function.split(".func")[0].rsplit(").", 1)[-1]
        causes[name].add(e.cause.value)
    expected = _expected_causes()
    assert len(expected) > 30
    checked = 0
    for function, cause in expected.items():
        if function in causes:  # some functions do not escape on every version (sizes)
            assert cause in causes[function], (function, causes[function])
            checked += 1
    # not every function escapes on every version (sizes, devirtualization); inlined copies
    # are reported in their callers with their origin
    assert checked >= len(expected) * 0.75
    assert sum(e.count for e in records if e.kind.allocates and e.cause.value == "unknown") == 0


@pytest.mark.parametrize("version", JSON_VERSIONS)
def test_json_framing_reads_the_same(version: str) -> None:
    text, _ = _parse(f"{version}.log")
    framed, unknown = _parse(f"{version}.jsonl")
    assert unknown == 0
    assert _rows(framed) == _rows(text)


def test_generated_file_and_functions_from_source_on_old_versions() -> None:
    new, _ = _parse("go1.27.3.log")
    old, _ = _parse("go1.22.10.log")
    # a `// Code generated ... DO NOT EDIT.` file is kept and marked, never gated by default
    assert {e.generated for e in new + old if e.file.endswith("generated.go")} == {True}
    assert not any(e.generated for e in new + old if not e.file.endswith("generated.go"))

    def sites(records: list[Escape]) -> set[tuple[str, str]]:
        return {(e.function, e.expression) for e in records if e.package.endswith("/basic")}

    # Go 1.22 does not name functions; the source locator must agree with 1.27's names
    common = sites(new) & sites(old)
    assert len(common) >= 20
    # DevirtualizedCall escapes only before Go 1.27 (devirtualization)
    assert {f for f, _ in sites(old)} - {f for f, _ in sites(new)} == {"DevirtualizedCall"}


def test_without_sources_old_versions_fall_back_to_declarations() -> None:
    records, unknown = _parse("go1.22.10.log", sources=False)
    assert unknown == 0
    functions = {e.function for e in records if e.package.endswith("/basic")}
    assert "ReturnsPointer" in functions and "?" not in functions


def test_test_and_tags_logs() -> None:
    records, unknown = _parse("go1.27.3-test.log")
    assert unknown == 0
    assert any(e.file.endswith("_test.go") for e in records)
    tagged, unknown = _parse("go1.27.3-tags.log")
    assert unknown == 0
    assert any(e.file.endswith("tagged_special.go") for e in tagged)
    plain, _ = _parse("go1.27.3.log")
    assert not any(e.file.endswith("tagged_special.go") for e in plain)
