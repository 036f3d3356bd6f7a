"""Real databases for the store tests: SQLite in tmp_path and PostgreSQL in a fresh schema.

`db_url` is parametrised over both backends. PostgreSQL is the one at
`ESCAPE_BOT_TEST_POSTGRESQL_URL` (default `postgresql://postgres@127.0.0.1:5432/test`);
each test gets its own schema (selected with libpq's `options=-csearch_path=...`), dropped
afterwards. When the server is unreachable the PostgreSQL cases are skipped, except when
`CI=true`: CI must run the whole suite against both backends, so there they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bot.store import Store

POSTGRESQL_URL = os.environ.get("ESCAPE_BOT_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgresql_server() -> str:
    """The base PostgreSQL URL, once it answered."""
    try:
        psycopg.connect(POSTGRESQL_URL, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    else:
        return POSTGRESQL_URL
    message = f"PostgreSQL at {POSTGRESQL_URL} is unreachable: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI must start it before the tests)", pytrace=False)
    pytest.skip(message)


def with_search_path(url: str, schema: str) -> str:
    """`url` with libpq's `options` selecting `schema` for every connection."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


def with_password(url: str, password: str = "secret") -> str:
    """`url` with a password (the test server trusts loopback, so any password works)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


@contextmanager
def database(kind: str, request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """An empty database: a SQLite file in `directory`, or a fresh PostgreSQL schema dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{directory}/escapes.db"
        return
    base = request.getfixturevalue("postgresql_server")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL of an empty database, on each backend."""
    with database(request.param, request, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL of an empty PostgreSQL schema, for behaviour only PostgreSQL has."""
    with database("postgresql", request, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open store on an empty database (created at head)."""
    with Store.open(db_url) as opened:
        yield opened
