"""Engines, URLs and the schema lifecycle: create at head, check, upgrade, refuse outdated."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot.errors import EXIT_FAILURE, SchemaOutdatedError, StoreError
from bot.gc.model import BlockKey, Cause, Escape, Kind, Snapshot
from bot.store import Store, current, redact, upgrade
from bot.store.content import split_escapes
from bot.store.db import alembic_config, head_revision, make_engine, revisions, sqlite_path

from .conftest import with_password
from .factories import TOOLCHAIN, make_commit

FIRST = "0001"
TABLES = {
    "repository",
    "git_commit",
    "snapshot",
    "package_result",
    "file_result",
    "package_file",
    "escape_site",
    "snapshot_cause_count",
}
VIEWS = {"snapshot_package", "snapshot_package_count"}


def test_revisions_are_a_line() -> None:
    assert revisions()[0] == FIRST
    assert revisions()[-1] == head_revision()
    assert len(revisions()) >= 2


def test_empty_database_is_created_at_head(db_url: str) -> None:
    assert current(db_url) is None
    Store.open(db_url).close()
    assert current(db_url) == head_revision()
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert TABLES | {"alembic_version"} <= set(inspect(connection).get_table_names())
            assert set(inspect(connection).get_view_names()) >= VIEWS
    finally:
        engine.dispose()
    Store.open(db_url).close()  # and opening it again is fine


def test_models_and_migrations_agree(db_url: str) -> None:
    upgrade(db_url)
    # `alembic check`: autogenerate finds nothing to add, drop or alter.
    command.check(alembic_config(db_url))


def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    upgrade(db_url)
    command.downgrade(alembic_config(db_url), "base")
    assert current(db_url) is None
    result = upgrade(db_url)
    assert (result.before, result.after) == (None, head_revision())
    command.check(alembic_config(db_url))


def _insert_first_revision_data(url: str) -> list[Escape]:
    """Rows written with plain SQL as revision 0001 laid them out."""
    escapes = [
        Escape("m/p", "p/a.go", 3, 9, "(*T).M", Kind.ESCAPES_TO_HEAP, "&T{...}", "&T{...} escapes to heap",
               Cause.RETURNED, line_text="\treturn &T{}"),
        Escape("m/p", "p/a.go", 7, 2, "f", Kind.MOVED_TO_HEAP, "x", "moved to heap: x", Cause.CLOSURE_CAPTURE,
               line_text="\tx := 0"),
        Escape("m/q", "q/b.go", 1, 0, "g", Kind.LEAKING_PARAM, "p", "leaking param: p", Cause.RETURNED),
    ]  # fmt: skip
    engine = make_engine(url)
    try:
        with engine.begin() as db:
            # No explicit ids: on PostgreSQL they would leave the sequences behind.
            def insert(sql: str, **values: object) -> int:
                return int(db.execute(text(f"{sql} RETURNING id"), values).scalar_one())

            repository = insert("INSERT INTO repository (name) VALUES ('acme/old')")
            commit = insert(
                "INSERT INTO git_commit (repository_id, sha, parents, branch, author_name, author_email,"
                " authored_at, committed_at, subject) VALUES (:r, :sha, '', 'main', 'Ada', 'ada@x',"
                " '2024-05-01 10:00:00', '2024-05-01 10:00:00', 'old commit')",
                r=repository,
                sha="a" * 40,
            )
            package_ids: list[int] = []
            for package in split_escapes(escapes):
                package_id = insert(
                    "INSERT INTO package_result (digest, package, escape_count) VALUES (:d, :p, :n)",
                    d=package.digest,
                    p=package.package,
                    n=package.escape_count,
                )
                package_ids.append(package_id)
                for file in package.files:
                    file_id = insert(
                        "INSERT INTO file_result (digest, file, escape_count) VALUES (:d, :f, :n)",
                        d=file.digest,
                        f=file.file,
                        n=len(file.rows),
                    )
                    db.execute(
                        text("INSERT INTO package_file (package_result_id, file_result_id) VALUES (:p, :f)"),
                        {"p": package_id, "f": file_id},
                    )
                    for ordinal, row in enumerate(file.rows):
                        db.execute(
                            text(
                                "INSERT INTO escape_site (file_result_id, ordinal, line, col, function, kind,"
                                " expression, message, cause, count, line_text, explanation)"
                                " VALUES (:f, :o, :l, :c, :fn, :k, :e, :m, :ca, :n, :lt, :ex)"
                            ),
                            dict(zip(["f", "o", "l", "c", "fn", "k", "e", "m", "ca", "n", "lt", "ex"],
                                     (file_id, ordinal, *row), strict=True)),
                        )  # fmt: skip
            insert(
                "INSERT INTO snapshot (commit_id, toolchain_key, go_version, goos, goarch, tags, flags,"
                " status, error, created_at, escape_count, package_count, lines, parsed_packages,"
                " unknown_lines, generated_skipped, duplicates_collapsed, unknown_samples,"
                " package_result_ids)"
                " VALUES (:c, :key, :go, :os, :arch, :tags, :flags, 'ok', NULL, '2024-05-01 10:05:00',"
                " 3, 2, 40, 2, 0, 0, 0, '[]', :ids)",
                c=commit,
                key=TOOLCHAIN.key,
                go=TOOLCHAIN.go_version,
                os=TOOLCHAIN.goos,
                arch=TOOLCHAIN.goarch,
                tags='["netgo","osusergo"]',
                flags='["-trimpath"]',
                ids=json.dumps(package_ids),
            )
    finally:
        engine.dispose()
    return escapes


def test_upgrade_from_the_first_revision_carries_data_forward(db_url: str) -> None:
    upgrade(db_url, FIRST)
    assert current(db_url) == FIRST
    escapes = _insert_first_revision_data(db_url)

    result = upgrade(db_url)

    assert (result.before, result.after) == (FIRST, head_revision())
    path = sqlite_path(make_url(db_url))
    if path is not None:  # SQLite files are backed up before the schema changes
        assert result.backup == Path(f"{path}.bak-{FIRST}")
        assert current(f"sqlite:///{result.backup}") == FIRST
    else:
        assert result.backup is None
    engine = make_engine(db_url)
    try:
        with engine.connect() as db:
            assert db.execute(text("SELECT sha, subject FROM git_commit")).all() == [("a" * 40, "old commit")]
            # the new aggregate table was backfilled from the stored escapes ...
            causes = db.execute(
                text("SELECT cause, kind, count FROM snapshot_cause_count ORDER BY cause, kind")
            ).all()
            assert causes == [
                ("closure-capture", "moved-to-heap", 1),
                ("returned", "escapes-to-heap", 1),
                ("returned", "leaking-param", 1),
            ]
            # ... and the new view reads the per-package counts
            packages = db.execute(
                text("SELECT package, count FROM snapshot_package_count ORDER BY package")
            ).all()
            assert packages == [("m/p", 2), ("m/q", 1)]
    finally:
        engine.dispose()

    with Store.open(db_url) as store:
        found = store.find_snapshot("acme/old", "a" * 40, TOOLCHAIN.key)
        assert found is not None
        assert found.escapes == tuple(escapes)
        # 0003: an old snapshot has no parsed blocks to offer, a new one stores its own
        assert store.stored_blocks("acme/old", "a" * 40, TOOLCHAIN.key, {}) == []
        block = BlockKey("m/p", "ab" * 32, (("p/a.go", "cd" * 20),), 12, 0, 1, 2)
        # the old rows are found by digest: recording the same content again adds no result rows
        sha = "b" * 40
        assert store.record_snapshot(
            "acme/old", make_commit(sha), Snapshot(sha, sha, TOOLCHAIN, found.escapes, blocks=(block,))
        )
        [(stored, records)] = store.stored_blocks("acme/old", sha, TOOLCHAIN.key, {})
        assert stored == block and records == found.escapes[:2]
    engine = make_engine(db_url)
    try:
        with engine.connect() as db:
            assert db.execute(text("SELECT COUNT(*) FROM package_result")).scalar_one() == 2
            assert db.execute(text("SELECT COUNT(*) FROM escape_site")).scalar_one() == 3
    finally:
        engine.dispose()


def test_outdated_database_asks_for_an_upgrade_without_showing_the_password(db_url: str) -> None:
    url = with_password(db_url)
    upgrade(url, FIRST)
    with pytest.raises(SchemaOutdatedError) as raised:
        Store.open(url)
    message = str(raised.value)
    assert message == (
        f"database {redact(url)} is at revision {FIRST}, this escape-bot needs {head_revision()}: "
        f"run `escape-bot db upgrade --db {shlex.quote(redact(url))}`"
    )
    assert "secret" not in message
    assert "\n" not in message
    assert raised.value.exit_code == EXIT_FAILURE
    upgrade(url)
    Store.open(url).close()


def test_unknown_newer_revision_is_refused(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as db:
            db.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(StoreError, match="revision 9999, which this escape-bot does not know"):
        Store.open(db_url)
    with pytest.raises(StoreError, match="does not know"):
        upgrade(db_url)


def test_tables_without_a_revision_are_not_taken_over(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as db:
            db.execute(text("CREATE TABLE snapshot (id INTEGER PRIMARY KEY)"))
    finally:
        engine.dispose()
    with pytest.raises(StoreError, match="not created by escape-bot"):
        Store.open(db_url)


def test_sqlite_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/deep/er/escapes.db"
    Store.open(url).close()  # creates the directories
    assert (tmp_path / "deep/er/escapes.db").is_file()
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            assert db.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert db.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
            assert db.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgres://u:pw@db.example/escapes", "postgresql+psycopg"),
        ("postgresql://u:pw@db.example/escapes", "postgresql+psycopg"),
        ("postgresql+psycopg://u:pw@db.example/escapes", "postgresql+psycopg"),
        ("sqlite:///relative.db", "sqlite+pysqlite"),
        ("sqlite://", "sqlite+pysqlite"),
    ],
)
def test_url_drivers(url: str, driver: str) -> None:
    engine = make_engine(url)
    assert engine.url.drivername == driver
    engine.dispose()


def test_redact_hides_passwords() -> None:
    assert redact("postgresql://u:hunter2@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert redact("sqlite:///x.db") == "sqlite:///x.db"
    assert "hunter2" not in redact("not a url but //u:hunter2@h")


@pytest.mark.parametrize("url", ["mysql://u:hunter2@h/d", "nonsense://u:hunter2@"])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(StoreError) as raised:
        make_engine(url)
    assert "hunter2" not in str(raised.value)


def test_unreachable_server_is_a_one_line_error_without_password() -> None:
    with pytest.raises(StoreError) as raised:
        Store.open("postgresql://postgres:hunter2@127.0.0.1:1/test?connect_timeout=3")
    message = str(raised.value)
    assert message.startswith("database postgresql://postgres:***@127.0.0.1:1/test")
    assert "hunter2" not in message
    assert "\n" not in message


def test_current_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    assert current(f"sqlite:///{tmp_path}/missing/escapes.db") is None
    assert not (tmp_path / "missing").exists()
