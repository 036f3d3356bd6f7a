"""Every field of every record, explanations included, against stored golden data.

tests/data/golden/full/*.json were written by the parser before its speed work
(issue #18) and reviewed against the logs; the optimised parser must give the same records,
from the text log and from `go build -json` events alike (regenerate with ESCAPE_BOT_REGOLD=1
only for a deliberate change, and review the diff).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bot.gc.model import Escape
from bot.gc.parse import module_file_mapper, parse_log

GOLDEN = Path(__file__).parent / "data" / "golden"
CORPUS = GOLDEN.parent / "corpus"
MAPPER = module_file_mapper({"example.com/corpus": "tests/data/corpus"})


def _source(printed: str) -> str | None:
    path = CORPUS.parents[2] / MAPPER(printed)
    return path.read_text() if path.exists() else None


def _full(records: list[Escape]) -> list[Any]:
    """Each record as plain data: every field, line text and the explanation's steps included."""
    rows = []
    for e in records:
        row = dataclasses.asdict(e)
        row["kind"], row["cause"] = e.kind.value, e.cause.value
        row["line_text"] = e.line_text  # not compared by Escape's __eq__: compared here
        rows.append(row)
    return json.loads(json.dumps(rows))  # tuples -> lists, as stored


def _parse(name: str, sources: bool) -> list[Any]:
    with open(GOLDEN / name, encoding="utf-8") as f:
        records, stats = parse_log(f, files=MAPPER, sources=_source if sources else None)
    assert stats.unknown_lines == 0
    return _full(records)


CASES = [
    ("go1.27.3", ".log", True),
    ("go1.27.3", ".jsonl", True),
    ("go1.27.3", ".log", False),
    ("go1.25.5", ".log", True),
    ("go1.25.5", ".jsonl", True),
    ("go1.24.11", ".log", True),
    ("go1.24.11", ".jsonl", True),
    ("go1.22.10", ".log", True),
    ("go1.22.10", ".log", False),
    ("go1.27.3-test", ".log", True),
]


@pytest.mark.parametrize(("log", "suffix", "sources"), CASES)
def test_every_field_matches_the_golden_records(log: str, suffix: str, sources: bool) -> None:
    expected = GOLDEN / "full" / f"{log}{'' if sources else '-nosrc'}.json"
    rows = _parse(log + suffix, sources)
    if os.environ.get("ESCAPE_BOT_REGOLD") and suffix == ".log":
        expected.write_text(json.dumps(rows, indent=0, ensure_ascii=False) + "\n")
    golden = json.loads(expected.read_text())
    assert len(golden) >= 5
    assert sum(len(r["explanation"]) for r in golden) >= 5  # explanations are compared too
    assert rows == golden
