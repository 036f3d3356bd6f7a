"""Records of the history queries (pure): what trend, top and blame return and render prints.

Counts are escape *sites* (one per position, as `snapshot_cause_count` and `package_result`
count them), of the heap kinds unless `--leaks` asked for every kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from bot.commit import CommitInfo
from bot.gc.model import Cause, Escape, Kind

HEAP_KINDS: tuple[Kind, ...] = (Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP)
ALL_KINDS: tuple[Kind, ...] = tuple(Kind)


class GroupBy(StrEnum):
    """How `trend` splits each commit's count."""

    CAUSE = "cause"
    PACKAGE = "package"
    KIND = "kind"


class TopBy(StrEnum):
    """What `top` ranks."""

    PACKAGE = "package"
    FUNCTION = "function"
    CAUSE = "cause"


Ordering = Literal["first-parent", "branch"]
"""How the commits were put in order: git's first-parent history, or (without the clone) the
stored commits of the branch by commit time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Which snapshots and escapes a query read; echoed in every output."""

    repository: str
    branch: str | None
    toolchain_key: str
    ordering: Ordering
    kinds: tuple[Kind, ...] = HEAP_KINDS
    package: str | None = None  # glob over import paths
    cause: Cause | None = None
    shards: int | None = None  # N: a sharded history's N shards combined (the key has `shard=*/N`)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One commit of a trend: escape sites per group (groups with 0 left out)."""

    commit: CommitInfo
    go_version: str
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        """Escape sites over all groups."""
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class FailedCommit:
    """A recorded commit that did not build, and why (the first line of the recorded error)."""

    commit: CommitInfo
    reason: str


@dataclass(frozen=True, slots=True)
class Trend:
    """Escape sites per commit, oldest first, split by `by`."""

    selection: Selection
    by: GroupBy
    groups: tuple[str, ...]  # largest at the newest commit first
    points: tuple[TrendPoint, ...]
    failed: tuple[CommitInfo, ...]  # commits in the range whose build failed (no counts)
    failures: tuple[FailedCommit, ...] = ()  # the same commits, with why
    # the newest recorded commits of the history, all failed: the figures stop before them
    newest_failed: tuple[FailedCommit, ...] = ()


@dataclass(frozen=True, slots=True)
class TopEntry:
    """One row of `top`: a package, a function (with its package) or a cause."""

    name: str
    package: str
    count: int


@dataclass(frozen=True, slots=True)
class Top:
    """Where the escapes are at one commit."""

    selection: Selection
    by: TopBy
    commit: CommitInfo
    go_version: str
    total: int
    entries: tuple[TopEntry, ...]  # largest first, at most `limit`
    others: int  # escape sites in the entries left out by the limit
    newest_failed: tuple[FailedCommit, ...] = ()  # newer recorded commits that did not build


@dataclass(frozen=True, slots=True)
class BlameEntry:
    """A current escape (or `units` of its count) and the first recorded commit that had it.

    `previous` is the recorded commit before `origin` in the history (None: `origin` is the
    oldest recorded one). `exact` is False when commits between the two were not recorded (or
    failed to build), or history starts at `origin` without it being a root commit: the escape
    may then be older than `origin`, from a commit the store does not have.
    """

    escape: Escape
    units: int
    origin: CommitInfo
    previous: CommitInfo | None
    exact: bool


@dataclass(frozen=True, slots=True)
class Blame:
    """Blame of the escapes of one commit."""

    selection: Selection
    commit: CommitInfo
    entries: tuple[BlameEntry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendReport:
    """What the HTML page shows: escapes per cause and per package over the same commits."""

    causes: Trend
    packages: Trend
    generated_at: datetime
    commit_url: str | None = None  # `{server}/{owner}/{repo}/commit/`, when the remote is on GitHub
    pull_url: str | None = None  # `{server}/{owner}/{repo}/pull/`


def counts_by_group(points: tuple[TrendPoint, ...], group: str) -> tuple[int, ...]:
    """One group's count at every point (0 where absent)."""
    return tuple(p.counts.get(group, 0) for p in points)


def order_groups(points: tuple[TrendPoint, ...], names: Mapping[str, int] | None = None) -> tuple[str, ...]:
    """Groups largest at the newest point first, then by their largest count, then by name."""
    seen: dict[str, int] = dict(names or {})
    for p in points:
        for g, n in p.counts.items():
            seen[g] = max(seen.get(g, 0), n)
    latest = points[-1].counts if points else {}
    return tuple(sorted(seen, key=lambda g: (-latest.get(g, 0), -seen[g], g)))
