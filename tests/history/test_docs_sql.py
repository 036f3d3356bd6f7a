"""The SQL of docs/queries.md runs as documented on SQLite and PostgreSQL, and answers right.

Each ```sql block starts with a `-- name` comment; the placeholders the page tells readers to
replace (toolchain key, package) are replaced with the scripted history's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.store.db import make_engine

from . import scripted
from .conftest import NAME, Backfilled

DOC = Path(__file__).resolve().parents[2] / "docs" / "queries.md"
DOC_KEY = "go1.24.2/linux/amd64/tags=/flags=-trimpath -gcflags=-m=2/records=2"
DOC_PACKAGE = "example.com/acme/service/internal/api"


def documented_queries() -> dict[str, str]:
    """name -> SQL of every ```sql block of the page."""
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    queries = {}
    for block in blocks:
        first, _, _ = block.partition("\n")
        assert first.startswith("-- "), f"a documented query needs a `-- name` first line: {block[:60]}"
        queries[first[3:].strip()] = block
    return queries


def _heap_totals() -> list[int]:
    return [sum(scripted.BY_CAUSE[c].values()) for c in scripted.BUILT]


def _check_causes(rows: list[Any], h: scripted.Scripted) -> None:
    per_time: dict[Any, dict[str, int]] = {}
    for time, metric, escapes in rows:
        per_time.setdefault(time, {})[metric] = escapes
    assert list(per_time.values()) == [scripted.BY_CAUSE[c] for c in scripted.BUILT]


def _check_totals(rows: list[Any], h: scripted.Scripted) -> None:
    assert [r.sha for r in rows] == [h.shas[c] for c in scripted.BUILT]
    assert [r.escapes for r in rows] == _heap_totals()
    totals = _heap_totals()
    assert [r.change for r in rows] == [None] + [b - a for a, b in pairwise(totals)]


def _check_package(rows: list[Any], h: scripted.Scripted) -> None:
    assert [r.escapes for r in rows] == [
        scripted.BY_PACKAGE[c][f"{scripted.MODULE}/a"] for c in scripted.BUILT
    ]


def _check_packages_now(rows: list[Any], h: scripted.Scripted) -> None:
    # every kind: b also has Keep's leaking parameter
    assert [tuple(r) for r in rows] == [(f"{scripted.MODULE}/a", 4), (f"{scripted.MODULE}/b", 3)]


def _check_functions(rows: list[Any], h: scripted.Scripted) -> None:
    assert tuple(rows[0]) == (f"{scripted.MODULE}/a", "Count", 2)
    assert sorted(r.function for r in rows) == ["Big", "Count", "New", "Ret", "Send"]


def _check_repositories(rows: list[Any], h: scripted.Scripted) -> None:
    assert [(r.repository, r.sha, r.heap_escapes) for r in rows] == [(NAME, h.shas["M"], 6)]


def _check_failed(rows: list[Any], h: scripted.Scripted) -> None:
    assert [r.sha for r in rows] == [h.shas["c5"]]
    assert "syntax error" in rows[0].error


CHECKS: dict[str, Callable[[list[Any], scripted.Scripted], None]] = {
    "escapes per cause": _check_causes,
    "total per commit": _check_totals,
    "one package": _check_package,
    "packages now": _check_packages_now,
    "functions now": _check_functions,
    "repositories": _check_repositories,
    "failed builds": _check_failed,
}


def test_every_documented_query_is_checked() -> None:
    assert set(documented_queries()) == set(CHECKS)


def test_documented_sql_runs(backfilled: Backfilled, history: scripted.Scripted, toolchain_key: str) -> None:
    engine = make_engine(backfilled.url)
    try:
        with engine.connect() as connection:
            for name, sql in documented_queries().items():
                assert DOC_KEY in sql or "toolchain_key =" not in sql, name
                runnable = sql.replace(DOC_KEY, toolchain_key).replace(DOC_PACKAGE, f"{scripted.MODULE}/a")
                rows = list(connection.execute(text(runnable)))
                CHECKS[name](rows, history)
    finally:
        engine.dispose()
