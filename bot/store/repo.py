"""`Store`: the API the rest of escape-bot uses. Core dataclasses in, core dataclasses out.

Writes are one transaction each and idempotent. Shared rows (commits, content-addressed
results, the snapshot itself) are inserted with `INSERT .. ON CONFLICT DO NOTHING` and
read back, so concurrent writers never fail on each other's rows: on PostgreSQL the
second inserter of a row waits for the first transaction and then reuses its row; on
SQLite writers are serialised by `BEGIN IMMEDIATE` and the busy timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, Table, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bot.commit import CommitInfo
from bot.errors import StoreError
from bot.gc.model import BlockKey, Escape, Snapshot, Toolchain
from bot.memory import gc_paused
from bot.ports import StoredPair
from bot.store.blocks import block_rows, stored_blocks
from bot.store.child import ChildWriter, fork_is_safe
from bot.store.content import FileContent, PackageContent, PackageMemo, split_escapes
from bot.store.db import (
    Access,
    begin_write,
    check_schema,
    database_errors,
    make_engine,
    not_writable,
    read_only,
    redact,
    store_error,
)
from bot.store.models import (
    Commit,
    FileResult,
    PackageBlock,
    PackageFile,
    PackageResult,
    Repository,
    SnapshotCauseCount,
)
from bot.store.models import Snapshot as SnapshotRow
from bot.store.pairs import find_pair, pair_with_base, snapshot_escapes
from bot.store.rows import (
    SITE_COLUMNS,
    chunks,
    compact_ids,
    decode_failed_modules,
    encode_failed_modules,
    failure_values,
    stats_of,
    toolchain_of,
    toolchain_values,
)

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

Creation = Literal["now", "at-first-write"]
"""When `Store.open` creates an empty database's schema."""


OK = "ok"
FAILED = "failed"

MAX_ERROR_CHARS = 65_536  # a failed build's log tail is plenty; whole logs belong in CI artifacts
_OPEN_ATTEMPTS = 5  # opening a new SQLite file while others do (see Store.open)
_ATTEMPTS = 5
# PostgreSQL states worth retrying the whole transaction for: deadlock, serialization
# failure, and a unique violation that a concurrent writer's row caused.
_RETRY_SQLSTATES = frozenset({"40P01", "40001", "23505"})


class _AlreadyStored(Exception):
    """Raised inside a write transaction to roll it back: another writer stored the snapshot."""


def _retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


def _checked(engine: Engine, *, create: bool, defer: bool) -> bool:
    """`check_schema`, again while SQLite refuses at once ("database is locked", without waiting
    out the busy timeout) as another process switches a new file to WAL or recovers its WAL index."""
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            return check_schema(engine, create=create, defer=defer)
        except StoreError as exc:
            if "database is locked" not in str(exc) or attempt == _OPEN_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")


class Store:
    """Snapshots of many repositories and commits in one database."""

    def __init__(self, engine: Engine, *, read_only: bool = False, unborn: bool = False) -> None:
        """Wrap an engine whose schema was checked; use `Store.open`."""
        self._engine = engine
        # empty when opened, and left so until the first write creates its schema (`_born`):
        # until then every lookup finds nothing, without a query
        self._unborn = unborn
        self._birth = threading.Lock()
        self._repository_ids: dict[str, int] = {}
        self._contents: PackageMemo = {}  # head's unchanged packages are base's objects (split_escapes)
        self._light: set[int] = set()  # ids of records read without explanations (stored_blocks)
        self._light_kept: list[tuple[Escape, ...]] = []  # what keeps those ids from being reused
        self.read_only = read_only  # every write is then a StoreError saying so
        self._child: ChildWriter | None = None  # where record_snapshot runs (writing_in_child)
        self._inherited_pool: object = None  # a forked child's copy of its parent's connections

    @classmethod
    def open(cls, url: str, *, access: Access = "write", create: Creation = "now") -> Store:
        """Open the database at `url`: create an empty one at head, refuse an outdated one. Read-only
        (`access`, `?mode=ro`, a SQLite file that cannot be changed) it is never created nor migrated.

        `create="at-first-write"`: an empty database is created by the first write instead, in the
        process that writes (the child process of `writing_in_child`), so that a run's start does
        not wait for Alembic's import and the migrations (~0.15 s); until then it holds nothing
        and every lookup says so."""
        ro = read_only(url, access)
        engine = make_engine(url, read_only=ro)
        try:
            unborn = _checked(engine, create=not ro, defer=create == "at-first-write")
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, read_only=ro, unborn=unborn)

    def _born(self) -> None:
        """Create the schema of a database that was empty when opened (`create="at-first-write"`);
        nothing once it exists."""
        if not self._unborn:
            return
        with self._birth:
            if self._unborn:
                _checked(self._engine, create=True, defer=False)
                self._unborn = False

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return redact(self._engine.url)

    def close(self) -> None:
        """Release the connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------------

    @contextmanager
    def writing_in_child(self, shared: Sequence[object]) -> Iterator[bool]:
        """While open, `record_snapshot` runs in a child process forked now (bot/store/child.py),
        which shares `shared` (the escapes of the snapshot about to be recorded) without a copy:
        the caller's writer thread then only waits, and the work runs on another core. False,
        and nothing changes, where forking is not safe or the store is read-only."""
        if self._child is not None or self.read_only or not fork_is_safe():
            yield False
            return
        try:
            self._child = ChildWriter(self._record_snapshot, shared, self._forget_connections)
        except OSError:  # no fork now (process or memory limits): the caller's thread writes
            yield False
            return
        try:
            yield True
        finally:
            child, self._child = self._child, None
            child.close()

    def _forget_connections(self) -> None:
        """In a forked child: new connections of its own. The parent's are left unclosed, as
        SQLAlchemy advises after a fork, and referenced, so that no finaliser closes them here
        (SQLite's close would act on the parent's locks and WAL; libpq's would end its session)."""
        self._inherited_pool = self._engine.pool
        self._engine.dispose(close=False)

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        """Store a snapshot in one transaction; False when it was already stored.

        A failure recorded earlier for the same commit and toolchain is replaced.
        """
        child = self._child
        if child is not None:
            stored: bool = child(repository, commit, snapshot)
            self._unborn = False  # the child created the schema if it had to
            return stored
        return self._record_snapshot(repository, commit, snapshot)

    def _record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        if snapshot.commit != commit.sha:
            raise ValueError(f"snapshot of {snapshot.commit} recorded as commit {commit.sha}")
        # Hash and group before taking any lock: the transaction only moves rows.
        with gc_paused():
            packages = split_escapes(snapshot.escapes, self._contents, self._light)
        causes = Counter((e.cause.value, e.kind.value) for e in snapshot.escapes)
        stats = snapshot.stats
        values = {
            **toolchain_values(snapshot.toolchain),
            "status": OK,
            "error": encode_failed_modules(snapshot.failed_modules),
            "escape_count": len(snapshot.escapes),
            "package_count": len(packages),
            "lines": stats.lines,
            "parsed_packages": stats.packages,
            "unknown_lines": stats.unknown_lines,
            "generated_skipped": stats.generated_skipped,
            "duplicates_collapsed": stats.duplicates_collapsed,
            "unknown_samples": json.dumps(list(stats.unknown_samples), ensure_ascii=False),
        }
        repository_id = self._repository_id(repository)

        def work(connection: Connection) -> bool:
            commit_id = self._commit_id(connection, repository_id, commit)
            if self._status(connection, commit_id, snapshot.toolchain.key) == OK:
                return False  # the common case of a re-run: no work at all
            package_ids_in_order = self._package_ids(connection, packages)
            package_ids = sorted(set(package_ids_in_order))
            snapshot_id = self._put_snapshot(
                connection,
                {**values, "commit_id": commit_id, "package_result_ids": compact_ids(package_ids)},
            )
            if snapshot_id is None:
                raise _AlreadyStored
            ids = dict(zip((p.package for p in packages), package_ids_in_order, strict=True))
            blocks = block_rows(snapshot.blocks, ids)
            if blocks:
                self._insert_new(connection, PackageBlock, blocks)
            if causes:
                connection.execute(
                    self._insert(SnapshotCauseCount),
                    [
                        {"snapshot_id": snapshot_id, "cause": cause, "kind": kind, "count": n}
                        for (cause, kind), n in sorted(causes.items())
                    ],
                )
            return True

        try:
            return self._write(work)
        except _AlreadyStored:
            return False

    def record_failure(self, repository: str, commit: CommitInfo, toolchain: Toolchain, error: str) -> bool:
        """Remember that this commit could not be analysed; False if anything was stored already."""
        values = failure_values(toolchain, error, FAILED, MAX_ERROR_CHARS)
        repository_id = self._repository_id(repository)

        def work(connection: Connection) -> bool:
            commit_id = self._commit_id(connection, repository_id, commit)
            row = {**values, "commit_id": commit_id, "package_result_ids": "[]"}
            return self._put_snapshot(connection, row) is not None

        return self._write(work)

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in a write transaction, again from scratch after a lost race."""
        if self.read_only:
            raise StoreError(f"database {self.url} is read-only: nothing can be recorded in it")
        self._born()
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with begin_write(self._engine) as connection:
                    return work(connection)
            except (OperationalError, IntegrityError) as exc:
                if attempt < _ATTEMPTS and _retryable(exc):
                    time.sleep(0.05 * attempt)
                    continue
                if isinstance(exc, IntegrityError):
                    raise
                raise store_error(exc, self._engine.url) from None
            except DBAPIError as exc:
                if not_writable(exc):
                    raise store_error(exc, self._engine.url) from None
                raise
        raise AssertionError("unreachable")

    def _insert(self, model: Table) -> postgresql.Insert | sqlite.Insert:
        # The dialects' own INSERT, for ON CONFLICT DO NOTHING. Always with the unique key
        # named: any other violation is a bug and must raise, not be skipped. Imported here:
        # the PostgreSQL dialect costs a SQLite reader's start-up ~50 ms.
        if self._engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(model)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(model)

    def _repository_id(self, name: str) -> int:
        # Its own short transaction: a new repository's row must not be held by one
        # writer's long ingest while the others wait for it.
        if name not in self._repository_ids:

            def work(connection: Connection) -> int:
                connection.execute(
                    self._insert(Repository).values(name=name).on_conflict_do_nothing(index_elements=["name"])
                )
                return int(
                    connection.execute(select(Repository.c.id).where(Repository.c.name == name)).scalar_one()
                )

            self._repository_ids[name] = self._write(work)
        return self._repository_ids[name]

    def _commit_id(self, connection: Connection, repository_id: int, commit: CommitInfo) -> int:
        connection.execute(
            self._insert(Commit)
            .values(
                repository_id=repository_id,
                sha=commit.sha,
                parents=" ".join(commit.parents),
                branch=commit.branch,
                author_name=commit.author_name,
                author_email=commit.author_email,
                authored_at=commit.authored_at,
                committed_at=commit.committed_at,
                subject=commit.subject,
            )
            .on_conflict_do_nothing(index_elements=["repository_id", "sha"])
        )
        return int(
            connection.execute(
                select(Commit.c.id).where(Commit.c.repository_id == repository_id, Commit.c.sha == commit.sha)
            ).scalar_one()
        )

    def _status(self, connection: Connection, commit_id: int, toolchain_key: str) -> str | None:
        status: str | None = connection.execute(
            select(SnapshotRow.c.status).where(
                SnapshotRow.c.commit_id == commit_id, SnapshotRow.c.toolchain_key == toolchain_key
            )
        ).scalar_one_or_none()
        return status

    def _put_snapshot(self, connection: Connection, row: Mapping[str, Any]) -> int | None:
        """Insert the snapshot row, or replace a failed one; None when it is stored already.

        The row goes in last, complete, so that it is written once. A concurrent writer of
        the same snapshot meets it here: on PostgreSQL the second waits on the unique key
        until the first commits, then finds its row (and rolls its own work back).
        """
        row = {**row, "created_at": datetime.now(UTC)}
        inserted = connection.execute(
            self._insert(SnapshotRow)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["commit_id", "toolchain_key"])
            .returning(SnapshotRow.c.id)
        ).scalar_one_or_none()
        if inserted is not None:
            return int(inserted)
        existing = connection.execute(
            select(SnapshotRow.c.id, SnapshotRow.c.status)
            .where(
                SnapshotRow.c.commit_id == row["commit_id"],
                SnapshotRow.c.toolchain_key == row["toolchain_key"],
            )
            .with_for_update()
        ).one()
        if existing.status == OK or row["status"] == FAILED:
            return None
        # Results for a commit whose earlier attempt failed: they replace the failure.
        connection.execute(update(SnapshotRow).where(SnapshotRow.c.id == existing.id).values(**row))
        return int(existing.id)

    def _ids_by_digest(self, connection: Connection, model: Table, digests: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in chunks(digests):
            rows = connection.execute(select(model.c.digest, model.c.id).where(model.c.digest.in_(chunk)))
            found.update({digest: id_ for digest, id_ in rows})
        return found

    def _insert_new(self, connection: Connection, model: Table, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert content-addressed rows; the ids of those this transaction created.

        Rows go in digest order, so that concurrent PostgreSQL writers wait on each other's
        unique-key entries in one order and cannot deadlock.
        """
        if not rows:
            return {}
        rows.sort(key=lambda r: r["digest"])
        result = connection.execute(
            self._insert(model)
            .on_conflict_do_nothing(index_elements=["digest"])
            .returning(model.c.digest, model.c.id),
            rows,
        )
        return {digest: id_ for digest, id_ in result}

    def _file_ids(self, connection: Connection, files: Iterable[FileContent]) -> dict[str, int]:
        by_digest = {f.digest: f for f in files}
        ids = self._ids_by_digest(connection, FileResult, sorted(by_digest))
        missing = [f for d, f in by_digest.items() if d not in ids]
        created = self._insert_new(
            connection,
            FileResult,
            [{"digest": f.digest, "file": f.file, "escape_count": len(f.rows)} for f in missing],
        )
        self._insert_sites(
            connection,
            [
                (created[f.digest], ordinal, *row)
                for f in missing
                if f.digest in created
                for ordinal, row in enumerate(f.rows)
            ],
        )
        ids.update(created)
        # Rows another writer committed between our SELECT and our INSERT.
        ids.update(self._ids_by_digest(connection, FileResult, [d for d in by_digest if d not in ids]))
        return ids

    def _insert_sites(self, connection: Connection, sites: list[tuple[Any, ...]]) -> None:
        """Insert escape rows, the bulk of an ingest, the fastest way each driver has."""
        if not sites:
            return
        quote = connection.dialect.identifier_preparer.quote
        columns = ", ".join(quote(name) for name in SITE_COLUMNS)
        if self._engine.dialect.name == "postgresql":
            # COPY streams the rows in one command, no per-row round trip or SQL.
            cursor: Any = connection.connection.cursor()
            try:
                with cursor.copy(f"COPY escape_site ({columns}) FROM STDIN") as copy:
                    for site in sites:
                        copy.write_row(site)
            finally:
                cursor.close()
        else:
            # The sqlite3 module's own executemany; SQLAlchemy's per-row parameter
            # processing would cost more than SQLite's inserting.
            marks = ", ".join("?" * len(SITE_COLUMNS))
            connection.exec_driver_sql(f"INSERT INTO escape_site ({columns}) VALUES ({marks})", sites)

    def _package_ids(self, connection: Connection, packages: Sequence[PackageContent]) -> list[int]:
        ids = self._ids_by_digest(connection, PackageResult, sorted({p.digest for p in packages}))
        missing = {p.digest: p for p in packages if p.digest not in ids}
        if missing:
            file_ids = self._file_ids(connection, (f for p in missing.values() for f in p.files))
            created = self._insert_new(
                connection,
                PackageResult,
                [
                    {"digest": p.digest, "package": p.package, "escape_count": p.escape_count}
                    for p in missing.values()
                ],
            )
            links = [
                {"package_result_id": created[p.digest], "file_result_id": file_ids[f.digest]}
                for p in missing.values()
                if p.digest in created
                for f in p.files
            ]
            if links:
                connection.execute(insert(PackageFile), links)
            ids.update(created)
            ids.update(self._ids_by_digest(connection, PackageResult, [d for d in missing if d not in ids]))
        return [ids[p.digest] for p in packages]

    # --- reading --------------------------------------------------------------------------

    def _snapshot_row(self, connection: Connection, repository: str, sha: str, toolchain_key: str) -> Any:
        return connection.execute(
            select(SnapshotRow)
            .join(Commit, Commit.c.id == SnapshotRow.c.commit_id)
            .join(Repository, Repository.c.id == Commit.c.repository_id)
            .where(
                Repository.c.name == repository,
                Commit.c.sha == sha,
                SnapshotRow.c.toolchain_key == toolchain_key,
            )
        ).one_or_none()

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        """The stored snapshot (status ok), escapes in canonical order; None if there is none."""
        if self._unborn:
            return None
        with database_errors(self._engine.url), self._engine.connect() as connection:
            row = self._snapshot_row(connection, repository, sha, toolchain_key)
            if row is None or row.status != OK:
                return None
            escapes = snapshot_escapes(connection, row)
        return Snapshot(
            revision=sha,
            commit=sha,
            toolchain=toolchain_of(row),
            escapes=tuple(escapes),
            stats=stats_of(row),
            failed_modules=decode_failed_modules(row.error),
        )

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        """The key of the newest good snapshot of `sha` built by another Go version with the same
        platform, tags, flags and records (a base stored before a Go upgrade), or None."""
        if self._unborn:
            return None
        suffix = toolchain.key.removeprefix(toolchain.go_version)
        with database_errors(self._engine.url), self._engine.connect() as connection:
            keys = connection.execute(
                select(SnapshotRow.c.toolchain_key)
                .join(Commit, Commit.c.id == SnapshotRow.c.commit_id)
                .join(Repository, Repository.c.id == Commit.c.repository_id)
                .where(
                    Repository.c.name == repository,
                    Commit.c.sha == sha,
                    SnapshotRow.c.status == OK,
                    SnapshotRow.c.toolchain_key != toolchain.key,
                    SnapshotRow.c.goos == toolchain.goos,
                    SnapshotRow.c.goarch == toolchain.goarch,
                )
                .order_by(SnapshotRow.c.created_at.desc(), SnapshotRow.c.id.desc())
            ).scalars()
            # the same build but for the Go version: compared as text, not as a LIKE pattern
            return next((k for k in keys if k.endswith(suffix) and k != toolchain.key), None)

    def snapshot_status(self, repository: str, sha: str, toolchain_key: str) -> str | None:
        """`'ok'`, `'failed'`, or None when nothing is stored for this commit and toolchain."""
        if self._unborn:
            return None
        with database_errors(self._engine.url), self._engine.connect() as connection:
            row = self._snapshot_row(connection, repository, sha, toolchain_key)
        return None if row is None else str(row.status)

    def failure(self, repository: str, sha: str, toolchain_key: str) -> str | None:
        """The error recorded for a failed snapshot; None when it did not fail."""
        if self._unborn:
            return None
        with database_errors(self._engine.url), self._engine.connect() as connection:
            row = self._snapshot_row(connection, repository, sha, toolchain_key)
        return None if row is None or row.status != FAILED else str(row.error)

    def stored_commits(
        self, repository: str, toolchain_key: str | None = None, *, include_failed: bool = False
    ) -> set[str]:
        """Shas with a stored snapshot (ok only, unless `include_failed`), for any or one toolchain."""
        if self._unborn:
            return set()
        query = (
            select(Commit.c.sha)
            .join(Repository, Repository.c.id == Commit.c.repository_id)
            .join(SnapshotRow, SnapshotRow.c.commit_id == Commit.c.id)
            .where(Repository.c.name == repository)
            .distinct()
        )
        if toolchain_key is not None:
            query = query.where(SnapshotRow.c.toolchain_key == toolchain_key)
        if not include_failed:
            query = query.where(SnapshotRow.c.status == OK)
        with database_errors(self._engine.url), self._engine.connect() as connection:
            return set(connection.execute(query).scalars())

    def find_pair(
        self, repository: str, base_sha: str, head_sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> StoredPair | None:
        """Both snapshots (ok, every module built) split by file for the diff (bot/store/pairs.py)."""
        if self._unborn:
            return None
        with database_errors(self._engine.url), self._engine.connect() as connection:
            return find_pair(connection, repository, base_sha, head_sha, toolchain_key, renames)

    def stored_blocks(
        self, repository: str, sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> list[tuple[BlockKey, tuple[Escape, ...]]]:
        """The blocks of a stored snapshot's packages (bot/store/blocks.py), for a build of a
        later commit to take in place of the events it prints again: each key with its package's
        records read without explanations. Their content goes to the per-package memo (as
        `pair_with_base` leaves head's), so that pairing and recording a head that took them
        computes nothing for them; packages with a file in `renames` are left out."""
        if self._unborn:
            return []
        skip = frozenset(renames) | frozenset(renames.values())
        with database_errors(self._engine.url), self._engine.connect() as connection:
            row = self._snapshot_row(connection, repository, sha, toolchain_key)
            if row is None or row.status != OK:
                return []
            found = stored_blocks(connection, json.loads(row.package_result_ids), skip)
        for package in found:
            self._contents[package.content.package] = (package.records, package.content)
            self._light.update(map(id, package.records))
            self._light_kept.append(package.records)
        return [(key, package.records) for package in found for key in package.keys]

    def pair_with_base(
        self, repository: str, base_sha: str, toolchain_key: str, head: Snapshot, renames: Mapping[str, str]
    ) -> StoredPair | None:
        """The stored base and `head`, built and not stored yet, split by file by content digest
        (bot/store/pairs.py). Head's digests go to the per-package memo, so that recording head
        next (here or in the child process, which inherits the memo) computes nothing again."""
        if self._unborn:
            return None
        with gc_paused():
            packages = split_escapes(head.escapes, self._contents, self._light)
        digests = {(p.package, f.file): f.digest for p in packages for f in p.files}
        with database_errors(self._engine.url), self._engine.connect() as connection:
            return pair_with_base(connection, repository, base_sha, toolchain_key, head, digests, renames)
