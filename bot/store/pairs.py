"""Two stored snapshots split by file, for a diff in proportion to the change (`Store.find_pair`).

File results are content-addressed: a file whose escapes are identical on both sides is the same
`file_result` row. Such a file's escapes pair with themselves in bot/diff.py's first passes (keyed
by file), so the diff needs them only as the head's unchanged records and for which functions
exist. They are read once (not once per side) and without their `explanation` column; only the
files whose result differs, or that git renamed, are read whole on both sides.

A head just built and not stored yet (a pull request's first run) is split the same way against
its stored base, by the digests of its files computed in memory (`pair_with_base`): only base's
files that differ are read, and head's records are never read back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, case, cast, func, literal, literal_column, select

from bot.gc.model import Escape, Snapshot
from bot.memory import gc_paused
from bot.ports import StoredPair
from bot.store.content import ExplanationReader, escape_from_row
from bot.store.models import Commit, EscapeSite, FileResult, PackageFile, PackageResult, Repository
from bot.store.models import Snapshot as SnapshotRow
from bot.store.rows import chunks, decode_failed_modules, stats_of, toolchain_of

OK = "ok"

# The SiteRow columns, explanation last (content.escape_from_row's order); files.py and
# queries.py read the same columns.
SITE_SCALARS = (
    EscapeSite.c.line,
    EscapeSite.c.col,
    EscapeSite.c.function,
    EscapeSite.c.kind,
    EscapeSite.c.expression,
    EscapeSite.c.message,
    EscapeSite.c.cause,
    EscapeSite.c.count,
    EscapeSite.c.line_text,
)


def extras_only(dialect: str) -> ColumnElement[str]:
    """The explanation column without its flows: `[]`, or, for the JSON object that carries the
    accuracy fields (constant, inlined copy, generated file, appends) that counting and skipping
    need, that object without `flows`, removed by the database's own JSON functions."""
    column = EscapeSite.c.explanation
    without: ColumnElement[Any]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB  # only with PostgreSQL: start-up

        without = cast(cast(column, JSONB).op("-")(literal("flows")), Text)
    else:
        without = func.json_remove(column, "$.flows")
    first = func.substr(column, literal_column("1"), literal_column("1"))  # inline: ids are the only ints
    return case((first == "{", without), else_=literal("[]"))


FileKey = tuple[str, str]
"""(package, file)."""


@dataclass(frozen=True, slots=True)
class _Side:
    row: Any  # the snapshot row
    files: dict[FileKey, int]  # (package, file) -> file_result id


def _snapshot_rows(connection: Connection, repository: str, shas: Sequence[str], key: str) -> dict[str, Any]:
    rows = connection.execute(
        select(SnapshotRow, Commit.c.sha)
        .join(Commit, Commit.c.id == SnapshotRow.c.commit_id)
        .join(Repository, Repository.c.id == Commit.c.repository_id)
        .where(
            Repository.c.name == repository,
            Commit.c.sha.in_(sorted(set(shas))),
            SnapshotRow.c.toolchain_key == key,
        )
    ).all()
    return {r.sha: r for r in rows}


def result_files(
    connection: Connection, package_ids: Sequence[int]
) -> dict[int, list[tuple[str, str, int, str]]]:
    """package result id -> its (package, file, file result id, the file result's digest)."""
    found: dict[int, list[tuple[str, str, int, str]]] = {}
    for chunk in chunks(sorted(set(package_ids))):
        query = (
            select(PackageResult.c.id, PackageResult.c.package)
            .add_columns(FileResult.c.file, FileResult.c.id, FileResult.c.digest)
            .join(PackageFile, PackageFile.c.package_result_id == PackageResult.c.id)
            .join(FileResult, FileResult.c.id == PackageFile.c.file_result_id)
            .where(PackageResult.c.id.in_(chunk))
        )
        for package_id, package, file, file_id, digest in connection.execute(query).all():
            found.setdefault(package_id, []).append((package, file, file_id, digest))
    return found


def site_rows(connection: Connection, file_ids: Iterable[int], *, whole: bool) -> dict[int, list[Any]]:
    """file result id -> its escape rows in canonical order; `whole`: with the explanations."""
    found: dict[int, list[Any]] = {}
    explanation = EscapeSite.c.explanation if whole else extras_only(connection.dialect.name)
    for chunk in chunks(sorted(set(file_ids))):
        query = (
            select(EscapeSite.c.file_result_id, *SITE_SCALARS, explanation)
            .where(EscapeSite.c.file_result_id.in_(chunk))
            .order_by(EscapeSite.c.file_result_id, EscapeSite.c.ordinal)
        )
        for row in connection.execute(query).all():  # iterating would fetch row by row
            found.setdefault(row[0], []).append(row[1:])
    return found


def escapes_of(
    keys: Iterable[FileKey], files: Mapping[FileKey, int], rows: Mapping[int, list[Any]], *, flows: bool
) -> list[Escape]:
    """The escapes of the files `keys`, in the store's canonical order (package, file, ordinal)."""
    reader = ExplanationReader()
    with gc_paused():  # many acyclic records (see bot.memory)
        return [
            escape_from_row(package, file, row, flows=flows, reader=reader)
            for package, file in sorted(keys)
            for row in rows.get(files[(package, file)], ())
        ]


def snapshot_escapes(connection: Connection, row: Any) -> list[Escape]:
    """A stored snapshot's escapes in canonical order (`row`: its `snapshot` row), read by file
    result: no view, and no sort of every row in SQL."""
    files: dict[FileKey, int] = {}
    for entries in result_files(connection, json.loads(row.package_result_ids)).values():
        for package, file, file_id, _ in entries:
            files[(package, file)] = file_id
    return escapes_of(files, files, site_rows(connection, files.values(), whole=True), flows=True)


def find_pair(
    connection: Connection,
    repository: str,
    base_sha: str,
    head_sha: str,
    key: str,
    renames: Mapping[str, str],
) -> StoredPair | None:
    """Both snapshots split by file (see the module's docstring); None unless both are stored ok
    with every module built."""
    rows = _snapshot_rows(connection, repository, [base_sha, head_sha], key)
    sides: list[_Side] = []
    for sha in (base_sha, head_sha):
        row = rows.get(sha)
        if row is None or row.status != OK or decode_failed_modules(row.error):
            return None
        sides.append(_Side(row, {}))
    base, head = sides
    package_ids = {s.row.id: json.loads(s.row.package_result_ids) for s in sides}
    files = result_files(connection, [p for ids in package_ids.values() for p in ids])
    for side in sides:
        for package_id in package_ids[side.row.id]:
            for package, file, file_id, _ in files.get(package_id, ()):
                side.files[(package, file)] = file_id
    renamed = set(renames) | set(renames.values())
    same = {k for k, file_id in head.files.items() if base.files.get(k) == file_id and k[1] not in renamed}
    changed = [[k for k in side.files if k not in same] for side in sides]
    whole = site_rows(
        connection,
        [side.files[k] for side, keys in zip(sides, changed, strict=True) for k in keys],
        whole=True,
    )
    light = site_rows(connection, [head.files[k] for k in same], whole=False)
    same_escapes = tuple(escapes_of(same, head.files, light, flows=False))
    snapshots = [
        Snapshot(
            revision=sha,
            commit=sha,
            toolchain=toolchain_of(side.row),
            escapes=tuple(escapes_of(keys, side.files, whole, flows=True)),
            stats=stats_of(side.row),
        )
        for sha, side, keys in zip((base_sha, head_sha), sides, changed, strict=True)
    ]
    return StoredPair(base=snapshots[0], head=snapshots[1], same=same_escapes)


def pair_with_base(
    connection: Connection,
    repository: str,
    base_sha: str,
    key: str,
    head: Snapshot,
    digests: Mapping[FileKey, str],
    renames: Mapping[str, str],
) -> StoredPair | None:
    """The stored base and `head` (built, in memory, its files' content `digests`) split by file
    as `find_pair` splits two stored snapshots; None unless the base is stored ok with every
    module built. Head's records come from `head`: identical files are its records (`same`)."""
    row = _snapshot_rows(connection, repository, [base_sha], key).get(base_sha)
    if row is None or row.status != OK or decode_failed_modules(row.error):
        return None
    ids: dict[FileKey, int] = {}
    stored: dict[FileKey, str] = {}
    for entries in result_files(connection, json.loads(row.package_result_ids)).values():
        for package, file, file_id, digest in entries:
            ids[(package, file)], stored[(package, file)] = file_id, digest
    renamed = set(renames) | set(renames.values())
    same = {k for k, digest in digests.items() if k[1] not in renamed and stored.get(k) == digest}
    changed = [k for k in ids if k not in same]
    whole = site_rows(connection, [ids[k] for k in changed], whole=True)
    base = Snapshot(
        revision=base_sha,
        commit=base_sha,
        toolchain=toolchain_of(row),
        escapes=tuple(escapes_of(changed, ids, whole, flows=True)),
        stats=stats_of(row),
    )
    rest = tuple(e for e in head.escapes if (e.package, e.file) not in same)
    kept = tuple(e for e in head.escapes if (e.package, e.file) in same)
    return StoredPair(base=base, head=replace(head, escapes=rest), same=kept)
