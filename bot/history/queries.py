"""Trend and top over the store (the store is passed in; everything else is plain data).

Which snapshots: the commits of a `Scope` (git's first-parent history, or without a clone the
commits recorded on the branch, by time), one toolchain key (by default that of the newest
snapshot: a trend across Go versions or build tags would mix results that are not comparable).
Sharded history (`--shard K/N`: one key per shard) is read whole by trend and top: the N keys of
the family combined, a commit counted once all N shards are stored (bot/history/shards.py).

How counts are read (docs/queries.md, "What reads what"):
- by cause or kind: `snapshot_cause_count` only;
- by package: each snapshot's package list and `package_result.escape_count`, when every kind is
  counted and no cause is asked for;
- anything else that crosses packages with causes or kinds (the default heap kinds by package,
  `--package` with `--by cause`): escape rows, grouped once per distinct package result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fnmatch import fnmatchcase

from bot.errors import NotStoredError
from bot.gc.model import Cause, Kind
from bot.history.model import (
    HEAP_KINDS,
    FailedCommit,
    GroupBy,
    Ordering,
    Selection,
    Top,
    TopBy,
    TopEntry,
    Trend,
    TrendPoint,
    order_groups,
)
from bot.history.shards import ShardKey, missing_text, shard_key
from bot.store import Store
from bot.store import queries as sq
from bot.store.queries import StoredSnapshot
from bot.wording import plural


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Which commits a query reads."""

    repository: str
    branch: str | None
    order: tuple[str, ...] | None = None  # first-parent shas, oldest first; None: by `branch` and time
    toolchain_key: str | None = None  # None: the key of the newest snapshot


@dataclass(frozen=True, slots=True)
class History:
    """A scope's snapshots of one toolchain key, oldest first (ok and failed interleaved)."""

    toolchain_key: str
    ordering: Ordering
    snapshots: tuple[StoredSnapshot, ...]
    shards: int | None = None  # N: each snapshot stands for the N shards of its commit
    members: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # its shards' snapshot ids

    def ids(self, s: StoredSnapshot) -> tuple[int, ...]:
        """The stored snapshots `s` stands for: itself, or its commit's N shards."""
        return self.members.get(s.id, (s.id,))

    @property
    def ok(self) -> tuple[StoredSnapshot, ...]:
        """The snapshots with results."""
        return tuple(s for s in self.snapshots if s.ok)

    @property
    def newest_failed(self) -> tuple[FailedCommit, ...]:
        """The failed snapshots after the newest one with results, newest first: history that
        stops early must say so before any figure."""
        out: list[FailedCommit] = []
        for s in reversed(self.snapshots):
            if s.ok:
                break
            if s.commit.sha not in {f.commit.sha for f in out}:
                out.append(failed_commit(s))
        return tuple(out)


def failed_commit(s: StoredSnapshot) -> FailedCommit:
    """A failed snapshot's commit and the first line of its recorded error, without the
    revision the message starts with (the commit is shown next to it)."""
    first = next((line.strip() for line in (s.error or "").splitlines() if line.strip()), "no error recorded")
    return FailedCommit(s.commit, first.removeprefix(f"{s.commit.sha[:12]}: "))


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """Which escapes count."""

    kinds: tuple[Kind, ...] = HEAP_KINDS
    package: str | None = None  # glob over import paths (`*` crosses `/`)
    cause: Cause | None = None


def history(store: Store, scope: Scope, *, combine_shards: bool = False) -> History:
    """The snapshots of `scope`; NotStoredError when none has results. With `combine_shards`, a
    shard family's key (`shard=*/N`, or the newest snapshot's key when it is a shard's) reads
    the N shards as one snapshot per commit; an explicit key of one shard reads that shard."""
    explicit = shard_key(scope.toolchain_key) if scope.toolchain_key is not None else None
    family = explicit if explicit is not None and explicit.index is None else None
    if family is not None and not combine_shards:
        raise NotStoredError(
            f"blame reads one toolchain key: give one shard's ({family.member(1)!r} to "
            f"{family.member(family.count)!r}), not the {family.count} shards combined"
        )
    rows = sq.snapshots(
        store,
        scope.repository,
        shas=scope.order,
        branch=None if scope.order is not None else scope.branch,
        toolchain_key=scope.toolchain_key if family is None else None,
        toolchain_keys=family.members if family is not None else None,
    )
    ordering: Ordering
    if scope.order is not None:
        position = {sha: i for i, sha in enumerate(scope.order)}
        rows.sort(key=lambda s: (position[s.commit.sha], s.created_at, s.id))
        ordering = "first-parent"
    else:
        rows.sort(key=lambda s: (s.commit.committed_at, s.created_at, s.id))
        ordering = "branch"
    ok = [s for s in rows if s.ok]
    if not ok:
        where = f" on {scope.branch}" if scope.branch else ""
        with_key = f" with toolchain {scope.toolchain_key}" if scope.toolchain_key else ""
        raise NotStoredError(
            f"nothing is stored for {scope.repository}{where}{with_key}: "
            "run `escape-bot backfill` (or `escape-bot collect --record`) first"
        )
    key = scope.toolchain_key
    if key is None:
        # the newest commit's most recent snapshot: "today's" toolchain and build flags
        newest = [s for s in ok if s.commit.sha == ok[-1].commit.sha]
        key = max(newest, key=lambda s: (s.created_at, s.id)).toolchain_key
        newest_shard = shard_key(key) if combine_shards else None
        if newest_shard is not None:
            family = newest_shard
    if family is not None:
        return _combined(scope, family, ordering, rows)
    return History(key, ordering, tuple(s for s in rows if s.toolchain_key == key))


def _combined(scope: Scope, family: ShardKey, ordering: Ordering, rows: list[StoredSnapshot]) -> History:
    """One snapshot per commit for the N shards of `family` (`rows` in history's order): ok when
    all N are stored with results, failed when one failed to build, else incomplete (failed, with
    the missing shards as its reason). An ok one has the id of shard 1's snapshot; `members`
    gives all N."""
    index = {key: k for k, key in enumerate(family.members, 1)}
    by_commit: dict[str, dict[int, StoredSnapshot]] = {}
    for s in rows:
        if s.toolchain_key in index:
            by_commit.setdefault(s.commit.sha, {})[index[s.toolchain_key]] = s
    n = family.count
    combined: list[StoredSnapshot] = []
    members: dict[int, tuple[int, ...]] = {}
    for shards in by_commit.values():
        first = shards[min(shards)]
        failed = [k for k in sorted(shards) if not shards[k].ok]
        missing = tuple(k for k in range(1, n + 1) if k not in shards)
        newest = max(s.created_at for s in shards.values())
        if failed:
            names = ", ".join(f"{k}/{n}" for k in failed)
            why = failed_commit(shards[failed[0]]).reason
            error = f"shard{'s' if len(failed) > 1 else ''} {names} did not build: {why}"
            s = replace(shards[failed[0]], toolchain_key=family.family, created_at=newest, error=error)
        elif missing:
            error = missing_text(missing, n)
            s = replace(first, toolchain_key=family.family, ok=False, created_at=newest, error=error)
        else:
            s = replace(first, toolchain_key=family.family, created_at=newest, error=None)
            members[s.id] = tuple(shards[k].id for k in range(1, n + 1))
        combined.append(s)
    if not members:
        where = f" on {scope.branch}" if scope.branch else ""
        raise NotStoredError(
            f"no commit of {scope.repository}{where} has all {n} shards of toolchain {family.family} "
            f"stored with results: record the missing ones (`escape-bot collect --record --shard K/{n}`)"
        )
    return History(family.family, ordering, tuple(combined), n, members)


def selection(scope: Scope, found: History, filters: Filters) -> Selection:
    """What a query read, for its output."""
    return Selection(
        repository=scope.repository,
        branch=scope.branch,
        toolchain_key=found.toolchain_key,
        ordering=found.ordering,
        kinds=filters.kinds,
        package=filters.package,
        cause=filters.cause,
        shards=found.shards,
    )


def _grouped(by: GroupBy, package: str, counts: dict[sq.CauseKind, int], filters: Filters) -> dict[str, int]:
    """Counts per (cause, kind) -> per group, only what the filters keep."""
    kinds = {k.value for k in filters.kinds}
    cause = filters.cause.value if filters.cause is not None else None
    groups: dict[str, int] = {}
    for (c, k), n in counts.items():
        if k in kinds and (cause is None or c == cause) and n:
            g = package if by is GroupBy.PACKAGE else c if by is GroupBy.CAUSE else k
            groups[g] = groups.get(g, 0) + n
    return groups


def group_counts(
    store: Store, snapshot_ids: Sequence[int], by: GroupBy, filters: Filters
) -> dict[int, dict[str, int]]:
    """Escape sites per group for each snapshot (groups with 0 left out)."""
    if by is not GroupBy.PACKAGE and filters.package is None:
        return {
            snapshot_id: _grouped(by, "", counts, filters)
            for snapshot_id, counts in sq.cause_counts(store, snapshot_ids).items()
        }
    packages_of = sq.package_result_ids(store, snapshot_ids)
    infos = sq.package_counts(store, {p for ids in packages_of.values() for p in ids})
    matching = [
        p
        for p, info in infos.items()
        if filters.package is None or fnmatchcase(info.package, filters.package)
    ]
    # Each distinct package result is reduced to its groups once; a snapshot then only adds up
    # its packages' groups. package_result.escape_count counts every kind and cause: escape rows
    # (grouped in SQL) only when the filters need more.
    reduced: dict[int, dict[str, int]]
    if by is GroupBy.PACKAGE and set(filters.kinds) == set(Kind) and filters.cause is None:
        reduced = {p: {infos[p].package: infos[p].escape_count} for p in matching}
    else:
        content = sq.content_cause_counts(store, matching)
        reduced = {p: _grouped(by, infos[p].package, content[p], filters) for p in matching}
    result: dict[int, dict[str, int]] = {}
    for snapshot_id, package_ids in packages_of.items():
        totals: dict[str, int] = {}
        for p in package_ids:
            for g, n in reduced.get(p, {}).items():
                totals[g] = totals.get(g, 0) + n
        result[snapshot_id] = {g: n for g, n in totals.items() if n}
    return result


def combined_counts(
    store: Store, found: History, shown: Sequence[StoredSnapshot], by: GroupBy, filters: Filters
) -> dict[int, dict[str, int]]:
    """`group_counts` of each shown snapshot; of a sharded commit, the sum over its N shards
    (the split puts each package in one shard: no escape is counted twice)."""
    if not found.members:
        return group_counts(store, [s.id for s in shown], by, filters)
    counts = group_counts(store, [i for s in shown for i in found.ids(s)], by, filters)
    result: dict[int, dict[str, int]] = {}
    for s in shown:
        totals: dict[str, int] = {}
        for i in found.ids(s):
            for g, n in counts.get(i, {}).items():
                totals[g] = totals.get(g, 0) + n
        result[s.id] = totals
    return result


def _in_range(s: StoredSnapshot, since: datetime | None, until: datetime | None) -> bool:
    when = s.commit.committed_at
    return (since is None or when >= since) and (until is None or when <= until)


def trend(
    store: Store,
    scope: Scope,
    filters: Filters,
    *,
    by: GroupBy = GroupBy.CAUSE,
    since: datetime | None = None,
    until: datetime | None = None,
    last: int | None = None,
) -> Trend:
    """Escape sites per commit, oldest first; commits that failed to build are listed apart."""
    found = history(store, scope, combine_shards=True)
    rows = [s for s in found.snapshots if _in_range(s, since, until)]
    ok_positions = [i for i, s in enumerate(rows) if s.ok]
    if last is not None:
        ok_positions = ok_positions[-last:] if last > 0 else []
    first = ok_positions[0] if ok_positions else 0  # failures before the first shown commit: not shown
    shown = [rows[i] for i in ok_positions]
    if not shown:  # history() found some: the dates left none
        ok = found.ok
        raise NotStoredError(
            f"no stored commit of {scope.repository} was committed {_range(since, until)} (stored: "
            f"{plural(len(ok), 'commit')} from {_day(ok[0].commit.committed_at)} "
            f"to {_day(ok[-1].commit.committed_at)})"
        )
    failed = tuple(s for s in rows[first:] if not s.ok)
    counts = combined_counts(store, found, shown, by, filters)
    points = tuple(TrendPoint(s.commit, s.go_version, counts.get(s.id, {})) for s in shown)
    return Trend(
        selection(scope, found, filters),
        by,
        order_groups(points),
        points,
        tuple(s.commit for s in failed),
        failures=tuple(failed_commit(s) for s in failed),
        newest_failed=found.newest_failed,
    )


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


def _range(since: datetime | None, until: datetime | None) -> str:
    if since is not None and until is not None:
        return f"between {_day(since)} and {_day(until)}"
    return f"since {_day(since)}" if since is not None else f"until {_day(until)}" if until else "ever"


def snapshot_at(found: History, sha: str | None) -> StoredSnapshot:
    """The ok snapshot of `sha` (None: the newest); NotStoredError when it has none."""
    ok = found.ok
    if sha is None:
        return ok[-1]
    for s in reversed(ok):
        if s.commit.sha == sha:
            return s
    for s in found.snapshots if found.shards else ():  # an incomplete or failed sharded commit
        if s.commit.sha == sha:
            raise NotStoredError(
                f"commit {sha[:12]} has no results for toolchain {found.toolchain_key}: "
                f"{failed_commit(s).reason}"
            )
    raise NotStoredError(
        f"commit {sha[:12]} has no stored results for toolchain {found.toolchain_key}: "
        "record it with `escape-bot collect --record --rev REV` or `escape-bot backfill`"
    )


def _ranked(entries: Iterable[TopEntry], limit: int) -> tuple[tuple[TopEntry, ...], int]:
    ordered = sorted(entries, key=lambda e: (-e.count, e.package, e.name))
    kept = tuple(ordered[:limit]) if limit > 0 else tuple(ordered)
    return kept, sum(e.count for e in ordered) - sum(e.count for e in kept)


def top(
    store: Store,
    scope: Scope,
    filters: Filters,
    *,
    by: TopBy = TopBy.PACKAGE,
    limit: int = 20,
    sha: str | None = None,
) -> Top:
    """Where the escapes are at `sha` (default: the newest stored commit), largest first."""
    found = history(store, scope, combine_shards=True)
    snapshot = snapshot_at(found, sha)
    if by is TopBy.FUNCTION:
        ids = found.ids(snapshot)
        listed = sq.package_result_ids(store, ids)
        package_ids = sorted({p for i in ids for p in listed[i]})  # the union of the shards' packages
        infos = sq.package_counts(store, package_ids)
        matching = [
            p for p, i in infos.items() if filters.package is None or fnmatchcase(i.package, filters.package)
        ]
        causes = None if filters.cause is None else [filters.cause.value]
        rows = sq.function_counts(store, matching, [k.value for k in filters.kinds], causes)
        entries: list[TopEntry] = [TopEntry(r.function, r.package, r.count) for r in rows]
    else:
        group = GroupBy.PACKAGE if by is TopBy.PACKAGE else GroupBy.CAUSE
        counts = combined_counts(store, found, [snapshot], group, filters)[snapshot.id]
        entries = [TopEntry(name, name if by is TopBy.PACKAGE else "", n) for name, n in counts.items()]
    total = sum(e.count for e in entries)
    kept, others = _ranked(entries, limit)
    return Top(
        selection(scope, found, filters),
        by,
        snapshot.commit,
        snapshot.go_version,
        total,
        kept,
        others,
        newest_failed=found.newest_failed if sha is None else (),
    )
