"""Plain-SQL looks at a store database, for assertions."""

from __future__ import annotations

from sqlalchemy import text

from bot.store.db import make_engine

# Tables, and the view that shows snapshot.package_result_ids as rows.
TABLES = (
    "repository",
    "git_commit",
    "snapshot",
    "package_result",
    "file_result",
    "package_file",
    "escape_site",
    "snapshot_package",
    "snapshot_cause_count",
)


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of a plain SQL query, as tuples."""
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            return [tuple(row) for row in db.execute(text(sql))]
    finally:
        engine.dispose()


def row_counts(url: str) -> dict[str, int]:
    """Rows per table (and view)."""
    return {table: int(str(query(url, f"SELECT COUNT(*) FROM {table}")[0][0])) for table in TABLES}
