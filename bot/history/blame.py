"""Blame: for each escape of a commit, the first recorded commit that had it.

The walk goes backwards through the stored first-parent history, one pair of consecutive
snapshots at a time, following each escape with bot/diff.py's identity (line shifts, moved
functions, renamed files via git): an escape that has no partner in the previous snapshot
appeared in the later one. Every identity key includes the package, and package results are
content-addressed, so a step only compares the escapes of a followed package whose result changed
between the two commits; most steps compare nothing. The results that the next steps compare are
read together, in a few statements whatever the length of the history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.gc.model import Escape
from bot.history.identity import Unit, pair_units
from bot.history.model import HEAP_KINDS, Blame, BlameEntry
from bot.history.queries import Filters, Scope, history, selection, snapshot_at
from bot.store import Store
from bot.store import queries as sq
from bot.store.queries import StoredSnapshot

Renames = Callable[[str, str], Mapping[str, str]]
"""(older sha, newer sha) -> files renamed between them, old path -> new path."""

_GLOB = frozenset("*?[")


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Which escapes to blame (all of the commit's, of the filters' kinds, when empty)."""

    file: str | None = None  # repository-relative; a trailing part of the path matches too
    line: int | None = None
    function: str | None = None  # exact, `Push` for `(*List).Push`, or a glob


def _file_matches(escape: Escape, file: str) -> bool:
    return escape.file == file or escape.file.endswith("/" + file.lstrip("/"))


def _function_matches(escape: Escape, name: str) -> bool:
    if _GLOB & set(name):
        return fnmatchcase(escape.function, name)
    return escape.function == name or escape.function.endswith("." + name)


def _targeted(escape: Escape, target: Target, filters: Filters) -> bool:
    if escape.kind not in filters.kinds:
        return False
    if filters.cause is not None and escape.cause is not filters.cause:
        return False
    if target.file is not None and not _file_matches(escape, target.file):
        return False
    if target.line is not None and escape.line != target.line:
        return False
    return target.function is None or _function_matches(escape, target.function)


def _package_maps(store: Store, chain: Sequence[StoredSnapshot]) -> list[dict[str, int]]:
    """For each snapshot of the chain: import path -> package result id."""
    ids = sq.package_result_ids(store, [s.id for s in chain])
    names = sq.package_counts(store, {p for ps in ids.values() for p in ps})
    return [{names[p].package: p for p in ids[s.id]} for s in chain]


_AHEAD = 500  # package results read at once: one statement (bot.store.rows.chunks)


def _ahead(
    maps: Sequence[Mapping[str, int]], i: int, followed: Mapping[str, object], cache: Mapping[int, object]
) -> list[int]:
    """The package results that the steps from `i` back compare for the packages still followed and
    that are not read yet, about one statement's worth: read together rather than one statement per
    step (a query per stored commit made blame slow on long histories)."""
    wanted: dict[int, None] = {}
    for j in range(i, 0, -1):
        for package in followed:
            for id_ in (maps[j - 1].get(package), maps[j].get(package)):
                if id_ is not None and id_ not in cache:
                    wanted[id_] = None
        if len(wanted) >= _AHEAD:
            break
    return list(wanted)


def blame(
    store: Store,
    scope: Scope,
    target: Target,
    renames: Renames,
    filters: Filters | None = None,
    *,
    sha: str | None = None,
) -> Blame:
    """The first recorded commit of each targeted escape of `sha` (default: the newest stored)."""
    filters = filters or Filters(kinds=HEAP_KINDS)
    found = history(store, scope)
    chain = list(found.ok)
    end = snapshot_at(found, sha)
    chain = chain[: next(i for i, s in enumerate(chain) if s.id == end.id) + 1]
    maps = _package_maps(store, chain)
    current = maps[-1]
    if filters.package is not None:
        current = {p: i for p, i in current.items() if fnmatchcase(p, filters.package)}
    # blame reads no explanation: the records are decoded without their flows
    escapes = sq.package_escapes(store, current.values(), flows=False)
    # followed: package -> (index of the escape at the newest commit, unit) -> the same unit
    # at the commit being looked at
    followed: dict[str, dict[Unit, Unit]] = {}
    records: dict[str, tuple[Escape, ...]] = {}
    for package, package_id in current.items():
        records[package] = escapes[package_id]
        units = {
            (i, k): (i, k)
            for i, e in enumerate(escapes[package_id])
            if _targeted(e, target, filters)
            for k in range(e.count)
        }
        if units:
            followed[package] = units
    origin: dict[tuple[str, Unit], int] = {}
    cache: dict[int, tuple[Escape, ...]] = dict(escapes)
    for i in range(len(chain) - 1, 0, -1):
        if not followed:
            break
        changed = [p for p in followed if maps[i - 1].get(p) != maps[i][p]]
        if not changed:
            continue
        if any(maps[i - 1][p] not in cache for p in changed if p in maps[i - 1]):
            cache.update(sq.package_escapes(store, _ahead(maps, i, followed, cache), flows=False))
        moved = renames(chain[i - 1].commit.sha, chain[i].commit.sha)
        for package in changed:
            units = followed.pop(package)
            before = maps[i - 1].get(package)
            if before is None:  # the package did not exist (or had no escapes) before
                origin.update({(package, u): i for u in units})
                continue
            pairs = pair_units(cache[before], cache[maps[i][package]], moved)
            still = {}
            for unit, now in units.items():
                if now in pairs:
                    still[unit] = pairs[now]
                else:
                    origin[(package, unit)] = i
            if still:
                followed[package] = still
        for package in changed:  # older steps compare older results (read again if one returns)
            cache.pop(maps[i][package], None)
    for package, units in followed.items():
        origin.update({(package, u): 0 for u in units})
    return Blame(selection(scope, found, filters), chain[-1].commit, _entries(chain, records, origin))


def _entries(
    chain: Sequence[StoredSnapshot],
    records: Mapping[str, tuple[Escape, ...]],
    origin: Mapping[tuple[str, Unit], int],
) -> tuple[BlameEntry, ...]:
    grouped: dict[tuple[str, int, int], int] = defaultdict(int)
    for (package, (index, _unit)), at in origin.items():
        grouped[(package, index, at)] += 1
    entries = []
    for (package, index, at), units in grouped.items():
        commit = chain[at].commit
        previous = chain[at - 1].commit if at > 0 else None
        # exact: the commit before it in the history was recorded, or it is a root commit
        exact = commit.parents[:1] == (previous.sha,) if previous is not None else not commit.parents
        entries.append(BlameEntry(records[package][index], units, commit, previous, exact))
    entries.sort(
        key=lambda e: (
            e.escape.file,
            e.escape.line,
            e.escape.column,
            e.escape.expression,
            e.origin.committed_at,
        )
    )
    return tuple(entries)
