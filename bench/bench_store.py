"""Store benchmark: ingest time of a std-library-sized snapshot, and storage growth.

    python bench/bench_store.py [--quick] [--commits N] [--postgresql-url URL | --no-postgresql]

1. Ingest: one synthetic snapshot of ~35,000 escapes in 300 packages into an empty
   database (goal: <= 2 s on SQLite); then the same escapes as another commit (all
   content shared) and reading it back.
2. Growth: a 200-package module, 1,000 commits, 1 % of the packages (2) edited per commit
   (one file each: lines inserted, sometimes an escape added or removed). Database size
   after all commits vs the size with the first snapshot only (goal: <= 3x), and bytes per
   commit. SQLite: file size after VACUUM; PostgreSQL: pg_total_relation_size summed over
   the store's tables (tables, indexes, TOAST).

Synthetic data comes from tests/store/factories.py. PostgreSQL runs in a throwaway schema.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
from factories import edit_package, make_commit, make_escapes, sha_for, snapshot_of

from bot.store import Store
from bot.store.db import make_engine
from bot.store.models import metadata

REPOSITORY = "acme/service"
UrlFactory = Callable[[], AbstractContextManager[str]]
DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def sqlite_url() -> Iterator[str]:
    """A new SQLite file."""
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{directory}/escapes.db"


@contextmanager
def postgresql_url(base: str) -> Iterator[str]:
    """A new schema in the PostgreSQL database at `base`, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = make_engine(base)
    with engine.begin() as db:
        db.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        with engine.begin() as db:
            db.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def database_size(url: str) -> int:
    """Bytes the store takes: compacted SQLite file, or the tables' total relation sizes."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            assert engine.url.database is not None
            path = Path(engine.url.database)
            # The sqlite3 module directly: VACUUM must run outside any transaction.
            connection = sqlite3.connect(path, isolation_level=None)
            try:
                connection.execute("VACUUM")
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            return path.stat().st_size
        with engine.connect() as db:
            db.commit()
            db.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
            tables = sorted(metadata.tables)
            return int(
                db.execute(
                    text(
                        "SELECT SUM(pg_total_relation_size(t::regclass)) FROM unnest(CAST(:t AS text[])) AS t"
                    ),
                    {"t": tables},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def timed(action: Callable[[], object]) -> float:
    """Seconds `action` took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench_ingest(name: str, new_url: UrlFactory, repeat: int) -> None:
    """Ingest ~35,000 escapes into an empty database, `repeat` times; print the median."""
    escapes = make_escapes(300, 117, seed=1)
    first, second = snapshot_of(escapes, sha_for("ingest-1")), snapshot_of(escapes, sha_for("ingest-2"))
    ingest, shared, find = [], [], []
    for _ in range(repeat):
        with new_url() as url, Store.open(url) as store:
            ingest.append(timed(lambda: store.record_snapshot(REPOSITORY, make_commit(first.commit), first)))
            shared.append(
                timed(lambda: store.record_snapshot(REPOSITORY, make_commit(second.commit), second))
            )
            find.append(timed(lambda: store.find_snapshot(REPOSITORY, second.commit, second.toolchain.key)))
    print(
        f"{name:<10} ingest {len(escapes):,} escapes / 300 packages: {statistics.median(ingest):.2f} s"
        f" (new content), {statistics.median(shared):.2f} s (all content already stored),"
        f" find_snapshot {statistics.median(find):.2f} s  [median of {repeat}]"
    )


def bench_growth(name: str, new_url: UrlFactory, commits: int) -> None:
    """Record `commits` commits of a 200-package module, 1 % of packages edited per commit."""
    rng = random.Random(42)
    escapes = make_escapes(200, 117, seed=2)
    packages = sorted({e.package for e in escapes})
    with new_url() as url, Store.open(url) as store:
        empty = database_size(url)
        parent: list[str] = []
        start = time.perf_counter()
        for index in range(commits):
            if index:
                for package in rng.sample(packages, k=max(1, len(packages) // 100)):
                    escapes = edit_package(escapes, package, rng)
            sha = sha_for(f"growth-{index}")
            store.record_snapshot(
                REPOSITORY, make_commit(sha, parents=parent, index=index), snapshot_of(escapes, sha)
            )
            parent = [sha]
            if index == 0:
                elapsed_first = time.perf_counter() - start
                one = database_size(url)
                start = time.perf_counter()
        per_commit = (time.perf_counter() - start) / max(1, commits - 1)
        total = database_size(url)
    print(
        f"{name:<10} growth, {commits} commits of {len(packages)} packages ({len(escapes):,} escapes),"
        f" 1 % edited per commit:\n"
        f"{'':<10}   empty schema {empty / 1e6:.2f} MB, one snapshot {one / 1e6:.2f} MB"
        f" (first ingest {elapsed_first:.2f} s), all {total / 1e6:.2f} MB\n"
        f"{'':<10}   ratio all / one snapshot = {total / one:.2f}x,"
        f" {(total - one) / max(1, commits - 1):,.0f} bytes per further commit,"
        f" {per_commit * 1000:.0f} ms per further ingest"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 commits, one ingest run")
    parser.add_argument("--commits", type=int, help="commits in the growth run (default 1000)")
    parser.add_argument("--postgresql-url", default=DEFAULT_POSTGRESQL)
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    commits = args.commits or (100 if args.quick else 1000)
    repeat = 1 if args.quick else 3

    backends: list[tuple[str, UrlFactory]] = [("sqlite", sqlite_url)]
    if not args.no_postgresql:
        backends.append(("postgresql", lambda: postgresql_url(args.postgresql_url)))
    for name, new_url in backends:
        bench_ingest(name, new_url, repeat)
    for name, new_url in backends:
        bench_growth(name, new_url, commits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
