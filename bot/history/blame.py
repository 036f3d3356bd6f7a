"""Blame: for each escape of a commit, the first recorded commit that had it.

The walk goes backwards through the stored first-parent history, one pair of consecutive
snapshots at a time, following each escape with bot/diff.py's identity (line shifts, moved
functions, renamed files via git): an escape that has no partner in the previous snapshot
appeared in the later one. Every identity key includes the package, and package results are
content-addressed, so a step only looks at a followed package whose result changed between the
two commits; and within it only at the files whose result changed (`_step`): most steps compare
nothing and read no escape. Escapes are read by file result, each once, those the next steps
compare together: a few statements, in one transaction, whatever the length of the history.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import accumulate, pairwise

from bot.gc.model import Escape
from bot.history.identity import Unit, pair_units
from bot.history.model import HEAP_KINDS, Blame, BlameEntry
from bot.history.queries import Filters, Scope, history, selection, snapshot_at
from bot.store import Store
from bot.store import files as sf
from bot.store import queries as sq
from bot.store.queries import StoredSnapshot

Renames = Callable[[str, str], Mapping[str, str]]
"""(older sha, newer sha) -> files renamed between them, old path -> new path, as git reports them:
an old path is gone from the newer commit, a new path absent from the older one."""

_GLOB = frozenset("*?[")


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Which escapes to blame (all of the commit's, of the filters' kinds, when empty)."""

    file: str | None = None  # repository-relative; a trailing part of the path matches too
    line: int | None = None
    function: str | None = None  # exact, `Push` for `(*List).Push`, or a glob


def _file_matches(path: str, file: str) -> bool:
    return path == file or path.endswith("/" + file.lstrip("/"))


def _function_matches(function: str, name: str) -> bool:
    if _GLOB & set(name):
        return fnmatchcase(function, name)
    return function == name or function.endswith("." + name)


def _chosen(file: str, site: sf.Site, target: Target, filters: Filters) -> bool:
    """Whether an escape row of `file` is one to blame (kinds and causes are string enums: a row's
    strings compare equal to them)."""
    function, kind, cause, line, _ = site
    if kind not in filters.kinds:
        return False
    if filters.cause is not None and cause != filters.cause:
        return False
    if target.file is not None and not _file_matches(file, target.file):
        return False
    if target.line is not None and line != target.line:
        return False
    return target.function is None or _function_matches(function, target.function)


def _targeted(escape: Escape, target: Target, filters: Filters) -> bool:
    site = (escape.function, escape.kind, escape.cause, escape.line, escape.count)
    return _chosen(escape.file, site, target, filters)


Step = dict[str, tuple[int | None, int]]
"""The packages whose result changed at one step: import path -> (older result or None, newer)."""


def _steps(store: Store, chain: Sequence[StoredSnapshot]) -> tuple[dict[str, int], list[Step]]:
    """The package results of the chain's newest snapshot (import path -> id) and, for each snapshot,
    what changed since the one before it (the first: nothing)."""
    ids = sq.package_result_ids(store, [s.id for s in chain])
    counts = sq.package_counts(store, {p for ps in ids.values() for p in ps})
    names = {p: c.package for p, c in counts.items()}
    steps: list[Step] = [{}]
    for older, newer in pairwise(chain):
        before, after = ids[older.id], ids[newer.id]
        added = set(after).difference(before)
        gone = {names[g]: g for g in set(before).difference(after)} if added else {}
        steps.append({names[a]: (gone.get(names[a]), a) for a in added})
    return {names[p]: p for p in ids[chain[-1].id]}, steps


_AHEAD = 500  # file results read at once: one statement (bot.store.rows.chunks)


class _Results:
    """What the walk reads: the file lists of package results, and the escapes of file results,
    each read once (files are content-addressed: most stay the same over many commits)."""

    def __init__(self, store: Store, steps: Sequence[Step]) -> None:
        self.store = store
        self.steps = steps
        self.files: dict[int, tuple[sf.FileSpan, ...]] = {}
        self.escapes: dict[int, tuple[Escape, ...]] = {}
        self.sites: dict[int, tuple[sf.Site, ...]] = {}  # what choosing and `functions` need
        self._starts: dict[int, list[int]] = {}
        self._by_path: dict[int, dict[str, int]] = {}

    def read_files(self, ids: Iterable[int]) -> None:
        """Read the file lists of package results (one statement per 500)."""
        self.files.update(sf.package_files(self.store, {i for i in ids if i not in self.files}))

    def starts(self, result: int) -> list[int]:
        """Where each file's records start in the package result's records (last: their number)."""
        found = self._starts.get(result)
        if found is None:
            found = self._starts[result] = list(accumulate((f.sites for f in self.files[result]), initial=0))
        return found

    def file_ids(self, result: int) -> dict[str, int]:
        """A package result's files: path -> file result."""
        found = self._by_path.get(result)
        if found is None:
            found = self._by_path[result] = {f.file: f.file_result_id for f in self.files[result]}
        return found

    def file_of(self, result: int, index: int) -> int:
        """Which file of a package result holds its record `index` (a position in `files[result]`)."""
        return bisect_right(self.starts(result), index) - 1

    def records(self, result: int) -> dict[int, Escape]:
        """The records read of a package result, by index in its records."""
        out: dict[int, Escape] = {}
        for f, start in zip(self.files[result], self.starts(result), strict=False):
            found = self.escapes.get(f.file_result_id)
            if found is not None:
                out.update(enumerate(found, start))
        return out

    def read_sites(self, results: Iterable[int]) -> None:
        """Read the escape rows' `Site` fields of package results' files."""
        ids = {f.file_result_id for r in results for f in self.files[r]}
        self.sites.update(sf.file_sites(self.store, ids.difference(self.sites)))

    def functions(self, file_result: int) -> set[str]:
        """The functions with an escape in a file result."""
        found = self.escapes.get(file_result)
        if found is not None:
            return {e.function for e in found}
        return {site[0] for site in self.sites[file_result]}

    def _wanted(self, package: str, before: int, after: int, same: set[str]) -> dict[int, tuple[str, str]]:
        """The files a step reads: the changed ones whole, those of `same` paths for their functions
        (only when not read at all yet)."""
        wanted = {}
        for f in (*self.files[before], *self.files[after]):
            read = f.file_result_id in self.escapes or (f.file in same and f.file_result_id in self.sites)
            if not read:
                wanted[f.file_result_id] = (package, f.file)
        return wanted

    def read_ahead(
        self, i: int, package: str, before: int, after: int, same: set[str], followed: Followed
    ) -> None:
        """Read what step `i` compares with what the steps before it will likely compare: where a
        file followed now changes (a guess, which costs a statement when wrong, never a result).
        One statement rather than one per step."""
        missing = self._wanted(package, before, after, same)
        if not missing:
            return
        paths = {
            p: {self.files[result][self.file_of(result, index)].file for index, _ in units.values()}
            for p, (result, units) in followed.items()
        }
        at = {p: result for p, (result, _) in followed.items()}  # each package's result at step j
        for j in range(i, 0, -1):
            if len(missing) >= _AHEAD:
                break
            for p, (older, newer) in self.steps[j].items():
                if at.get(p) != newer:  # not followed, or already past step j
                    continue
                if older is None:
                    del at[p]
                    continue
                at[p] = older
                was, now = self.file_ids(older), self.file_ids(newer)
                if any(was.get(f) != now.get(f) for f in paths[p]):
                    unchanged = {f for f, id_ in now.items() if was.get(f) == id_}
                    missing.update(self._wanted(p, older, newer, unchanged))
        self.escapes.update(sf.file_escapes(self.store, missing))


Followed = Mapping[str, tuple[int, Mapping[Unit, Unit]]]
"""package -> (its result at the commit being looked at, (index of the escape at the newest commit,
unit) -> the same unit at that commit)."""


def _step(
    results: _Results,
    i: int,
    package: str,
    before: int,
    after: int,
    units: Mapping[Unit, Unit],
    renamed: Callable[[], Mapping[str, str]],
    followed: Followed,
) -> dict[Unit, Unit | None]:
    """Each followed unit of `package` at the older result (None: it has no partner there).

    A unit in a file whose records are the same in both results (one file result) pairs with its
    own copy: bot/diff.py's first two passes key on the file and pair equal keys in source order,
    so such a file has every unit paired with its copy before a later pass looks across files, and
    the later passes see these files only through the functions they hold (`same`, as `diff`
    leaves identical files out). No rename names such a file: it exists in both commits, and a
    rename's old path is gone from the newer one, its new path absent from the older one. Only the
    changed files are compared; when no followed unit lies in one, nothing is read, and `renamed`
    (git, with a clone) is not asked.
    """
    older, newer = results.files[before], results.files[after]
    was = results.file_ids(before)
    same = {n for n, f in enumerate(newer) if was.get(f.file) == f.file_result_id}
    older_starts, newer_starts = results.starts(before), results.starts(after)
    older_start = {f.file_result_id: s for f, s in zip(older, older_starts, strict=False)}
    where = {unit: results.file_of(after, index) for unit, (index, _) in units.items()}
    if all(n in same for n in where.values()):
        out: dict[Unit, Unit | None] = {}
        for unit, (index, k) in units.items():
            n = where[unit]
            out[unit] = (older_start[newer[n].file_result_id] + index - newer_starts[n], k)
        return out
    # the changed files alone, and where each of their records is in its package result
    moved = renamed()
    touched = {*moved, *moved.values()}  # none of `same`, unless a caller's renames name files kept
    same = {n for n in same if newer[n].file not in touched}
    kept = {f.file for n, f in enumerate(newer) if n in same}
    results.read_ahead(i, package, before, after, kept, followed)
    head: list[Escape] = []
    head_at: dict[int, int] = {}  # the file's first record in `head`, by position in `newer`
    for n, f in enumerate(newer):
        if n not in same:
            head_at[n] = len(head)
            head.extend(results.escapes[f.file_result_id])
    base: list[Escape] = []
    base_index: list[int] = []  # `base` position -> index in the older result's records
    for f, s in zip(older, older_starts, strict=False):
        if f.file not in kept:
            base.extend(results.escapes[f.file_result_id])
            base_index.extend(range(s, s + f.sites))
    shared = {(package, name) for n in same for name in results.functions(newer[n].file_result_id)}
    pairs = pair_units(base, head, moved, same_functions=shared)
    out = {}
    for unit, (index, k) in units.items():
        n = where[unit]
        if n in same:
            out[unit] = (older_start[newer[n].file_result_id] + index - newer_starts[n], k)
            continue
        paired = pairs.get((head_at[n] + index - newer_starts[n], k))
        out[unit] = None if paired is None else (base_index[paired[0]], paired[1])
    return out


def _once(renames: Renames, older: str, newer: str) -> Callable[[], Mapping[str, str]]:
    """`renames(older, newer)`, asked at most once and only when called (git runs, with a clone)."""
    found: list[Mapping[str, str]] = []

    def renamed() -> Mapping[str, str]:
        if not found:
            found.append(renames(older, newer))
        return found[0]

    return renamed


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
    with sq.one_read(store):
        return _blame(store, scope, target, renames, filters or Filters(kinds=HEAP_KINDS), sha)


def _blame(
    store: Store, scope: Scope, target: Target, renames: Renames, filters: Filters, sha: str | None
) -> Blame:
    found = history(store, scope)
    chain = list(found.ok)
    end = snapshot_at(found, sha)
    chain = chain[: next(i for i, s in enumerate(chain) if s.id == end.id) + 1]
    current, steps = _steps(store, chain)
    if filters.package is not None:
        current = {p: i for p, i in current.items() if fnmatchcase(p, filters.package)}
    results = _Results(store, steps)
    results.read_files(current.values())
    # which escapes to follow, from a light read of every row; the records of their files only
    results.read_sites(current.values())
    followed: dict[str, tuple[int, dict[Unit, Unit]]] = {}
    chosen: dict[int, tuple[str, str]] = {}
    for package, package_id in current.items():
        units: dict[Unit, Unit] = {}
        for f, start in zip(results.files[package_id], results.starts(package_id), strict=False):
            for n, site in enumerate(results.sites[f.file_result_id]):
                if _chosen(f.file, site, target, filters):
                    chosen[f.file_result_id] = (package, f.file)
                    units.update({(start + n, k): (start + n, k) for k in range(site[4])})
        if units:
            followed[package] = (package_id, units)
    results.escapes.update(sf.file_escapes(store, chosen))
    records = {package: results.records(package_id) for package, (package_id, _) in followed.items()}
    results.read_files(
        r for step in steps for p, pair in step.items() if p in followed for r in pair if r is not None
    )
    origin: dict[tuple[str, Unit], int] = {}
    for i in range(len(chain) - 1, 0, -1):
        if not followed:
            break
        step = steps[i]
        changed = [p for p in followed if p in step] if step else []
        if not changed:
            continue
        renamed = _once(renames, chain[i - 1].commit.sha, chain[i].commit.sha)
        for package in changed:
            before, after = step[package]
            units = followed[package][1]
            if before is None:  # the package did not exist (or had no escapes) before
                del followed[package]
                origin.update({(package, u): i for u in units})
                continue
            now = _step(results, i, package, before, after, units, renamed, followed)
            del followed[package]  # put back last, as the walk always did: the entries' order
            still = {}
            for unit, at in now.items():
                if at is None:
                    origin[(package, unit)] = i
                else:
                    still[unit] = at
            if still:
                followed[package] = (before, still)
    for package, (_, units) in followed.items():
        origin.update({(package, u): 0 for u in units})
    return Blame(selection(scope, found, filters), chain[-1].commit, _entries(chain, records, origin))


def _entries(
    chain: Sequence[StoredSnapshot],
    records: Mapping[str, Mapping[int, Escape]],
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
