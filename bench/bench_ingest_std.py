"""Benchmark: ingest the real standard-library snapshot (every record with its full explanation).

    python bench/bench_ingest_std.py [--pg URL] [--no-pg] [--code DIR ...] [--rounds N]

The synthetic figures of bench/bench_store.py use light explanations; this one stores what the
parser really produces for `go build -trimpath -gcflags=-m=2 std` (built once into bench/.cache/
by bench/bench_parse.py's `std_log`), into a fresh SQLite file and a throwaway PostgreSQL schema.
Wall and CPU time (this process's) are printed for each ingest. `--code DIR` (repeatable) stores
with the `bot` package of another checkout (`git archive main bot | tar -x -C DIR`), each code in
a new process, the codes alternately `--rounds` times, so that before and after share the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_CODE"):  # this process stores with another checkout's bot (--code)
    sys.path.insert(0, os.environ["BENCH_CODE"])


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
            start, cpu = time.perf_counter(), time.process_time()
            assert store.record_snapshot("std", commit(n), replace(snapshot, commit=commit(n).sha))
            times.append(time.perf_counter() - start)
            print(f"  ingest {n + 1}: {times[-1]:.2f} s, CPU {time.process_time() - cpu:.2f} s")
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
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--code", type=Path, action="append", help="a checkout whose `bot` stores (repeatable)")
    ap.add_argument("--rounds", type=int, default=1, help="with --code: the codes alternately, N times")
    args = ap.parse_args()
    if args.code:
        child = [sys.executable, __file__, "--runs", str(args.runs), "--pg", args.pg]
        child += ["--no-pg"] if args.no_pg else []
        print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
        for r in range(args.rounds):
            for code in args.code:
                print(f"[{code}] round {r + 1}", flush=True)
                env = {**os.environ, "BENCH_CODE": str(code.resolve())}
                subprocess.run(child, env=env, check=True)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        return
    with open(std_log(), encoding="utf-8", errors="replace") as f:
        records, stats = parse_log(f)
    snapshot = Snapshot("std", commit(0).sha, Toolchain("go1.27.3", "linux", "amd64"), tuple(records), stats)
    steps = sum(len(fl.steps) for e in records for fl in e.explanation)
    heap = sum(1 for e in records if e.kind.allocates)
    print(f"snapshot: {len(records):,} records ({heap:,} heap escapes), {steps:,} explanation steps")
    with sqlite_url() as url:
        print("SQLite:")
        report(ingest(url, snapshot, args.runs))
    if args.no_pg:
        return
    with postgresql_url(args.pg) as url:
        print("PostgreSQL:")
        report(ingest(url, snapshot, args.runs))


if __name__ == "__main__":
    main()
