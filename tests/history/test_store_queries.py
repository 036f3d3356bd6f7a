"""Trend and top on synthetic snapshots stored through the Store API: every reading path (the
aggregate tables, package results' counts, escape rows per distinct result) gives the counts a
plain Python count of the snapshots' escapes gives. Both backends, in-process."""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.gc.model import Cause, Escape, Snapshot, Toolchain
from bot.history.model import ALL_KINDS, GroupBy, TopBy
from bot.history.queries import Filters, Scope, top, trend
from bot.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from factories import REPOSITORY, edit_package, make_commit, make_escapes, sha_for, snapshot_of

OTHER = Toolchain("go1.22.1", "linux", "arm64", flags=("-trimpath",))


def _history() -> list[tuple[str, list[Escape]]]:
    rng = random.Random(7)
    escapes = make_escapes(5, 20, seed=3, files_per_package=3)
    commits = [(sha_for("q0"), escapes)]
    for i in range(1, 7):
        escapes = edit_package(escapes, rng.choice(sorted({e.package for e in escapes})), rng)
        if i == 4:  # a package disappears
            gone = sorted({e.package for e in escapes})[0]
            escapes = [e for e in escapes if e.package != gone]
        commits.append((sha_for(f"q{i}"), escapes))
    return commits


HISTORY = _history()


@pytest.fixture
def stored(empty_db: str) -> Iterator[Store]:
    with Store.open(empty_db) as store:
        parent: tuple[str, ...] = ()
        for i, (sha, escapes) in enumerate(HISTORY):
            commit = make_commit(sha, parents=parent, index=i)
            # the same commits under another toolchain, with other content: never mixed in; the
            # factories' toolchain is recorded last, so it is the newest commit's newest snapshot
            other = Snapshot(sha, sha, OTHER, tuple(replace(e, cause=Cause.UNKNOWN) for e in escapes[:5]))
            store.record_snapshot(REPOSITORY, commit, other)
            store.record_snapshot(REPOSITORY, commit, snapshot_of(escapes, sha))
            parent = (sha,)
        newest = HISTORY[-1][0]
        store.record_failure(
            REPOSITORY, make_commit(sha_for("broken"), parents=(newest,), index=50), OTHER, "x"
        )
    with Store.open(empty_db) as store:
        yield store


def _expected(escapes: list[Escape], by: GroupBy, filters: Filters) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for e in escapes:
        if e.kind not in filters.kinds or (filters.cause is not None and e.cause is not filters.cause):
            continue
        if filters.package is not None and not e.package.endswith(filters.package.lstrip("*")):
            continue
        key = e.package if by is GroupBy.PACKAGE else e.cause.value if by is GroupBy.CAUSE else e.kind.value
        counts[key] += 1  # sites, as the store counts them
    return dict(counts)


FILTERS = [
    Filters(),
    Filters(kinds=ALL_KINDS),
    Filters(kinds=ALL_KINDS, cause=Cause.RETURNED),
    Filters(package="*/pkg002"),
    Filters(kinds=ALL_KINDS, package="*/pkg003", cause=Cause.STORED_IN_HEAP),
]


@pytest.mark.parametrize("by", list(GroupBy))
@pytest.mark.parametrize("ordered", [True, False])
def test_trend_counts_match_the_escapes(stored: Store, by: GroupBy, ordered: bool) -> None:
    order = tuple(sha for sha, _ in HISTORY) if ordered else None
    scope = Scope(repository=REPOSITORY, branch="main", order=order)
    for filters in FILTERS:
        result = trend(stored, scope, filters, by=by)
        assert result.selection.toolchain_key != OTHER.key
        assert [p.commit.sha for p in result.points] == [sha for sha, _ in HISTORY]
        for point, (_, escapes) in zip(result.points, HISTORY, strict=True):
            assert dict(point.counts) == _expected(escapes, by, filters), (by, filters)


def test_other_toolchain_and_last(stored: Store) -> None:
    scope = Scope(repository=REPOSITORY, branch="main", toolchain_key=OTHER.key)
    result = trend(stored, scope, Filters(kinds=ALL_KINDS), last=2)
    assert [p.commit.sha for p in result.points] == [sha for sha, _ in HISTORY[-2:]]
    assert all(set(p.counts) == {"unknown"} for p in result.points)
    assert [c.sha for c in result.failed] == [sha_for("broken")]


@pytest.mark.parametrize("filters", FILTERS)
def test_top_matches_the_escapes(stored: Store, filters: Filters) -> None:
    scope = Scope(repository=REPOSITORY, branch="main")
    escapes = HISTORY[-1][1]
    for by, group in ((TopBy.PACKAGE, GroupBy.PACKAGE), (TopBy.CAUSE, GroupBy.CAUSE)):
        result = top(stored, scope, filters, by=by, limit=0)
        assert {e.name: e.count for e in result.entries} == _expected(escapes, group, filters)
    functions = top(stored, scope, filters, by=TopBy.FUNCTION, limit=3)
    wanted = Counter(
        (e.package, e.function)
        for e in escapes
        if e.kind in filters.kinds
        and (filters.cause is None or e.cause is filters.cause)
        and (filters.package is None or e.package.endswith(filters.package.lstrip("*")))
    )
    assert functions.total == sum(wanted.values())
    assert [e.count for e in functions.entries] == sorted(wanted.values(), reverse=True)[:3]
    assert functions.others == functions.total - sum(e.count for e in functions.entries)
    assert all(wanted[(e.package, e.name)] == e.count for e in functions.entries)
