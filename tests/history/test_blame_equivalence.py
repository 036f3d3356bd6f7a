"""Blame compares only the files that changed, and reads escapes by file result; it must give what
comparing whole packages at every step gives (the walk it replaced, kept here as the reference) on a
long history with edits, moved functions, renamed files and a package that disappears and comes
back. Both backends."""

from __future__ import annotations

import random
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bot.gc.model import Escape, Kind
from bot.history.blame import Renames, Target, _entries, _targeted, blame
from bot.history.identity import Unit, pair_units
from bot.history.model import ALL_KINDS, BlameEntry
from bot.history.queries import Filters, Scope, history
from bot.store import Store
from bot.store import queries as sq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from factories import edit_package, make_commit, make_escapes, sha_for, snapshot_of

REPOSITORY = "acme/equivalence"


def _reference(
    store: Store, scope: Scope, target: Target, renames: Renames, filters: Filters
) -> tuple[BlameEntry, ...]:
    """The walk before blame compared files: both whole package results at every step where a
    followed package's result changed."""
    chain = list(history(store, scope).ok)
    ids = sq.package_result_ids(store, [s.id for s in chain])
    names = sq.package_counts(store, {p for ps in ids.values() for p in ps})
    maps = [{names[p].package: p for p in ids[s.id]} for s in chain]
    current = maps[-1]
    escapes = sq.package_escapes(store, current.values(), flows=False)
    records = {package: escapes[i] for package, i in current.items()}
    followed: dict[str, dict[Unit, Unit]] = {}
    for package, found in records.items():
        units = {
            (i, k): (i, k)
            for i, e in enumerate(found)
            if _targeted(e, target, filters)
            for k in range(e.count)
        }
        if units:
            followed[package] = units
    origin: dict[tuple[str, Unit], int] = {}
    for i in range(len(chain) - 1, 0, -1):
        changed = [p for p in followed if maps[i - 1].get(p) != maps[i][p]]
        if not changed:
            continue
        moved = renames(chain[i - 1].commit.sha, chain[i].commit.sha)
        for package in changed:
            units = followed.pop(package)
            before = maps[i - 1].get(package)
            if before is None:
                origin.update({(package, u): i for u in units})
                continue
            read = sq.package_escapes(store, [before, maps[i][package]], flows=False)
            pairs = pair_units(read[before], read[maps[i][package]], moved)
            still = {}
            for unit, now in units.items():
                if now in pairs:
                    still[unit] = pairs[now]
                else:
                    origin[(package, unit)] = i
            if still:
                followed[package] = still
    for package, units in followed.items():
        origin.update({(package, u): 0 for u in units})
    return _entries(chain, {p: dict(enumerate(r)) for p, r in records.items()}, origin)


def _record(store: Store, commits: int) -> tuple[dict[tuple[str, str], dict[str, str]], list[Escape]]:
    """A history of `commits` commits; the renames of each step (older sha, newer sha) and the newest
    escapes."""
    rng = random.Random(18)
    escapes = make_escapes(5, 40, seed=7, files_per_package=4)
    packages = sorted({e.package for e in escapes})
    hidden: list[Escape] = []  # a package's escapes while it is gone
    renames: dict[tuple[str, str], dict[str, str]] = {}
    shas: list[str] = []
    for index in range(commits):
        moved: dict[str, str] = {}
        roll = rng.random()
        present = sorted({e.package for e in escapes})
        package = rng.choice(present)
        files = sorted({e.file for e in escapes if e.package == package})
        if index == 0:
            pass
        elif roll < 0.55:
            escapes = edit_package(escapes, package, rng)
        elif roll < 0.7 and len(files) > 1:  # a function moved to another file of its package
            function = rng.choice(sorted({e.function for e in escapes if e.package == package}))
            into = rng.choice(files)
            escapes = [
                replace(e, file=into) if e.package == package and e.function == function else e
                for e in escapes
            ]
        elif roll < 0.82:  # a file renamed, as git says
            old = rng.choice(files)
            new = old.replace(".go", f"_r{index}.go")
            escapes = [replace(e, file=new) if e.file == old else e for e in escapes]
            moved[old] = new
        elif roll < 0.95 and not hidden and len(present) > 2:  # a package gone
            hidden = [e for e in escapes if e.package == package]
            escapes = [e for e in escapes if e.package != package]
        elif hidden:  # and back
            escapes = escapes + hidden
            hidden = []
        escapes.sort(key=lambda e: (e.package, e.file, e.line, e.column, e.kind, e.expression))
        sha = sha_for(f"equivalence-{index}")
        store.record_snapshot(
            REPOSITORY, make_commit(sha, parents=shas[-1:], index=index), snapshot_of(escapes, sha)
        )
        if shas:
            renames[(shas[-1], sha)] = moved
        shas.append(sha)
    assert packages  # the history starts with every package
    return renames, escapes


def test_blame_gives_what_comparing_whole_packages_gives(empty_db: str) -> None:
    with Store.open(empty_db) as store:
        steps, newest = _record(store, 160)

        def renames(older: str, newer: str) -> Mapping[str, str]:
            return steps[(older, newer)]

        scope = Scope(repository=REPOSITORY, branch="main")
        functions = sorted({e.function for e in newest if e.kind is Kind.MOVED_TO_HEAP})
        cases = [
            (Target(), Filters()),
            (Target(), Filters(kinds=ALL_KINDS)),
            (Target(function=functions[0]), Filters()),
            (Target(function="New*"), Filters(kinds=ALL_KINDS)),
            (Target(file=newest[0].file), Filters(kinds=ALL_KINDS)),
            (Target(), Filters(package=f"{newest[-1].package[:-1]}*")),
        ]
        for target, filters in cases:
            expected = _reference(store, scope, target, renames, filters)
            assert expected, (target, filters)
            assert blame(store, scope, target, renames, filters).entries == expected, (target, filters)
        everything = _reference(store, scope, Target(), renames, Filters(kinds=ALL_KINDS))
        origins = {e.origin.sha for e in everything}
        assert len(origins) > 10  # escapes came with many commits: the walk compared, not just shifted


def test_renames_are_asked_only_by_the_steps_that_compare(sqlite_db: str) -> None:
    """git runs once per pair of commits compared (with a clone): not for the steps where the
    followed escapes' file stayed the same."""
    escapes = make_escapes(1, 12, seed=3, files_per_package=2)
    first, second = sorted({e.file for e in escapes})
    followed = next(e.function for e in escapes if e.file == first and e.kind.allocates)
    shas: list[str] = []
    with Store.open(sqlite_db) as store:
        for index in range(12):  # the second file edited 10 times, then the first once
            edited = second if 0 < index < 11 else first
            if index:
                escapes = [replace(e, line=e.line + 1) if e.file == edited else e for e in escapes]
            sha = sha_for(f"asked-{index}")
            commit = make_commit(sha, parents=shas[-1:], index=index)
            store.record_snapshot(REPOSITORY, commit, snapshot_of(escapes, sha))
            shas.append(sha)
        asked: list[tuple[str, str]] = []

        def renames(older: str, newer: str) -> Mapping[str, str]:
            asked.append((older, newer))
            return {}

        scope = Scope(repository=REPOSITORY, branch="main")
        wanted = Target(function=followed)
        result = blame(store, scope, wanted, renames)
        assert asked == [(shas[10], shas[11])]
        asked.clear()
        assert result.entries == _reference(store, scope, wanted, renames, Filters())
        assert len(asked) == 11  # the walk before asked at every step
        assert {e.origin.sha for e in result.entries} == {shas[0]}
