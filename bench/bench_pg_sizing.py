"""PostgreSQL sizing for an organisation: many repositories' histories in one database.

    python bench/bench_pg_sizing.py [--quick] [--repositories R] [--commits N] [--postgresql-url URL]

Fills a throwaway schema (created, then dropped) of the real PostgreSQL at URL (default
postgresql://postgres@127.0.0.1:5432/test) with R repositories (default 10) of N commits each
(default 1,000), recorded through the Store API as `escape-bot ci` / `backfill` record them, each
repository under its own name (`acme/repo01`...). Repositories differ in size (30 to 200 packages
of 60 escape sites, ~6,000 sites on average: tests/store/factories.py, realistic field sizes) and
in module path; each commit edits 1-2 packages (lines shifted, sometimes an escape added or
removed).

Reports, after VACUUM ANALYZE: per table the rows, pg_total_relation_size (table + indexes +
TOAST) and its index part, the schema's total, bytes per stored commit; and the in-process time
of `trend` and `top` for the largest repository, in this schema and in a second throwaway schema
that holds only that repository's history: runs alternate between the two (median of 7 each), so
that the ratio shows what sharing costs, not what the machine's load did meanwhile.

--quick: 3 repositories of 100 commits (~1 minute).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "store"))
sys.path.insert(0, str(ROOT))

from factories import MODULE, edit_package, make_commit, make_escapes, sha_for, snapshot_of  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.bench_history import median_time  # noqa: E402
from bench.bench_store import postgresql_url  # noqa: E402
from bot.gc.model import Escape  # noqa: E402
from bot.history.model import TopBy  # noqa: E402
from bot.history.queries import Filters, Scope, top, trend  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.models import Base  # noqa: E402

DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/test"
SIZES = [200, 30, 50, 60, 80, 100, 100, 120, 150, 110]  # packages per repository, repeated as needed
SITES_PER_PACKAGE = 60


def repository_escapes(index: int) -> list[Escape]:
    """The first snapshot of repository `index`: its own size, seed and module path."""
    escapes = make_escapes(SIZES[index % len(SIZES)], SITES_PER_PACKAGE, seed=1000 + index)
    module = f"example.com/acme/repo{index + 1:02d}"
    return [replace(e, package=e.package.replace(MODULE, module, 1)) for e in escapes]


def fill(store: Store, index: int, commits: int) -> tuple[str, list[str], int]:
    """Record `commits` commits of repository `index`; its name, shas (oldest first), sites at the end."""
    name = f"acme/repo{index + 1:02d}"
    rng = random.Random(index)
    escapes = repository_escapes(index)
    packages = sorted({e.package for e in escapes})
    shas: list[str] = []
    for n in range(commits):
        if n:
            for package in rng.sample(packages, k=rng.choice([1, 1, 2])):
                escapes = edit_package(escapes, package, rng)
        sha = sha_for(f"{name}-{n}")
        store.record_snapshot(name, make_commit(sha, parents=shas[-1:], index=n), snapshot_of(escapes, sha))
        shas.append(sha)
    return name, shas, len(escapes)


def queries(store: Store, name: str, shas: list[str]) -> dict[str, Callable[[], object]]:
    """trend and top over one repository's history (git order given, as with a clone)."""
    scope = Scope(repository=name, branch="main", order=tuple(shas))
    heap = Filters()
    return {
        "trend --by cause": lambda: trend(store, scope, heap),
        "trend --last 100": lambda: trend(store, scope, heap, last=100),
        "top --by package": lambda: top(store, scope, heap),
        "top --by function": lambda: top(store, scope, heap, by=TopBy.FUNCTION),
    }


def alternating(a: Callable[[], object], b: Callable[[], object], runs: int = 7) -> tuple[float, float]:
    """Median seconds of `a` and of `b`, run in turns (after one warm-up each)."""
    a(), b()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for action, out in ((a, times[0]), (b, times[1])):
            out.append(median_time(action, 1))
    return statistics.median(times[0]), statistics.median(times[1])


def table_sizes(url: str) -> list[tuple[str, int, int, int]]:
    """(table, rows, total bytes, index bytes) of every table of the store, after VACUUM ANALYZE."""
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            db.commit()
            db.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
            out = []
            for table in sorted(Base.metadata.tables):
                rows = db.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                total, indexes = db.execute(
                    text(
                        "SELECT pg_total_relation_size(CAST(:t AS regclass)),"
                        " pg_indexes_size(CAST(:t AS regclass))"
                    ),
                    {"t": table},
                ).one()
                out.append((table, int(rows), int(total), int(indexes)))
            return out
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repositories of 100 commits")
    parser.add_argument("--repositories", type=int, help="repositories (default 10)")
    parser.add_argument("--commits", type=int, help="commits per repository (default 1000)")
    parser.add_argument("--postgresql-url", default=DEFAULT_POSTGRESQL)
    args = parser.parse_args()
    repositories = args.repositories or (3 if args.quick else 10)
    commits = args.commits or (100 if args.quick else 1000)

    with (
        postgresql_url(args.postgresql_url) as alone_url,
        Store.open(alone_url) as alone_store,
        postgresql_url(args.postgresql_url) as url,
        Store.open(url) as store,
    ):
        fill(alone_store, 0, commits)
        filled = []
        start = time.perf_counter()
        for index in range(repositories):
            began = time.perf_counter()
            filled.append(fill(store, index, commits))
            name, _, sites = filled[-1]
            print(
                f"{name}: {commits} commits, {sites:,} sites at the end,"
                f" recorded in {time.perf_counter() - began:.0f} s",
                flush=True,
            )
        print(f"recorded {repositories * commits:,} commits in {time.perf_counter() - start:.0f} s")
        sizes = table_sizes(url)
        table_sizes(alone_url)  # the same VACUUM ANALYZE on both before timing
        name, shas, _ = filled[0]
        alone_cases, shared_cases = queries(alone_store, name, shas), queries(store, name, shas)
        timed = {label: alternating(alone_cases[label], shared_cases[label]) for label in alone_cases}

    total = sum(t for _, _, t, _ in sizes)
    print(f"\n{'table':<22} {'rows':>12} {'total MB':>10} {'indexes MB':>11}")
    for table, rows, size, indexes in sizes:
        print(f"{table:<22} {rows:>12,} {size / 1e6:>10.2f} {indexes / 1e6:>11.2f}")
    stored = repositories * commits
    print(
        f"{'all':<22} {'':>12} {total / 1e6:>10.2f}   = {total / stored:,.0f} bytes per stored commit, "
        f"{total / repositories / 1e6:.1f} MB per repository of {commits} commits"
    )
    print(
        f"\nqueries on {filled[0][0]} ({filled[0][2]:,} sites, {commits} commits), median of 7, alternating:"
    )
    for label, (alone, shared) in timed.items():
        print(
            f"  {label:<20} alone {alone * 1000:6.0f} ms   with {repositories} repositories "
            f"{shared * 1000:6.0f} ms   ratio {shared / alone:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
