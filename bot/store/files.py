"""Reads by file result, for blame's walk (docs/storage.md: a package result is its file results,
each content-addressed). Apart from bot/store/queries.py so that `trend` and `top`, which never
read files, do not build these at start-up."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select

from bot.gc.model import Escape
from bot.memory import gc_paused
from bot.store.content import escape_from_row
from bot.store.models import EscapeSite, FileResult, PackageFile
from bot.store.pairs import extras_only
from bot.store.queries import _reading
from bot.store.repo import Store
from bot.store.rows import chunks


@dataclass(frozen=True, slots=True)
class FileSpan:
    """One file of a package result: its path, its file result and how many escape rows it holds
    (`package_escapes` lists a package's escapes file by file, in the order of `package_files`)."""

    file: str
    file_result_id: int
    sites: int


def package_files(store: Store, ids: Iterable[int]) -> dict[int, tuple[FileSpan, ...]]:
    """The files of package results, in `package_escapes`' order (the same SQL ordering, so both
    sort paths with the database's collation)."""
    wanted = sorted(set(ids))
    grouped: dict[int, list[FileSpan]] = defaultdict(list)
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            query = (
                select(
                    PackageFile.c.package_result_id,
                    FileResult.c.file,
                    FileResult.c.id,
                    FileResult.c.escape_count,
                )
                .join(FileResult, FileResult.c.id == PackageFile.c.file_result_id)
                .where(PackageFile.c.package_result_id.in_(chunk))
                .order_by(PackageFile.c.package_result_id, FileResult.c.file)
            )
            for package_result_id, file, file_result_id, sites in connection.execute(query):
                grouped[package_result_id].append(FileSpan(file, file_result_id, sites))
    return {i: tuple(grouped.get(i, ())) for i in wanted}


Site = tuple[str, str, str, int, int]
"""An escape row's function, kind, cause, line and count: what choosing escapes needs."""


def file_sites(store: Store, ids: Iterable[int]) -> dict[int, tuple[Site, ...]]:
    """The escape rows of file results, only the fields of `Site`, in canonical order (one
    statement per 500 file results): a fraction of what reading the records costs."""
    wanted = sorted(set(ids))
    grouped: dict[int, list[Site]] = defaultdict(list)
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            query = (
                select(
                    EscapeSite.c.file_result_id,
                    EscapeSite.c.function,
                    EscapeSite.c.kind,
                    EscapeSite.c.cause,
                    EscapeSite.c.line,
                    EscapeSite.c.count,
                )
                .where(EscapeSite.c.file_result_id.in_(chunk))
                .order_by(EscapeSite.c.file_result_id, EscapeSite.c.ordinal)
            )
            for id_, function, kind, cause, line, count in connection.execute(query):
                grouped[id_].append((function, kind, cause, line, count))
    return {i: tuple(grouped.get(i, ())) for i in wanted}


def file_escapes(store: Store, files: Mapping[int, tuple[str, str]]) -> dict[int, tuple[Escape, ...]]:
    """The escapes of file results (file result id -> (package, path)), in canonical order, without
    their explanations' flows (one statement per 500 file results)."""
    wanted = sorted(files)
    grouped: dict[int, list[Escape]] = defaultdict(list)
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            query = (
                select(
                    EscapeSite.c.file_result_id,
                    EscapeSite.c.line,
                    EscapeSite.c.col,
                    EscapeSite.c.function,
                    EscapeSite.c.kind,
                    EscapeSite.c.expression,
                    EscapeSite.c.message,
                    EscapeSite.c.cause,
                    EscapeSite.c.count,
                    EscapeSite.c.line_text,
                    extras_only(connection.dialect.name),
                )
                .where(EscapeSite.c.file_result_id.in_(chunk))
                .order_by(EscapeSite.c.file_result_id, EscapeSite.c.ordinal)
            )
            rows = connection.execute(query).all()
            with gc_paused():  # many acyclic records (see bot.memory)
                for row in rows:
                    package, file = files[row[0]]
                    grouped[row[0]].append(escape_from_row(package, file, row[1:], flows=False))
    return {i: tuple(grouped.get(i, ())) for i in wanted}
