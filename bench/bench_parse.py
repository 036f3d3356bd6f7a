"""Benchmark: parse + classify the standard library's `-m=2` log.

    python bench/bench_parse.py [--log FILE] [--repeat N]

Without --log it builds the log once (`go build -trimpath -gcflags=-m=2 std`, about a minute on
2 cores) into bench/.cache/. Prints the time of a bare line-by-line read of the file, the time
of `parse_log` (records kept, as the collector keeps them), their ratio, and the peak memory of
a fresh process that parses the log. Goals (issue #2): ≤ 4 s and ≤ 300 MB on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.gc.parse import parse_log  # noqa: E402
from bot.gc.run import BuildOptions, go_binary, toolchain  # noqa: E402

CACHE = ROOT / "bench" / ".cache"


def std_log() -> Path:
    """The standard library's -m=2 log for the toolchain in use, built once."""
    tc = toolchain(BuildOptions(), ROOT)
    path = CACHE / f"std-m2-{tc.go_version}.log"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"building {path.name} (go build -trimpath -gcflags=-m=2 std) …", file=sys.stderr)
        env = {**os.environ, "GOFLAGS": "", "GOTOOLCHAIN": "local"}
        with open(path.with_suffix(".tmp"), "w") as out:
            subprocess.run(
                [go_binary(), "build", "-trimpath", "-gcflags=-m=2", "std"],
                stderr=out,
                stdout=subprocess.DEVNULL,
                cwd=CACHE,
                env=env,
                check=True,
            )
        path.with_suffix(".tmp").rename(path)
    return path


def bare_read(path: Path) -> float:
    start = time.perf_counter()
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for _ in f:
            n += 1
    return time.perf_counter() - start


def parse(path: Path) -> tuple[float, int, int, int]:
    start = time.perf_counter()
    with open(path, encoding="utf-8", errors="replace") as f:
        records, stats = parse_log(f)
    elapsed = time.perf_counter() - start
    escapes = sum(e.count for e in records if e.kind.allocates)
    return elapsed, escapes, len(records), stats.unknown_lines


def peak_rss_mb(path: Path) -> float:
    """Peak RSS of a fresh interpreter that parses the log (MiB)."""
    code = (
        "import resource, sys; sys.path.insert(0, sys.argv[2]);"
        "from bot.gc.parse import parse_log;"
        "f = open(sys.argv[1], encoding='utf-8', errors='replace'); r, s = parse_log(f);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(ROOT)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = args.log or std_log()
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = sum(1 for _ in f)
    size_mb = path.stat().st_size / 1e6
    bare = [bare_read(path) for _ in range(args.repeat)]
    runs = [parse(path) for _ in range(args.repeat)]
    times = [r[0] for r in runs]
    _, escapes, records, unknown = runs[0]
    rss = peak_rss_mb(path)
    print(f"log: {path.name}: {lines:,} lines, {size_mb:.0f} MB")
    print(f"bare line read:   best {min(bare):.2f} s, median {statistics.median(bare):.2f} s")
    print(f"parse + classify: best {min(times):.2f} s, median {statistics.median(times):.2f} s")
    print(f"ratio parse / bare read (best): {min(times) / min(bare):.1f}x")
    print(f"throughput: {lines / min(times) / 1e6:.2f} M lines/s")
    print(f"records: {records:,} ({escapes:,} heap escapes), unknown lines: {unknown}")
    print(f"peak RSS of a process parsing the log: {rss:.0f} MiB")
    print(f"this process's peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
