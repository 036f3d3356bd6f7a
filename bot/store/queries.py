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
from bot.store.pairs import extras_only
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
    # Same package: the Store keeps its engine private to everything outside bot.store.
    return store._engine


@contextmanager
def _reading(store: Store) -> Iterator[Connection]:
    """One read connection for a query's statements; driver errors as a StoreError."""
    engine = _engine(store)
    with database_errors(engine.url), engine.connect() as connection:
        yield connection


def snapshots(
    store: Store,
    repository: str,
    *,
    shas: Collection[str] | None = None,
    branch: str | None = None,
    toolchain_key: str | None = None,
) -> list[StoredSnapshot]:
    """Snapshots (ok and failed) of a repository's commits: of `shas`, or of commits recorded on
    `branch`, or all; of one toolchain key or all. Unordered: history orders them."""
    query = (
        select(
            SnapshotRow.id,
            SnapshotRow.toolchain_key,
            SnapshotRow.go_version,
            SnapshotRow.status,
            SnapshotRow.created_at,
            SnapshotRow.error,
            Commit.sha,
            Commit.parents,
            Commit.branch,
            Commit.author_name,
            Commit.author_email,
            Commit.authored_at,
            Commit.committed_at,
            Commit.subject,
        )
        .join(Commit, Commit.id == SnapshotRow.commit_id)
        .join(Repository, Repository.id == Commit.repository_id)
        .where(Repository.name == repository)
    )
    if toolchain_key is not None:
        query = query.where(SnapshotRow.toolchain_key == toolchain_key)
    if branch is not None:
        query = query.where(Commit.branch == branch)
    with _reading(store) as connection:
        if shas is None:
            rows = list(connection.execute(query))
        else:
            wanted = sorted(set(shas))
            rows = [
                r for chunk in chunks(wanted) for r in connection.execute(query.where(Commit.sha.in_(chunk)))
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
            query = select(table.snapshot_id, table.cause, table.kind, table.count).where(
                table.snapshot_id.in_(chunk)
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
            query = select(SnapshotRow.id, SnapshotRow.package_result_ids).where(SnapshotRow.id.in_(chunk))
            for snapshot_id, text in connection.execute(query):
                result[snapshot_id] = tuple(json.loads(text))
    return result


def package_counts(store: Store, ids: Iterable[int]) -> dict[int, PackageCount]:
    """Import path and escape sites of package results (the view `snapshot_package_count`'s data)."""
    wanted = sorted(set(ids))
    result: dict[int, PackageCount] = {}
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            query = select(PackageResult.id, PackageResult.package, PackageResult.escape_count).where(
                PackageResult.id.in_(chunk)
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
                select(PackageFile.package_result_id, EscapeSite.cause, EscapeSite.kind, func.count())
                .join(EscapeSite, EscapeSite.file_result_id == PackageFile.file_result_id)
                .where(PackageFile.package_result_id.in_(chunk))
                .group_by(PackageFile.package_result_id, EscapeSite.cause, EscapeSite.kind)
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
                select(PackageResult.package, EscapeSite.function, func.count())
                .select_from(PackageResult)
                .join(PackageFile, PackageFile.package_result_id == PackageResult.id)
                .join(EscapeSite, EscapeSite.file_result_id == PackageFile.file_result_id)
                .where(PackageResult.id.in_(chunk), EscapeSite.kind.in_(sorted(kinds)))
                .group_by(PackageResult.package, EscapeSite.function)
            )
            if causes is not None:
                query = query.where(EscapeSite.cause.in_(sorted(causes)))
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
                    PackageResult.id,
                    PackageResult.package,
                    FileResult.file,
                    EscapeSite.line,
                    EscapeSite.col,
                    EscapeSite.function,
                    EscapeSite.kind,
                    EscapeSite.expression,
                    EscapeSite.message,
                    EscapeSite.cause,
                    EscapeSite.count,
                    EscapeSite.line_text,
                    EscapeSite.explanation if flows else extras_only(connection.dialect.name),
                )
                .select_from(PackageResult)
                .join(PackageFile, PackageFile.package_result_id == PackageResult.id)
                .join(FileResult, FileResult.id == PackageFile.file_result_id)
                .join(EscapeSite, EscapeSite.file_result_id == FileResult.id)
                .where(PackageResult.id.in_(chunk))
                .order_by(PackageResult.id, FileResult.file, EscapeSite.ordinal)
            )
            rows = connection.execute(query).all()
            reader = ExplanationReader()
            with gc_paused():  # many acyclic records (see bot.memory)
                for row in rows:
                    escape = escape_from_row(row[1], row[2], row[3:], flows=flows, reader=reader)
                    grouped[row[0]].append(escape)
    return {i: tuple(grouped.get(i, ())) for i in wanted}
