"""Engines, URLs and the schema's lifecycle (Alembic, in-process).

SQLite runs in WAL mode with a busy timeout, and write transactions start with
`BEGIN IMMEDIATE`, so concurrent writers queue for the lock instead of failing when a
read transaction tries to upgrade itself to a write. PostgreSQL goes through psycopg 3.
URLs are only ever shown through `redact`.
"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, InterfaceError, OperationalError

from bot.errors import SchemaOutdatedError, StoreError
from bot.store.models import metadata

if TYPE_CHECKING:  # Alembic is imported only to create or migrate a schema (~0.2 s of start-up)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# migrations/ at the top of the repository, installed as the package bot.store.migrations
MIGRATIONS = Path(str(resources.files("bot.store.migrations")))

# How long a SQLite writer waits for another one to commit. An ingest holds the lock for
# about a second; 60 s leaves room for many queued writers on slow CI disks.
SQLITE_BUSY_TIMEOUT_MS = 60_000

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
WRITE_OPTION = "escape_bot_write"

_OWN_TABLES = frozenset(metadata.tables)
_DEFAULT_DRIVERS = frozenset({"sqlite+pysqlite", "postgresql+psycopg"})


def redact(url: str | URL) -> str:
    """The URL with its password replaced by `***`, for messages and logs.

    The drivers `make_engine` picks by default are left out (`sqlite:///x.db`, not
    `sqlite+pysqlite:///x.db`), so users see URLs as they write them.
    """
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (ArgumentError, ValueError):
            # Not parseable as a URL: still never show what looks like `user:password@`.
            return re.sub(r"(//[^/:@]*):[^@/]*@", r"\1:***@", str(url))
    if url.drivername in _DEFAULT_DRIVERS:
        url = url.set(drivername=url.get_backend_name())
    return url.render_as_string(hide_password=True)


def upgrade_command(url: str | URL) -> str:
    """The command that upgrades this very database (a bare `db upgrade` would upgrade the
    repository's default SQLite file), password masked, quoted for a POSIX shell."""
    return f"escape-bot db upgrade --db {shlex.quote(redact(url))}"


def _normalise(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreError(f"not a database URL: {redact(url)}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed.set(drivername="sqlite+pysqlite")
    raise StoreError(
        f"unsupported database URL {redact(parsed)}: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for other backends and in-memory databases."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # URI filenames: leave them to SQLite
        return None
    return Path(database)


Access = Literal["write", "read", "auto"]
"""How a command uses the database: it records (`write`), only reads (`read`: trend, top, blame),
or reads and records when it may (`auto`: diff)."""


def asks_read_only(url: URL) -> bool:
    """`sqlite:///PATH?mode=ro`: the user asks for a read-only open."""
    return url.get_backend_name() == "sqlite" and url.query.get("mode") == "ro"


def writable(path: Path) -> bool:
    """Whether this process may change a SQLite file and create its -wal and -shm files beside it.
    False on a read-only file system even for root (EROFS), who passes every permission check."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    directory = next(p for p in path.parents if p.exists())  # where make_engine creates the rest
    return os.access(directory, os.W_OK)


def read_only(url: str, access: Access) -> bool:
    """Whether to open `url` read-only; a StoreError (one line saying "read-only") when a command
    that records meets a SQLite file it cannot change."""
    parsed = _normalise(url)
    path = sqlite_path(parsed)
    asked = asks_read_only(parsed)
    if access == "read":
        return True
    if not asked and (path is None or writable(path)):
        return False
    if access == "write":
        why = "opened with ?mode=ro" if asked else "the file or its directory is not writable"
        raise StoreError(f"database {redact(parsed)} is read-only ({why}): this command records into it")
    return True


def make_engine(url: str, *, foreign_keys: bool = True, read_only: bool = False) -> Engine:
    """An engine for a SQLite or PostgreSQL URL (`postgres://` and `postgresql://` use psycopg 3).

    A SQLite file's parent directory is created. `foreign_keys=False` is for migrations,
    which recreate tables on SQLite (https://www.sqlite.org/lang_altertable.html#otheralter).
    `read_only` (or `?mode=ro` on a SQLite URL) opens a SQLite file as docs/storage.md says
    ("Read-only databases"): it must exist, and nothing is written to it, its directory, or its
    journal mode.
    """
    parsed = _normalise(url)
    path = sqlite_path(parsed)
    if path is not None and (read_only or asks_read_only(parsed)):
        return _read_only_sqlite(parsed.difference_update_query(["mode"]), path, foreign_keys=foreign_keys)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of {redact(parsed)}: {exc.strerror}") from None
    engine = create_engine(parsed)
    if parsed.get_backend_name() == "sqlite":  # (a URI filename read-only too: no WAL switch then)
        _configure_sqlite(engine, foreign_keys=foreign_keys, read_only=read_only or asks_read_only(parsed))
    return engine


def _read_only_sqlite(url: URL, path: Path, *, foreign_keys: bool) -> Engine:
    """SQLite's own read-only open (`mode=ro`). Where nobody can write (a read-only directory or
    file system) and no write-ahead log is left over, also `immutable=1`: SQLite then needs no
    -shm file, which it could not create there (https://www.sqlite.org/uri.html)."""
    if not path.is_file():
        raise StoreError(
            f"database {redact(url)} does not exist: nothing was recorded yet "
            "(`escape-bot backfill`, `escape-bot collect --record`)"
        )
    immutable = not writable(path) and not path.with_name(path.name + "-wal").exists()
    uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")
    engine = create_engine(url, creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))
    _configure_sqlite(engine, foreign_keys=foreign_keys, read_only=True)
    return engine


def _configure_sqlite(engine: Engine, *, foreign_keys: bool, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below); the sqlite3 module's implicit
        # transactions would otherwise skip BEGIN before SELECTs and DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The timeout first: switching to WAL needs a lock another connection may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # Set WAL only when it is not set yet: the database remembers it, and asking again
        # while another process writes can fail at once with "database is locked".
        # (never on a read-only open: that is a write)
        if not read_only and cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL loses no committed transaction when a process is killed,
        # only on power loss (https://www.sqlite.org/pragma.html#pragma_synchronous).
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with
        # SQLITE_BUSY if another writer committed meanwhile; IMMEDIATE takes the write
        # lock up front and so waits out the busy timeout like any other writer.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction: committed on success, rolled back on error."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


def _reason(exc: DBAPIError, url: URL) -> str:
    """The driver's first line, without the password should the driver echo it."""
    text = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def store_error(exc: DBAPIError, url: URL) -> StoreError:
    """A one-line StoreError for a driver error, URL redacted."""
    reason = _reason(exc, url)
    if "readonly" in reason:  # SQLite's "attempt to write a readonly database"
        return StoreError(f"database {redact(url)} is read-only: {reason}")
    return StoreError(f"database {redact(url)}: {reason}")


_ENVIRONMENT_SQLSTATES = frozenset({"25006", "42501"})  # read_only_sql_transaction, insufficient_privilege


def not_writable(exc: DBAPIError) -> bool:
    """PostgreSQL refused a write for the environment's sake (a read-only transaction or replica,
    a role without the privilege): a StoreError, not a bug."""
    return getattr(exc.orig, "sqlstate", None) in _ENVIRONMENT_SQLSTATES


@contextmanager
def database_errors(url: URL) -> Iterator[None]:
    """Turn the environment's errors (server unreachable, file locked or unwritable) into a StoreError.

    Other driver errors (integrity, programming) are bugs and propagate as they are.
    """
    try:
        yield
    except DBAPIError as exc:
        # A bare DatabaseError is SQLite's "file is not a database".
        if isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError:
            raise store_error(exc, url) from None
        if not_writable(exc):
            raise store_error(exc, url) from None
        raise


# --- Alembic ------------------------------------------------------------------------------

VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """A programmatic Alembic config for the migrations shipped in this package.

    The URL travels in `attributes`, not in the ini options, where configparser would
    choke on `%` (percent-encoded URLs) and the password could end up in output.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # `alembic revision` names files v0003_slug.py: importable module names (mypy, ruff).
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


_REVISION = re.compile(r'^revision = "([^"]+)"$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision = (?:None|"([^"]+)")$', re.MULTILINE)


def file_head() -> str | None:
    """The head revision read from the migration files' `revision` / `down_revision` lines, without
    Alembic: the one revision no other revises; None if the files do not say it plainly (then
    `head_revision` decides). Opening a database at head needs nothing more."""
    revisions, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("v*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            downs.add(down.group(1))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def head_revision() -> str:
    """The schema revision this escape-bot's models correspond to."""
    head = _script().get_current_head()
    assert head is not None, "the migrations have a single head"
    return head


def revisions() -> list[str]:
    """All schema revisions, oldest first."""
    return [script.revision for script in reversed(list(_script().walk_revisions()))]


def _current(connection: Connection, url: URL, *, has_table: bool | None = None) -> str | None:
    """The database's revision(s) as Alembic records them; `has_table` when the caller knows
    whether the version table exists."""
    if has_table is None:
        has_table = inspect(connection).has_table(VERSION_TABLE)
        connection.rollback()
    heads: list[str] = []
    if has_table:
        heads = list(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    connection.rollback()  # end the read transaction so that no lock outlives the check
    if len(heads) > 1:
        raise StoreError(f"database {redact(url)} has several schema revisions ({', '.join(heads)})")
    return heads[0] if heads else None


def current(url: str) -> str | None:
    """The schema revision of the database at `url`; None when it has none (empty or missing)."""
    path = sqlite_path(_normalise(url))
    if path is not None and not path.exists():
        return None  # connecting would create the file: asking must not
    engine = make_engine(url, read_only=path is not None)
    try:
        with database_errors(engine.url), engine.connect() as connection:
            return _current(connection, engine.url)
    finally:
        engine.dispose()


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What `upgrade` did."""

    before: str | None
    after: str
    backup: Path | None  # the SQLite copy made before changing the schema

    @property
    def changed(self) -> bool:
        """True when the schema was changed."""
        return self.before != self.after


def _run_migrations(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    with engine.connect() as connection:
        try:
            command.upgrade(alembic_config(connection=connection), revision)
        except CommandError as exc:
            raise StoreError(f"cannot upgrade database {redact(engine.url)}: {exc}") from None


def _backup_sqlite(path: Path, revision: str) -> Path:
    """Copy a SQLite database with SQLite's online backup, which includes the WAL's pages."""
    target = path.with_name(f"{path.name}.bak-{revision}")
    source = sqlite3.connect(path)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return target


def upgrade(url: str, revision: str = "head") -> Upgrade:
    """Upgrade the schema at `url` to `revision` in-process; back a SQLite file up first.

    An empty database is created at `revision`. Concurrent upgrades are serialised by the
    migration environment (an advisory lock on PostgreSQL, the write lock on SQLite).
    """
    engine = make_engine(url, foreign_keys=False)
    try:
        with database_errors(engine.url):
            with engine.connect() as connection:
                before = _current(connection, engine.url)
            script = _script()
            target = script.get_revision(revision)
            if target is None:
                raise StoreError(f"unknown schema revision {revision!r}")
            if before is not None and before not in revisions():
                raise _unknown_revision(engine.url, before)
            backup = None
            path = sqlite_path(engine.url)
            if before is not None and before != target.revision and path is not None:
                backup = _backup_sqlite(path, before)
            _run_migrations(engine, target.revision)
            with engine.connect() as connection:
                after = _current(connection, engine.url)
    finally:
        engine.dispose()
    assert after is not None
    return Upgrade(before, after, backup)


def _unknown_revision(url: URL, revision: str) -> StoreError:
    return StoreError(
        f"database {redact(url)} is at revision {revision}, which this escape-bot does not know: "
        "it was written by a newer escape-bot; upgrade escape-bot"
    )


def check_schema(engine: Engine, *, create: bool = True, defer: bool = False) -> bool:
    """Make sure the database is at head: create an empty one (unless not `create`: a read-only
    open never migrates), refuse an older or unknown one. With `defer`, an empty database is
    left empty and True returned: its creator then creates it (`Store._born`) when it first
    writes, which is where Alembic is imported (~0.1 s)."""
    url = engine.url
    with database_errors(url):
        with engine.connect() as connection:
            # Tables first, then the revision: a concurrent first run commits both at once,
            # so this order never sees its tables without its alembic_version row.
            tables = set(inspect(connection).get_table_names())
            connection.rollback()
            ours = _OWN_TABLES & tables
            revision = _current(connection, url, has_table=VERSION_TABLE in tables)
        if revision is not None and revision == file_head():
            return False  # the common case, decided without importing Alembic
        if revision is None and not ours and create and defer:
            return True
        head = head_revision()
        if revision is None:
            if ours:
                raise StoreError(
                    f"database {redact(url)} has escape-bot tables but no schema revision "
                    "(alembic_version): it was not created by escape-bot"
                )
            if not create:
                raise StoreError(
                    f"database {redact(url)} is empty: nothing was recorded in it yet "
                    "(`escape-bot backfill`, `escape-bot collect --record`)"
                )
            # Through the migrations rather than metadata.create_all, so the database is
            # stamped and gets exactly what an upgraded one has (views included).
            _run_migrations(engine, head)
            with engine.connect() as connection:
                revision = _current(connection, url)
    if revision == head:
        return False
    if revision in revisions():
        raise SchemaOutdatedError(
            f"database {redact(url)} is at revision {revision}, this escape-bot needs {head}: "
            f"run `{upgrade_command(url)}`"
        )
    raise _unknown_revision(url, str(revision))
