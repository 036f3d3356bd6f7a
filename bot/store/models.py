"""The store's tables (SQLAlchemy Core `Table`s). Private to `bot.store`.

Core rather than declarative classes: the store reads and writes through Core statements on a
`Connection` and never maps rows to objects, and `sqlalchemy.orm` is a third of the start-up of
`trend`/`top` (docs/performance.md).

From a snapshot down to its escapes (docs/storage.md describes every column for people
who write SQL against it):

    repository ─< git_commit ─< snapshot ─< snapshot_cause_count
    snapshot.package_result_ids ─> package_result ─< package_file >─ file_result ─< escape_site
                                   package_result ─< package_block

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
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

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


metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _column(name: str, type_: Any, *args: Any, nullable: bool = False, **kwargs: Any) -> Column[Any]:
    """A column, NOT NULL unless said otherwise (what the typed declarative models had)."""
    return Column(name, type_, *args, nullable=nullable, **kwargs)


def _key(name: str, type_: Any, *args: Any) -> Column[Any]:
    return Column(name, type_, *args, primary_key=True)


# A repository, by the name the bot was given (e.g. `owner/name`).
Repository = Table(
    "repository",
    metadata,
    _key("id", Integer),
    _column("name", Text, unique=True),
)

# A git commit of a repository (not `commit`: a keyword SQLite refuses as a bare name).
Commit = Table(
    "git_commit",
    metadata,
    _key("id", Integer),
    _column("repository_id", Integer, ForeignKey("repository.id", ondelete="CASCADE")),
    _column("sha", String(SHA_LENGTH)),
    _column("parents", Text),  # space-separated shas, first parent first
    _column("branch", Text, nullable=True),
    _column("author_name", Text),
    _column("author_email", Text),
    _column("authored_at", UTCDateTime),
    _column("committed_at", UTCDateTime),
    _column("subject", Text),
    UniqueConstraint("repository_id", "sha"),
)

# One commit built with one toolchain: the results (status `ok`) or why there are none.
Snapshot = Table(
    "snapshot",
    metadata,
    _key("id", Integer),
    _column("commit_id", Integer, ForeignKey("git_commit.id", ondelete="CASCADE")),
    _column("toolchain_key", Text),
    _column("go_version", String(64)),
    _column("goos", String(32)),
    _column("goarch", String(32)),
    _column("tags", Text),  # JSON array, as given
    _column("flags", Text),  # JSON array, as given
    _column("status", String(16)),
    _column("error", Text, nullable=True),
    _column("created_at", UTCDateTime),
    _column("escape_count", Integer),  # escape sites in the snapshot
    _column("package_count", Integer),  # packages with at least one escape
    # ParseStats, so a stored snapshot comes back as it was recorded
    _column("lines", Integer),
    _column("parsed_packages", Integer),
    _column("unknown_lines", Integer),
    _column("generated_skipped", Integer),
    _column("duplicates_collapsed", Integer),
    _column("unknown_samples", Text),  # JSON array
    _column("package_result_ids", Text),  # JSON array of package_result.id, ascending
    UniqueConstraint("commit_id", "toolchain_key"),
    CheckConstraint("status IN ('ok', 'failed')", name="status"),
)

# The escapes of one package, content-addressed: shared by every snapshot that has them.
PackageResult = Table(
    "package_result",
    metadata,
    _key("id", Integer),
    _column("digest", String(DIGEST_LENGTH), unique=True),
    _column("package", Text),
    _column("escape_count", Integer),
    Index(None, "package"),
)

# The escapes of one source file, content-addressed: the unit that holds escape rows.
FileResult = Table(
    "file_result",
    metadata,
    _key("id", Integer),
    _column("digest", String(DIGEST_LENGTH), unique=True),
    _column("file", Text),
    _column("escape_count", Integer),
)

# What a package result was parsed from, when it was one block of the compiler's `-json` log
# (bot/gc/reuse.py): a later build that prints the same event over the same source files takes
# the stored records instead of parsing them. `digest` addresses the row's content.
PackageBlock = Table(
    "package_block",
    metadata,
    _key("id", Integer),
    _column("digest", String(DIGEST_LENGTH), unique=True),
    _column("package_result_id", Integer, ForeignKey("package_result.id", ondelete="CASCADE"), index=True),
    _column("block_key", String(DIGEST_LENGTH)),  # hex sha256 of the parser's setup and the event
    _column("files", Text),  # JSON [[printed name, hex digest of its text], ...]
    _column("lines", Integer),
    _column("generated_skipped", Integer),
    _column("collapsed", Integer),
)

# Which file results make up a package result.
PackageFile = Table(
    "package_file",
    metadata,
    _key("package_result_id", Integer, ForeignKey("package_result.id", ondelete="CASCADE")),
    _key("file_result_id", Integer, ForeignKey("file_result.id")),
    sqlite_with_rowid=False,  # the key is the row
)

# One escape (an `Escape` record without its package and file, which its parents hold).
EscapeSite = Table(
    "escape_site",
    metadata,
    _key("file_result_id", Integer, ForeignKey("file_result.id", ondelete="CASCADE")),
    _key("ordinal", Integer),  # canonical order in the file
    _column("line", Integer),
    _column("col", Integer),  # not `column`: a reserved word in SQL
    _column("function", Text),
    _column("kind", String(32)),
    _column("expression", Text),
    _column("message", Text),
    _column("cause", String(32)),
    _column("count", Integer),
    _column("line_text", Text),
    _column("explanation", Text),  # compact JSON, docs/storage.md
)

# Escape sites per (cause, kind) in a snapshot: trend queries read these, never escapes.
SnapshotCauseCount = Table(
    "snapshot_cause_count",
    metadata,
    _key("snapshot_id", Integer, ForeignKey("snapshot.id", ondelete="CASCADE")),
    _key("cause", String(32)),
    _key("kind", String(32)),
    _column("count", Integer),
    sqlite_with_rowid=False,  # the key is the row
)
