"""`Store.find_pair` on SQLite and PostgreSQL: a diff of two stored snapshots reads only the files
whose escapes differ (and renamed ones) whole, the identical files once and without explanations,
and gives the diff of the whole snapshots."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import event, text

from bot.diff import Counting, DiffResult, diff
from bot.gc.model import Escape, Kind
from bot.store import Store
from bot.store.queries import _engine

from .factories import REPOSITORY, TOOLCHAIN, edit_package, make_commit, make_escapes, sha_for, snapshot_of


def _moved(escapes: Sequence[Escape], package: str) -> list[Escape]:
    """A function of `package` moved to another file of it, and the first file renamed."""
    files = sorted({e.file for e in escapes if e.package == package})
    function = next(e.function for e in escapes if e.package == package and e.file == files[1])
    out = []
    for e in escapes:
        if e.package == package and e.function == function:
            out.append(replace(e, file=files[2], line=e.line + 500))
        elif e.file == files[0]:
            out.append(replace(e, file=files[0].replace(".go", "_renamed.go")))
        else:
            out.append(e)
    return out


def _sides() -> tuple[list[Escape], list[Escape], dict[str, str]]:
    rng = random.Random(3)
    base = [  # constants and a generated file ride in the explanation column: read even when light
        replace(e, static="constant") if i % 9 == 0 else replace(e, generated=True) if i % 13 == 0 else e
        for i, e in enumerate(make_escapes(30, 40, seed=9))
    ]
    packages = sorted({e.package for e in base})
    head = list(base)
    for package in packages[:4]:
        head = edit_package(head, package, rng)
    head = _moved(head, packages[5])
    first = sorted({e.file for e in base if e.package == packages[5]})[0]
    head = [e for e in head if e.package != packages[7]]  # a package removed
    return base, head, {first: first.replace(".go", "_renamed.go")}


@contextmanager
def _site_reads(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The statements that read `escape_site`, with their parameters, as the driver got them."""
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "escape_site" in statement:
            seen.append((statement, parameters))

    engine = _engine(store)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def _files_of(store: Store, sha: str) -> dict[tuple[str, str], int]:
    """(package, file) -> file_result id of a stored snapshot, by plain SQL over the documented schema."""
    query = text(
        "SELECT pr.package, fr.file, fr.id FROM snapshot s"
        " JOIN git_commit c ON c.id = s.commit_id"
        " JOIN snapshot_package sp ON sp.snapshot_id = s.id"
        " JOIN package_result pr ON pr.id = sp.package_result_id"
        " JOIN package_file pf ON pf.package_result_id = pr.id"
        " JOIN file_result fr ON fr.id = pf.file_result_id WHERE c.sha = :sha"
    )
    with _engine(store).connect() as connection:
        return {(p, f): i for p, f, i in connection.execute(query, {"sha": sha})}


def _ids(parameters: Any) -> set[int]:
    values = parameters.values() if isinstance(parameters, dict) else parameters
    return {v for v in values if isinstance(v, int)}


def _plain(records: Sequence[Escape]) -> list[Escape]:
    return [replace(e, explanation=()) for e in records]


def _same_result(whole: DiffResult, split: DiffResult) -> None:
    assert split.new == whole.new and split.fixed == whole.fixed and split.skipped == whole.skipped
    assert split.skipped_files == whole.skipped_files
    assert _plain(split.unchanged) == _plain(whole.unchanged)
    assert split.counts() == whole.counts()


def test_a_stored_pair_diffs_like_the_whole_snapshots_and_reads_only_what_differs(db_url: str) -> None:
    base, head, renames = _sides()
    base_sha, head_sha = sha_for("pair-base"), sha_for("pair-head")
    with Store.open(db_url) as store:
        store.record_snapshot(REPOSITORY, make_commit(base_sha), snapshot_of(base, base_sha))
        store.record_snapshot(
            REPOSITORY, make_commit(head_sha, parents=[base_sha]), snapshot_of(head, head_sha)
        )
        full_base = store.find_snapshot(REPOSITORY, base_sha, TOOLCHAIN.key)
        full_head = store.find_snapshot(REPOSITORY, head_sha, TOOLCHAIN.key)
        assert full_base is not None and full_head is not None
        stored_files = {sha: _files_of(store, sha) for sha in (base_sha, head_sha)}
        with _site_reads(store) as reads:
            pair = store.find_pair(REPOSITORY, base_sha, head_sha, TOOLCHAIN.key, renames)
        assert pair is not None
        assert store.find_pair(REPOSITORY, base_sha, sha_for("not stored"), TOOLCHAIN.key, {}) is None

    # what was read: the changed files whole, on both sides; the identical ones once, light
    changed_files = {(e.package, e.file) for e in (*pair.base.escapes, *pair.head.escapes)}
    same_files = {(e.package, e.file) for e in pair.same}
    assert changed_files and same_files and not changed_files & same_files
    assert len(same_files) > 5 * len(changed_files)  # most files are untouched
    assert {(e.package, e.file) for e in full_head.escapes} == same_files | {
        (e.package, e.file) for e in pair.head.escapes
    }
    whole = set().union(*(_ids(p) for s, p in reads if "CASE" not in s.upper()))
    light = set().union(*(_ids(p) for s, p in reads if "CASE" in s.upper()))
    # the escape rows read whole are exactly those of the files that differ, on both sides; the
    # identical files' rows are read once, light; nothing else
    base_files, head_files = stored_files[base_sha], stored_files[head_sha]
    changed = {k for k in base_files.keys() | head_files.keys() if k not in same_files}
    assert whole == {side[k] for side in (base_files, head_files) for k in changed if k in side}
    assert light == {head_files[k] for k in same_files}
    assert len(pair.base.escapes) + len(pair.head.escapes) < len(full_base.escapes) // 4
    # identical files come without their explanations; everything else as stored
    assert all(e.explanation == () for e in pair.same)
    assert any(e.static for e in pair.same) and any(e.generated for e in pair.same)
    assert any(e.explanation for e in full_head.escapes if (e.package, e.file) in same_files)
    changed_head = [e for e in full_head.escapes if (e.package, e.file) not in same_files]
    assert list(pair.head.escapes) == changed_head

    # the diff of the split pair is the diff of the whole snapshots, whatever is skipped
    skip = lambda e: "excluded" if e.package.endswith("2") else None  # noqa: E731
    for counting in (Counting(), Counting(constants=True, generated=True)):
        expected = diff(full_base.escapes, full_head.escapes, renames, skip=skip, counting=counting)
        got = diff(
            pair.base.escapes, pair.head.escapes, renames, skip=skip, counting=counting, same=pair.same
        )
        _same_result(expected, got)
        assert got.new and got.fixed and got.unchanged and got.skipped
        # split by file (a sharded analysis' module counts): the files' sum is the total
        per_file = [s for records in got.skipped_files.values() for s in records]
        assert len(got.skipped_files) > 1
        assert [(r.reason, r.head, r.new, r.fixed) for r in got.skipped] == [
            (
                reason,
                sum(s.head for s in per_file if s.reason == reason),
                sum(s.new for s in per_file if s.reason == reason),
                sum(s.fixed for s in per_file if s.reason == reason),
            )
            for reason in sorted({s.reason for s in per_file})
        ]
    # the renamed file and the moved function are matched, neither new nor fixed
    moved = {e.package for e in pair.head.escapes if e.file in renames.values()}
    assert len(moved) == 1 and not moved & {e.package for e in (*got.new, *got.fixed)}


def test_a_pair_needs_both_snapshots_ok_with_every_module(db_url: str) -> None:
    from bot.gc.model import ModuleFailure

    escapes = make_escapes(3, 5, seed=1)
    a, b, c = (sha_for(f"pair-{n}") for n in "abc")
    failed = (ModuleFailure("example.com/x", "x", ("x.go:1:1: undefined: y",)),)
    with Store.open(db_url) as store:
        store.record_snapshot(REPOSITORY, make_commit(a), snapshot_of(escapes, a))
        store.record_snapshot(
            REPOSITORY, make_commit(b), replace(snapshot_of(escapes, b), failed_modules=failed)
        )
        store.record_failure(REPOSITORY, make_commit(c), TOOLCHAIN, "did not build")
        assert store.find_pair(REPOSITORY, a, b, TOOLCHAIN.key, {}) is None
        assert store.find_pair(REPOSITORY, a, c, TOOLCHAIN.key, {}) is None
        same = store.find_pair(REPOSITORY, a, a, TOOLCHAIN.key, {})
    assert same is not None and not same.base.escapes and not same.head.escapes
    assert len(same.same) == len(escapes)
    assert diff((), (), same=same.same).counts([Kind.MOVED_TO_HEAP]) == diff(escapes, escapes).counts(
        [Kind.MOVED_TO_HEAP]
    )


def test_a_built_head_splits_against_the_stored_base_as_a_stored_one_does(db_url: str) -> None:
    """A pull request's first run: head is built, not stored. `pair_with_base` splits it against
    the stored base by the digests of its files computed in memory: the same files differ as
    `find_pair` finds once head is stored, only base's differing files are read (whole), head's
    records are never read, and the diff is the diff of the whole snapshots. Recording head next
    reuses the digests (the per-package memo): nothing is encoded again."""
    base, head, renames = _sides()
    base_sha, head_sha = sha_for("built-base"), sha_for("built-head")
    built = snapshot_of(head, head_sha)
    with Store.open(db_url) as store:
        store.record_snapshot(REPOSITORY, make_commit(base_sha), snapshot_of(base, base_sha))
        base_files = _files_of(store, base_sha)
        with _site_reads(store) as reads:
            pair = store.pair_with_base(REPOSITORY, base_sha, TOOLCHAIN.key, built, renames)
        assert pair is not None
        assert store.pair_with_base(REPOSITORY, sha_for("not stored"), TOOLCHAIN.key, built, {}) is None
        memo = dict(store._contents)
        store.record_snapshot(REPOSITORY, make_commit(head_sha, parents=[base_sha]), built)
        assert all(store._contents[k] is v for k, v in memo.items())  # reused, not recomputed
        stored = store.find_pair(REPOSITORY, base_sha, head_sha, TOOLCHAIN.key, renames)
    assert stored is not None

    def files(escapes: Sequence[Escape]) -> set[tuple[str, str]]:
        return {(e.package, e.file) for e in escapes}

    assert files(pair.same) == files(stored.same) and files(pair.head.escapes) == files(stored.head.escapes)
    assert list(pair.base.escapes) == list(stored.base.escapes)  # read from the store alike
    assert set(pair.head.escapes) == set(stored.head.escapes)
    assert {e for e in built.escapes if (e.package, e.file) in files(pair.same)} == set(pair.same)
    whole = set().union(*(_ids(p) for s, p in reads if "CASE" not in s.upper()))
    assert not any("CASE" in s.upper() for s, _ in reads)  # no identical file read, not even light
    assert whole == {base_files[k] for k in base_files if k not in files(pair.same)}
    for counting in (Counting(), Counting(constants=True, generated=True)):
        expected = diff(base, head, renames, counting=counting)
        got = diff(pair.base.escapes, pair.head.escapes, renames, counting=counting, same=pair.same)
        _same_result(expected, got)
        assert got.new and got.fixed and got.unchanged
