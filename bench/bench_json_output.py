"""Benchmark: `collect --from-log LOG --format json` on the standard library's `-m=2` log.

    python bench/bench_json_output.py [--log FILE] [--repeat N]

Each variant runs as a fresh process (`python -m bot collect ...`, stdout into a file); the
figures are its wall time and peak RSS (`os.wait4`'s rusage of that child), best of N, with the
variants interleaved so a loaded machine weighs on all of them alike. Ratios are against the bare
parse (`read_log`, what every variant does first) and against `--format text`. "before" is the
previous output path, run the same way: the whole `snapshot_dict` through `json.dumps(indent=2)`.
The log is built once into bench/.cache/ by bench/bench_parse.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_parse import std_log  # noqa: E402

PARSE = "import sys; from bot.gc.logs import read_log; read_log(sys.argv[1])"
BEFORE = (
    "import json, sys; from bot.gc.logs import read_log; from bot.gc.model import Snapshot, Toolchain;"
    "from bot.report.serialize import snapshot_dict; log = read_log(sys.argv[1]);"
    "s = Snapshot('', '', Toolchain('unknown', '', ''), tuple(log.escapes), log.stats);"
    "sys.stdout.write(json.dumps(snapshot_dict(s), indent=2) + '\\n')"
)


def variants(log: Path) -> dict[str, list[str]]:
    collect = [sys.executable, "-m", "bot", "collect", "--from-log", str(log)]
    return {
        "bare parse (read_log)": [sys.executable, "-c", PARSE, str(log)],
        "--format text": [*collect, "--format", "text"],
        "--format json": [*collect, "--format", "json"],
        "--format json --explain": [*collect, "--format", "json", "--explain"],
        "--format json --explain --pretty": [*collect, "--format", "json", "--explain", "--pretty"],
        "before: json.dumps(indent=2), explained": [sys.executable, "-c", BEFORE, str(log)],
    }


def run(command: list[str], out: Path) -> tuple[float, float, int]:
    """Seconds, peak RSS (MiB) and bytes written of one child process."""
    with out.open("wb") as f:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=f, stderr=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[:6])} … exited {proc.returncode}")
    return elapsed, usage.ru_maxrss / 1024, out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    log = args.log or std_log()
    found: dict[str, list[tuple[float, float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for name, command in variants(log).items():
                found.setdefault(name, []).append(run(command, Path(tmp) / "out"))
    best = {
        name: (min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]) for name, runs in found.items()
    }
    parse_s, parse_mb, _ = best["bare parse (read_log)"]
    text_s, text_mb, _ = best["--format text"]
    print(f"log: {log.name}, {log.stat().st_size / 1e6:.0f} MB; best of {args.repeat}, one process per run")
    print(f"{'variant':42} {'time':>7} {'peak RSS':>9} {'output':>9}  vs parse (time, RSS)  vs text")
    for name, (seconds, rss, size) in best.items():
        print(
            f"{name:42} {seconds:6.2f}s {rss:6.0f} MiB {size / 1e6:6.1f} MB"
            f"  {seconds / parse_s:4.2f}x {rss / parse_mb:4.2f}x"
            f"       {seconds / text_s:4.2f}x {rss / text_mb:4.2f}x"
        )


if __name__ == "__main__":
    main()
