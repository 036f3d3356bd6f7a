"""Store behaviour on both backends: round trip, idempotence, content addressing, failures."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from bot.gc.model import Escape, Snapshot, Toolchain
from bot.store import Store
from bot.store.content import canonical_order, split_escapes
from bot.store.db import make_engine
from bot.store.models import Commit

from .dbutil import TABLES, query, row_counts
from .factories import TOOLCHAIN, edit_package, make_commit, make_escapes, make_snapshot, sha_for, snapshot_of

REPO = "acme/service"


def test_round_trip(store: Store) -> None:
    snapshot = make_snapshot(12, 25, seed=1)
    assert store.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)

    found = store.find_snapshot(REPO, snapshot.commit, TOOLCHAIN.key)

    # escapes come back in canonical order (the factory's is not)
    assert found == replace(snapshot, escapes=canonical_order(snapshot.escapes))
    assert found is not None
    assert found.toolchain == snapshot.toolchain
    assert found.stats == snapshot.stats
    # line_text is outside Escape equality: check it explicitly, with the explanations
    assert [(e.line_text, e.explanation) for e in found.escapes] == [
        (e.line_text, e.explanation) for e in canonical_order(snapshot.escapes)
    ]
    assert any(e.explanation for e in found.escapes)


def test_round_trip_returns_canonical_order_from_any_input_order(store: Store) -> None:
    escapes = make_escapes(4, 20, seed=2)
    random.Random(3).shuffle(escapes)
    snapshot = snapshot_of(escapes, sha_for("shuffled"))
    store.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)
    found = store.find_snapshot(REPO, snapshot.commit, TOOLCHAIN.key)
    assert found == replace(snapshot, escapes=canonical_order(escapes))


def test_accuracy_fields_round_trip(store: Store) -> None:
    escapes = make_escapes(2, 8, seed=4)
    marked = [
        replace(escapes[0], static="constant: read-only data"),
        replace(escapes[1], origin="mk", origin_at="p/p.go:7"),
        replace(escapes[2], generated=True),
        replace(escapes[3], expression="append(e.buf, ...)", appends=3),
        *escapes[4:],
    ]
    snapshot = snapshot_of(marked, sha_for("accuracy"))
    store.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)
    found = store.find_snapshot(REPO, snapshot.commit, TOOLCHAIN.key)
    assert found is not None and found.escapes == canonical_order(marked)
    assert {(e.static, e.origin, e.origin_at, e.generated, e.appends) for e in found.escapes} >= {
        ("constant: read-only data", "", "", False, 0),
        ("", "mk", "p/p.go:7", False, 0),
        ("", "", "", True, 0),
        ("", "", "", False, 3),
    }


def test_snapshot_without_escapes(store: Store) -> None:
    snapshot = Snapshot(sha_for("empty"), sha_for("empty"), TOOLCHAIN, ())
    assert store.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)
    assert store.find_snapshot(REPO, snapshot.commit, TOOLCHAIN.key) == snapshot
    assert store.snapshot_status(REPO, snapshot.commit, TOOLCHAIN.key) == "ok"


def test_same_commit_and_toolchain_twice_is_stored_once(store: Store, db_url: str) -> None:
    snapshot = make_snapshot(5, 10, seed=4)
    commit = make_commit(snapshot.commit)
    assert store.record_snapshot(REPO, commit, snapshot) is True
    before = row_counts(db_url)

    assert store.record_snapshot(REPO, commit, snapshot) is False
    with Store.open(db_url) as other:  # a fresh process's view: nothing cached
        assert other.record_snapshot(REPO, commit, snapshot) is False

    assert row_counts(db_url) == before
    assert before["snapshot"] == 1


def test_other_toolchain_is_another_snapshot(store: Store) -> None:
    snapshot = make_snapshot(3, 10, seed=5)
    arm = replace(snapshot, toolchain=Toolchain("go1.23.4", "linux", "arm64"))
    commit = make_commit(snapshot.commit)
    assert store.record_snapshot(REPO, commit, snapshot)
    assert store.record_snapshot(REPO, commit, arm)
    assert store.find_snapshot(REPO, snapshot.commit, arm.toolchain.key) == replace(
        arm, escapes=canonical_order(arm.escapes)
    )
    assert store.stored_commits(REPO) == {snapshot.commit}
    assert store.stored_commits(REPO, arm.toolchain.key) == {snapshot.commit}
    assert store.stored_commits(REPO, "go1.0/plan9/386/tags=/flags=") == set()


def test_a_changed_package_adds_only_its_changed_file(store: Store, db_url: str) -> None:
    escapes = make_escapes(10, 40, seed=6)
    first = snapshot_of(escapes, sha_for("first"))
    store.record_snapshot(REPO, make_commit(first.commit), first)
    before = row_counts(db_url)

    package = escapes[0].package
    edited = edit_package(escapes, package, random.Random(7))
    second = snapshot_of(edited, sha_for("second"))
    changed_files = {e.file for e in set(edited) ^ set(escapes)} | {
        a.file for a, b in zip(escapes, edited, strict=False) if a.line_text != b.line_text
    }
    assert len(changed_files) == 1
    store.record_snapshot(REPO, make_commit(second.commit, parents=[first.commit], index=1), second)
    after = row_counts(db_url)

    (changed_file,) = changed_files
    in_file = sum(1 for e in edited if e.file == changed_file)
    assert after["snapshot"] - before["snapshot"] == 1
    assert after["package_result"] - before["package_result"] == 1
    assert after["file_result"] - before["file_result"] == 1
    assert after["escape_site"] - before["escape_site"] == in_file  # not 400
    assert after["snapshot_package"] - before["snapshot_package"] == 10  # a link per package
    assert store.find_snapshot(REPO, second.commit, TOOLCHAIN.key) == replace(
        second, escapes=canonical_order(edited)
    )
    assert store.find_snapshot(REPO, first.commit, TOOLCHAIN.key) == replace(
        first, escapes=canonical_order(escapes)
    )


def test_identical_results_in_another_repository_share_rows(store: Store, db_url: str) -> None:
    snapshot = make_snapshot(4, 10, seed=8)
    store.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)
    before = row_counts(db_url)
    store.record_snapshot("acme/fork", make_commit(snapshot.commit), snapshot)
    after = row_counts(db_url)
    grown = {table for table in TABLES if after[table] != before[table]}
    assert grown == {"repository", "git_commit", "snapshot", "snapshot_package", "snapshot_cause_count"}


def test_aggregate_counts(store: Store, db_url: str) -> None:
    snapshot = make_snapshot(6, 30, seed=9)
    store.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)
    by_cause: dict[tuple[str, str], int] = {}
    by_package: dict[str, int] = {}
    for e in snapshot.escapes:
        by_cause[(e.cause.value, e.kind.value)] = by_cause.get((e.cause.value, e.kind.value), 0) + 1
        by_package[e.package] = by_package.get(e.package, 0) + 1

    causes = {(c, k): n for c, k, n in query(db_url, "SELECT cause, kind, count FROM snapshot_cause_count")}
    packages = dict(query(db_url, "SELECT package, count FROM snapshot_package_count"))
    assert causes == by_cause
    assert packages == by_package
    assert query(db_url, "SELECT escape_count, package_count FROM snapshot") == [(180, 6)]


def test_commit_metadata_is_stored(store: Store, db_url: str) -> None:
    snapshot = make_snapshot(1, 2, seed=10)
    commit = make_commit(snapshot.commit, parents=["1" * 40, "2" * 40], index=3)
    store.record_snapshot(REPO, commit, snapshot)
    assert query(db_url, "SELECT sha, parents, branch, subject, author_email FROM git_commit") == [
        (commit.sha, f"{'1' * 40} {'2' * 40}", "main", commit.subject, commit.author_email)
    ]
    engine = make_engine(db_url)
    try:
        with engine.connect() as db:
            authored = db.execute(select(Commit.c.authored_at)).scalar_one()
    finally:
        engine.dispose()
    assert authored == commit.authored_at
    assert authored.tzinfo is UTC


def test_failure_then_success(store: Store) -> None:
    snapshot = make_snapshot(2, 5, seed=11)
    commit = make_commit(snapshot.commit)
    assert store.snapshot_status(REPO, commit.sha, TOOLCHAIN.key) is None

    assert store.record_failure(REPO, commit, TOOLCHAIN, "go build: exit status 1\n./a.go:1: syntax error")
    assert store.record_failure(REPO, commit, TOOLCHAIN, "again") is False
    assert store.snapshot_status(REPO, commit.sha, TOOLCHAIN.key) == "failed"
    assert store.failure(REPO, commit.sha, TOOLCHAIN.key) == "go build: exit status 1\n./a.go:1: syntax error"
    assert store.find_snapshot(REPO, commit.sha, TOOLCHAIN.key) is None
    assert store.stored_commits(REPO) == set()
    assert store.stored_commits(REPO, include_failed=True) == {commit.sha}

    # a later successful build replaces the failure
    assert store.record_snapshot(REPO, commit, snapshot) is True
    assert store.snapshot_status(REPO, commit.sha, TOOLCHAIN.key) == "ok"
    assert store.failure(REPO, commit.sha, TOOLCHAIN.key) is None
    assert store.find_snapshot(REPO, commit.sha, TOOLCHAIN.key) == replace(
        snapshot, escapes=canonical_order(snapshot.escapes)
    )
    # and a failure never overwrites results
    assert store.record_failure(REPO, commit, TOOLCHAIN, "flaky") is False
    assert store.snapshot_status(REPO, commit.sha, TOOLCHAIN.key) == "ok"


def test_huge_error_is_truncated(store: Store) -> None:
    commit = make_commit(sha_for("huge"))
    store.record_failure(REPO, commit, TOOLCHAIN, "x" * 200_000)
    error = store.failure(REPO, commit.sha, TOOLCHAIN.key)
    assert error is not None
    assert len(error) < 70_000
    assert error.endswith("(truncated)")


def test_unknown_things_are_none(store: Store) -> None:
    assert store.find_snapshot("nobody/nothing", "0" * 40, TOOLCHAIN.key) is None
    assert store.snapshot_status("nobody/nothing", "0" * 40, TOOLCHAIN.key) is None
    assert store.stored_commits("nobody/nothing") == set()


def test_snapshot_must_match_the_commit(store: Store) -> None:
    snapshot = make_snapshot(1, 1, seed=12)
    with pytest.raises(ValueError, match="recorded as commit"):
        store.record_snapshot(REPO, make_commit("f" * 40), snapshot)


def test_error_inside_the_transaction_leaves_nothing(store: Store, db_url: str) -> None:
    snapshot = make_snapshot(3, 10, seed=13)

    written: list[int] = []

    def fail_after_escapes(_conn: object, cursor: Any, statement: str, *_: object) -> None:
        # package_file rows follow the escape rows (which PostgreSQL COPYs, unseen by events)
        if statement.startswith("INSERT INTO package_file"):
            written.append(cursor.execute("SELECT COUNT(*) FROM escape_site").fetchone()[0])
            raise RuntimeError("disk on fire")

    event.listen(Engine, "after_cursor_execute", fail_after_escapes)
    try:
        with pytest.raises(RuntimeError, match="disk on fire"):
            store.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)
    finally:
        event.remove(Engine, "after_cursor_execute", fail_after_escapes)
    assert written == [30]  # the failure came after the escape rows were written
    counts = row_counts(db_url)
    assert counts["repository"] == 1  # created in its own transaction, before the ingest
    assert {t: n for t, n in counts.items() if t != "repository"} == dict.fromkeys(TABLES[1:], 0)
    assert store.record_snapshot(REPO, make_commit(snapshot.commit), snapshot)
    assert row_counts(db_url)["escape_site"] == 30


def test_rows_another_writer_commits_meanwhile_are_reused(pg_url: str) -> None:
    # PostgreSQL only: SQLite serialises writers (BEGIN IMMEDIATE), so no row can appear
    # in the middle of another writer's transaction there
    db_url = pg_url
    store = Store.open(db_url)
    escapes = make_escapes(6, 20, seed=14)
    first, second = snapshot_of(escapes, sha_for("first")), snapshot_of(escapes, sha_for("second"))
    other = Store.open(db_url)
    interleaved: list[bool] = []
    started: list[bool] = []

    def commit_same_content_first(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        # Just before our INSERT of file results, another writer commits the same content.
        if statement.startswith("INSERT INTO file_result") and not started:
            started.append(True)  # before the call: the other writer's own INSERT comes here too
            interleaved.append(other.record_snapshot(REPO, make_commit(second.commit), second))

    event.listen(Engine, "before_cursor_execute", commit_same_content_first)
    try:
        assert store.record_snapshot(REPO, make_commit(first.commit), first)
    finally:
        event.remove(Engine, "before_cursor_execute", commit_same_content_first)
        other.close()
    try:
        _check_interleaved(store, db_url, escapes, first, second, interleaved)
    finally:
        store.close()


def _check_interleaved(
    store: Store,
    db_url: str,
    escapes: list[Escape],
    first: Snapshot,
    second: Snapshot,
    interleaved: list[bool],
) -> None:
    assert interleaved == [True]
    packages = split_escapes(escapes)
    counts = row_counts(db_url)
    assert counts["package_result"] == len(packages)
    assert counts["file_result"] == sum(len(p.files) for p in packages)
    assert counts["escape_site"] == len(escapes)
    for snapshot in (first, second):
        found = store.find_snapshot(REPO, snapshot.commit, TOOLCHAIN.key)
        assert found == replace(snapshot, escapes=canonical_order(escapes))
