"""Blame reads what it compares in a few statements, however long the stored history (it issued one
per stored commit whose followed packages changed). Both backends, in-process; statements are
counted with SQLAlchemy's `before_cursor_execute` event on the store's own engine."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.history.blame import Target, blame
from bot.history.queries import Scope
from bot.store import Store
from bot.store.queries import _engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from factories import REPOSITORY, edit_package, make_commit, make_escapes, sha_for, snapshot_of


def _record(store: Store, repository: str, commits: int) -> str:
    """`commits` commits each editing one of 4 packages; a function of the newest to blame."""
    rng = random.Random(5)
    escapes = make_escapes(4, 30, seed=2, files_per_package=2)
    packages = sorted({e.package for e in escapes})
    parents: list[str] = []
    for index in range(commits):
        if index:
            escapes = edit_package(escapes, rng.choice(packages), rng)
        sha = sha_for(f"blame-{commits}-{index}")
        store.record_snapshot(
            repository, make_commit(sha, parents=parents[-1:], index=index), snapshot_of(escapes, sha)
        )
        parents.append(sha)
    return next(e.function for e in escapes if e.kind.allocates and e.package == packages[0])


def _blame(store: Store, repository: str, target: Target) -> tuple[int, Any]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(_engine(store), "before_cursor_execute", count)
    try:
        result = blame(store, Scope(repository=repository, branch="main"), target, lambda a, b: {})
    finally:
        event.remove(_engine(store), "before_cursor_execute", count)
    return len(statements), result


def test_blame_statements_do_not_grow_with_the_history(empty_db: str) -> None:
    counts: dict[str, list[int]] = {"function": [], "all": []}
    origins = set()
    with Store.open(empty_db) as store:
        for commits in (12, 80):
            repository = f"{REPOSITORY}-{commits}"
            function = _record(store, repository, commits)
            for label, target in (("function", Target(function=function)), ("all", Target())):
                statements, result = _blame(store, repository, target)
                assert result.entries
                counts[label].append(statements)
            origins = {e.origin.sha for e in result.entries}
    assert len(origins) > 10  # escapes came with many of the 80 commits: the walk compared them
    for label, (short, long) in counts.items():
        assert long <= short + 1, (label, counts)  # not one more statement per stored commit
