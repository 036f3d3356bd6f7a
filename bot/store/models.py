"""The store's tables (SQLAlchemy 2 typed declarative). Private to `bot.store`.

From a snapshot down to its escapes (docs/storage.md describes every column for people
who write SQL against it):

    repository ─< git_commit ─< snapshot ─< snapshot_cause_count
    snapshot.package_result_ids ─> package_result ─< package_file >─ file_result ─< escape_site

`package_result` and `file_result` are content-addressed (unique sha256 `digest`), so a
commit that edits one file of one package adds one `file_result` with its escape rows,
one `package_result` with its file links, and otherwise only refers to existing rows.

A snapshot lists its package results in one JSON array rather than a row per package:
a link row per package per commit would cost more than the changed escapes themselves
(docs/storage.md, "Store benchmark"). The views `snapshot_package` and
`snapshot_package_count`, created by the migrations and not mapped here, give SQL users
the same list as rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints: SQLite batch migrations recreate tables and can only drop or alter
# constraints they can name; the names are also stable across backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHA_LENGTH = 64  # SHA-256 git object names; SHA-1 ones (40) fit too
DIGEST_LENGTH = 64  # hex sha256


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so values are normalised to
    UTC before they are written and come back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # naive values are taken to be UTC already
            return value if dialect.name == "sqlite" else value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Repository(Base):
    """A repository, by the name the bot was given (e.g. `owner/name`)."""

    __tablename__ = "repository"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)


class Commit(Base):
    """A git commit of a repository (not `commit`: a keyword SQLite refuses as a bare name)."""

    __tablename__ = "git_commit"
    __table_args__ = (UniqueConstraint("repository_id", "sha"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    sha: Mapped[str] = mapped_column(String(SHA_LENGTH))
    parents: Mapped[str] = mapped_column(Text)  # space-separated shas, first parent first
    branch: Mapped[str | None] = mapped_column(Text)
    author_name: Mapped[str] = mapped_column(Text)
    author_email: Mapped[str] = mapped_column(Text)
    authored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(Text)


class Snapshot(Base):
    """One commit built with one toolchain: the results (status `ok`) or why there are none."""

    __tablename__ = "snapshot"
    __table_args__ = (
        UniqueConstraint("commit_id", "toolchain_key"),
        CheckConstraint("status IN ('ok', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commit_id: Mapped[int] = mapped_column(ForeignKey("git_commit.id", ondelete="CASCADE"))
    toolchain_key: Mapped[str] = mapped_column(Text)
    go_version: Mapped[str] = mapped_column(String(64))
    goos: Mapped[str] = mapped_column(String(32))
    goarch: Mapped[str] = mapped_column(String(32))
    tags: Mapped[str] = mapped_column(Text)  # JSON array, as given
    flags: Mapped[str] = mapped_column(Text)  # JSON array, as given
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escape_count: Mapped[int] = mapped_column(Integer)  # escape sites in the snapshot
    package_count: Mapped[int] = mapped_column(Integer)  # packages with at least one escape
    # ParseStats, so a stored snapshot comes back as it was recorded
    lines: Mapped[int] = mapped_column(Integer)
    parsed_packages: Mapped[int] = mapped_column(Integer)
    unknown_lines: Mapped[int] = mapped_column(Integer)
    generated_skipped: Mapped[int] = mapped_column(Integer)
    duplicates_collapsed: Mapped[int] = mapped_column(Integer)
    unknown_samples: Mapped[str] = mapped_column(Text)  # JSON array
    package_result_ids: Mapped[str] = mapped_column(Text)  # JSON array of package_result.id, ascending


class PackageResult(Base):
    """The escapes of one package, content-addressed: shared by every snapshot that has them."""

    __tablename__ = "package_result"
    __table_args__ = (Index(None, "package"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    package: Mapped[str] = mapped_column(Text)
    escape_count: Mapped[int] = mapped_column(Integer)


class FileResult(Base):
    """The escapes of one source file, content-addressed: the unit that holds escape rows."""

    __tablename__ = "file_result"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    file: Mapped[str] = mapped_column(Text)
    escape_count: Mapped[int] = mapped_column(Integer)


class PackageFile(Base):
    """Which file results make up a package result."""

    __tablename__ = "package_file"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - the key is the row

    package_result_id: Mapped[int] = mapped_column(
        ForeignKey("package_result.id", ondelete="CASCADE"), primary_key=True
    )
    file_result_id: Mapped[int] = mapped_column(ForeignKey("file_result.id"), primary_key=True)


class EscapeSite(Base):
    """One escape (an `Escape` record without its package and file, which its parents hold)."""

    __tablename__ = "escape_site"

    file_result_id: Mapped[int] = mapped_column(
        ForeignKey("file_result.id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)  # canonical order in the file
    line: Mapped[int] = mapped_column(Integer)
    col: Mapped[int] = mapped_column(Integer)  # not `column`: a reserved word in SQL
    function: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    expression: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    line_text: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)  # compact JSON, docs/storage.md


class SnapshotCauseCount(Base):
    """Escape sites per (cause, kind) in a snapshot: trend queries read these, never escapes."""

    __tablename__ = "snapshot_cause_count"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - the key is the row

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id", ondelete="CASCADE"), primary_key=True)
    cause: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
