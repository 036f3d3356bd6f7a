"""Reads by file result, for blame's walk (docs/storage.md: a package result is its file results,
each content-addressed). Apart from bot/store/queries.py so that `trend` and `top`, which never
read files, do not build these at start-up."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select

from bot.gc.model import Escape
from bot.memory import gc_paused
from bot.store.content import escape_from_row
from bot.store.models import EscapeSite, FileResult, PackageFile
from bot.store.pairs import SITE_SCALARS, extras_only
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

    def query(chunk: Sequence[int]) -> Select[Any]:
        member, file = PackageFile.c, FileResult.c
        return (
            select(member.package_result_id, file.file, file.id, file.escape_count)
            .join(FileResult, file.id == member.file_result_id)
            .where(member.package_result_id.in_(chunk))
            .order_by(member.package_result_id, file.file)
        )

    return _by_first_column(store, ids, query, lambda row: FileSpan(row[1], row[2], row[3]))


Site = tuple[str, str, str, int, int]
"""An escape row's function, kind, cause, line and count: what choosing escapes needs."""


def file_sites(store: Store, ids: Iterable[int]) -> dict[int, tuple[Site, ...]]:
    """The escape rows of file results, only the fields of `Site`, in canonical order (one
    statement per 500 file results): a fraction of what reading the records costs."""

    def query(chunk: Sequence[int]) -> Select[Any]:
        site = EscapeSite.c
        return (
            select(site.file_result_id, site.function, site.kind, site.cause, site.line, site.count)
            .where(site.file_result_id.in_(chunk))
            .order_by(site.file_result_id, site.ordinal)
        )

    return _by_first_column(store, ids, query, lambda row: (row[1], row[2], row[3], row[4], row[5]))


T = TypeVar("T")


def _by_first_column(
    store: Store,
    ids: Iterable[int],
    query: Callable[[Sequence[int]], Select[Any]],
    value: Callable[[Sequence[Any]], T],
) -> dict[int, tuple[T, ...]]:
    """Rows of `query` (one statement per 500 ids) grouped by their first column, each id once,
    in the query's order; ids without rows get an empty tuple."""
    wanted = sorted(set(ids))
    grouped: dict[int, list[T]] = defaultdict(list)
    with _reading(store) as connection:
        for chunk in chunks(wanted):
            for row in connection.execute(query(chunk)):
                grouped[row[0]].append(value(row))
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
                    *SITE_SCALARS,
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
