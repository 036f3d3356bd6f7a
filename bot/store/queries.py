"""Read-only queries for history (trend, top, blame) over the documented schema (docs/storage.md).

Trends read the per-snapshot aggregates (`snapshot_cause_count`, and `package_result.escape_count`
through each snapshot's package list), never escape rows. What aggregates cannot answer (a cause
within some packages, functions, blame) reads escape rows per distinct *package result*: content
that many commits share is read once, so the cost follows what changed, not the number of
commits. Records in, frozen dataclasses out: ORM rows stay in this package.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine, func, select

from bot.commit import CommitInfo
from bot.gc.model import Escape
from bot.memory import gc_paused
from bot.store.content import ExplanationReader, escape_from_row
from bot.store.db import database_errors
from bot.store.models import (
    Commit,
    EscapeSite,
    FileResult,
    PackageFile,
    PackageResult,
    Repository,
    SnapshotCauseCount,
)
from bot.store.models import Snapshot as SnapshotRow
from bot.store.pairs import SITE_SCALARS, extras_only
from bot.store.repo import OK, Store
from bot.store.rows import chunks

T = TypeVar("T")

CauseKind = tuple[str, str]
"""(cause id, kind), as `snapshot_cause_count` keys its rows."""


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A snapshot row with its commit, without its escapes."""

    id: int
    commit: CommitInfo
    toolchain_key: str
    go_version: str
    ok: bool  # False: the build failed, there are no results
    created_at: datetime
    error: str | None = None  # failed: why; ok: the modules that did not build (JSON), if any


@dataclass(frozen=True, slots=True)
class PackageCount:
    """A package result: its import path and escape sites (every kind)."""

    package: str
    escape_count: int


@dataclass(frozen=True, slots=True)
class FunctionCount:
    """Escape sites of one function."""

    package: str
    function: str
    count: int


def _engine(store: Store) -> Engine:
    # Same package: the Store keeps its engine private to everything outside bot.store. A
    # database opened empty gets its schema first (Store.open's `create`): these queries read
    # its tables.
    store._born()
    return store._engine


# The connection of an open `one_read` block, with its store.
_shared: ContextVar[tuple[Store, Connection] | None] = ContextVar("_shared", default=None)


@contextmanager
def _reading(store: Store) -> Iterator[Connection]:
    """One read connection for a query's statements (that of an open `one_read` block on the same
    store, if any); driver errors as a StoreError."""
    shared = _shared.get()
    if shared is not None and shared[0] is store:
        yield shared[1]
        return
    engine = _engine(store)
    with database_errors(engine.url), engine.connect() as connection:
        yield connection


@contextmanager
def one_read(store: Store) -> Iterator[None]:
    """Run the queries of the block on one connection: one transaction, so one view of the data,
    rather than a connection and a BEGIN per query (blame's walk reads in several queries)."""
    with _reading(store) as connection:
        token = _shared.set((store, connection))
        try:
            yield
        finally:
            _shared.reset(token)


def snapshots(
    store: Store,
    repository: str,
    *,
    shas: Collection[str] | None = None,
    branch: str | None = None,
    toolchain_key: str | None = None,
    toolchain_keys: Collection[str] | None = None,
) -> list[StoredSnapshot]:
    """Snapshots (ok and failed) of a repository's commits: of `shas`, or of commits recorded on
    `branch`, or all; of one toolchain key, of some (`toolchain_keys`) or all. Unordered: history
    orders them."""
    query = (
        select(
            SnapshotRow.c.id,
            SnapshotRow.c.toolchain_key,
            SnapshotRow.c.go_version,
            SnapshotRow.c.status,
            SnapshotRow.c.created_at,
            SnapshotRow.c.error,
            Commit.c.sha,
            Commit.c.parents,
            Commit.c.branch,
            Commit.c.author_name,
            Commit.c.author_email,
            Commit.c.authored_at,
            Commit.c.committed_at,
            Commit.c.subject,
        )
        .join(Commit, Commit.c.id == SnapshotRow.c.commit_id)
        .join(Repository, Repository.c.id == Commit.c.repository_id)
        .where(Repository.c.name == repository)
    )
    if toolchain_key is not None:
        query = query.where(SnapshotRow.c.toolchain_key == toolchain_key)
    if toolchain_keys is not None:  # a shard family: at most 256 keys
        query = query.where(SnapshotRow.c.toolchain_key.in_(sorted(set(toolchain_keys))))
    if branch is not None:
        query = query.where(Commit.c.branch == branch)
    with _reading(store) as connection:
        if shas is None:
            rows = list(connection.execute(query))
        else:
            wanted = sorted(set(shas))
            rows = [
                r
                for chunk in chunks(wanted)
                for r in connection.execute(query.where(Commit.c.sha.in_(chunk)))
            ]
    return [
        StoredSnapshot(
            id=r.id,
            commit=CommitInfo(
                sha=r.sha,
                parents=tuple(r.parents.split()),
                author_name=r.author_name,
                author_email=r.author_email,
                authored_at=r.authored_at,
                committed_at=r.committed_at,
                subject=r.subject,
                branch=r.branch,
            ),
            toolchain_key=r.toolchain_key,
            go_version=r.go_version,
            ok=r.status == OK,
            created_at=r.created_at,
            error=r.error,
        )
        for r in rows
    ]


def cause_counts(store: Store, snapshot_ids: Iterable[int]) -> dict[int, dict[CauseKind, int]]:
    """Escape sites per (cause, kind) of each snapshot, from `snapshot_cause_count`."""
    ids = sorted(set(snapshot_ids))
    result: dict[int, dict[CauseKind, int]] = {i: {} for i in ids}
    table = SnapshotCauseCount
    with _reading(store) as connection:
        for chunk in chunks(ids):
            query = select(table.c.snapshot_id, table.c.cause, table.c.kind, table.c.count).where(
                table.c.snapshot_id.in_(chunk)
            )
            for snapshot_id, cause, kind, count in connection.execute(query):
                result[snapshot_id][(cause, kind)] = count
    return result


def package_result_ids(store: Store, snapshot_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """Each snapshot's package results (the rows of the view `snapshot_package`)."""
    ids = sorted(set(snapshot_ids))
    result: dict[int, tuple[int, ...]] = {}
    with _reading(store) as connection:
        for chunk in chunks(ids):
            # The JSON column itself rather than the view: SQLite's json_each costs more than
            # json.loads here (the view exists for SQL users, docs/storage.md).
            query = select(SnapshotRow.c.id, SnapshotRow.c.package_result_ids).where(
                SnapshotRow.c.id.in_(chunk)
            )
            for snapshot_id, text in connection.execute(query):
                result[snapshot_id] = tuple(json.loads(text))
    return result


def package_counts(store: Store, ids: Iterable[int]) -> dict[int, PackageCount]:
    """Import path and escape sites of package results (the view `snapshot_package_count`'s data)."""
    wanted = sorted(set(ids))
    result: dict[int, PackageCount] = {}
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            query = select(PackageResult.c.id, PackageResult.c.package, PackageResult.c.escape_count).where(
                PackageResult.c.id.in_(chunk)
            )
            for id_, package, count in connection.execute(query):
                result[id_] = PackageCount(package, count)
    return result


def content_cause_counts(store: Store, ids: Iterable[int]) -> dict[int, dict[CauseKind, int]]:
    """Escape sites per (cause, kind) of package results, from their escape rows (each distinct
    result once, however many snapshots share it)."""
    wanted = sorted(set(ids))
    result: dict[int, dict[CauseKind, int]] = {i: {} for i in wanted}
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            query = (
                select(PackageFile.c.package_result_id, EscapeSite.c.cause, EscapeSite.c.kind, func.count())
                .join(EscapeSite, EscapeSite.c.file_result_id == PackageFile.c.file_result_id)
                .where(PackageFile.c.package_result_id.in_(chunk))
                .group_by(PackageFile.c.package_result_id, EscapeSite.c.cause, EscapeSite.c.kind)
            )
            for id_, cause, kind, count in connection.execute(query):
                result[id_][(cause, kind)] = count
    return result


def function_counts(
    store: Store, ids: Iterable[int], kinds: Collection[str], causes: Collection[str] | None = None
) -> list[FunctionCount]:
    """Escape sites of the given kinds (and causes) per function over package results (a snapshot
    has one result per package, so no function's rows span two chunks)."""
    wanted = sorted(set(ids))
    result: list[FunctionCount] = []
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            query = (
                select(PackageResult.c.package, EscapeSite.c.function, func.count())
                .select_from(PackageResult)
                .join(PackageFile, PackageFile.c.package_result_id == PackageResult.c.id)
                .join(EscapeSite, EscapeSite.c.file_result_id == PackageFile.c.file_result_id)
                .where(PackageResult.c.id.in_(chunk), EscapeSite.c.kind.in_(sorted(kinds)))
                .group_by(PackageResult.c.package, EscapeSite.c.function)
            )
            if causes is not None:
                query = query.where(EscapeSite.c.cause.in_(sorted(causes)))
            result.extend(FunctionCount(p, f, n) for p, f, n in connection.execute(query))
    return result


def package_escapes(store: Store, ids: Iterable[int], *, flows: bool = True) -> dict[int, tuple[Escape, ...]]:
    """The escapes of package results, in the store's canonical order; without their explanations'
    flows unless `flows` (one statement per 500 results)."""
    wanted = sorted(set(ids))
    grouped: dict[int, list[Escape]] = defaultdict(list)
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            query = (
                select(
                    PackageResult.c.id,
                    PackageResult.c.package,
                    FileResult.c.file,
                    *SITE_SCALARS,
                    EscapeSite.c.explanation if flows else extras_only(connection.dialect.name),
                )
                .select_from(PackageResult)
                .join(PackageFile, PackageFile.c.package_result_id == PackageResult.c.id)
                .join(FileResult, FileResult.c.id == PackageFile.c.file_result_id)
                .join(EscapeSite, EscapeSite.c.file_result_id == FileResult.c.id)
                .where(PackageResult.c.id.in_(chunk))
                .order_by(PackageResult.c.id, FileResult.c.file, EscapeSite.c.ordinal)
            )
            rows = connection.execute(query).all()
            reader = ExplanationReader()
            with gc_paused():  # many acyclic records (see bot.memory)
                for row in rows:
                    escape = escape_from_row(row[1], row[2], row[3:], flows=flows, reader=reader)
                    grouped[row[0]].append(escape)
    return {i: tuple(grouped.get(i, ())) for i in wanted}
