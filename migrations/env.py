"""Alembic environment: run in-process by `bot.store.db`, with a connection or a URL.

One transaction for the whole upgrade, taken with a lock so that concurrent first runs
(several CI jobs opening one new database) create the schema once: an advisory lock on
PostgreSQL, the write lock (BEGIN IMMEDIATE) on SQLite. SQLite uses batch mode, which
recreates tables for the ALTERs it lacks.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.store.db import WRITE_OPTION, make_engine
from bot.store.models import metadata

# Any constant works; every escape-bot migration run takes this one.
_PG_LOCK = int.from_bytes(b"escbotmg", "big") >> 1


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    connection.execution_options(**{WRITE_OPTION: True})
    with connection.begin():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        # Configured inside our transaction: Alembic then runs every revision in it.
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
            transactional_ddl=True,
        )
        context.run_migrations()
        if sqlite:
            # Foreign keys are off while tables are recreated; check them before committing.
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign key violations after migrating: {broken[:5]}")


def run_migrations_online() -> None:
    """Run with the connection `bot.store.db` passed, or a new one to `attributes['url']`."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a URL via bot.store.db.alembic_config(url)")
    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations_online()
