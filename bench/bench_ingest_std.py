"""Benchmark: ingest the real standard-library snapshot (every record with its full explanation).

    python bench/bench_ingest_std.py [--pg URL]

The synthetic figures of bench/bench_store.py use light explanations; this one stores what the
parser really produces for `go build -trimpath -gcflags=-m=2 std` (built once into bench/.cache/
by bench/bench_parse.py's `std_log`), into a fresh SQLite file and a throwaway PostgreSQL schema.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.bench_parse import std_log  # noqa: E402
from bench.bench_store import postgresql_url, sqlite_url  # noqa: E402
from bot.commit import CommitInfo  # noqa: E402
from bot.gc.model import Snapshot, Toolchain  # noqa: E402
from bot.gc.parse import parse_log  # noqa: E402
from bot.store import Store  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"


def commit(n: int) -> CommitInfo:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return CommitInfo(f"{n:040x}", (), "bench", "bench@example.invalid", now, now, f"commit {n}")


def ingest(url: str, snapshot: Snapshot, runs: int) -> list[float]:
    """Seconds to record `snapshot` as a new commit, `runs` times (the first into an empty db)."""
    times = []
    with Store.open(url) as store:
        for n in range(runs):
            start = time.perf_counter()
            assert store.record_snapshot("std", commit(n), replace(snapshot, commit=commit(n).sha))
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        found = store.find_snapshot("std", commit(0).sha, snapshot.toolchain.key)
        load = time.perf_counter() - start
        assert found is not None and len(found.escapes) == len(snapshot.escapes)
    print(f"  load it back (find_snapshot): {load:.2f} s")
    return times


def report(times: list[float]) -> None:
    """First ingest into an empty database, then the same content as further commits."""
    print(f"  first ingest {times[0]:.2f} s; as further commits: median {statistics.median(times[1:]):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=PG)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with open(std_log(), encoding="utf-8", errors="replace") as f:
        records, stats = parse_log(f)
    snapshot = Snapshot("std", commit(0).sha, Toolchain("go1.27.3", "linux", "amd64"), tuple(records), stats)
    steps = sum(len(fl.steps) for e in records for fl in e.explanation)
    heap = sum(1 for e in records if e.kind.allocates)
    print(f"snapshot: {len(records):,} records ({heap:,} heap escapes), {steps:,} explanation steps")
    with sqlite_url() as url:
        print("SQLite:")
        report(ingest(url, snapshot, args.runs))
    with postgresql_url(args.pg) as url:
        print("PostgreSQL:")
        report(ingest(url, snapshot, args.runs))


if __name__ == "__main__":
    main()
