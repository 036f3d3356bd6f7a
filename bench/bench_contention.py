"""Benchmark (issue #18): what CPU used alongside a cold `go build -gcflags=-m=2 std` costs the build.

    python bench/bench_contention.py [--rounds N] [--burn SECONDS]

bench/bench_diff_std.py's std-sized cold rows are at the goal's edge, and the bot's timeline says
where: go itself runs ~3 s longer than the bare build, while the bot parses its output. This
measures, on the same module and each with a fresh GOCACHE, a bare cold build:

- alone, with `-o /dev/null` (bench_diff_std's baseline);
- with `-json`, its output read by `cat` (the framing escape-bot asks for);
- with `-json`, its output read line by line by Python (reading alone);
- with `-json`, its output parsed by bot/gc/parse.py's LogParser (no source files: the parse
  alone, without what escape-bot adds);
- alone, beside a CPU-bound Python loop at nice 0, at nice 19, and under SCHED_IDLE (the lowest
  priority Linux has): if a lower priority freed the compiler's time, the last two would cost
  the build next to nothing.

Prints each variant's wall time and its ratio to the bare build of the same round (variants
alternate in order from round to round). The loop runs at most --burn seconds, and is stopped
when the build ends.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_diff_std import STD_PACKAGES, std_repo  # noqa: E402
from bot.gc.run import go_binary  # noqa: E402

READ = "import sys\nfor _ in sys.stdin.buffer: pass\n"
PARSE = (
    "import sys\nsys.path.insert(0, sys.argv[1])\n"
    "from bot.gc.events import CHUNK, text_of\nfrom bot.gc.parse import LogParser, parse_lines\n"
    "lines = (l if len(l) > CHUNK else text_of(l) for l in sys.stdin.buffer)\n"
    "print(sum(1 for _ in parse_lines(lines, LogParser())))\n"
)
BURN = "import time, sys\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end: pass\n"


def _build(go: str, repo: Path, cache: Path, json_events: bool) -> list[str]:
    cmd = [go, "build", "-o", os.devnull, "-trimpath", "-gcflags=-m=2"]
    return [*cmd, "-json", *STD_PACKAGES] if json_events else [*cmd, *STD_PACKAGES]


def _burner(how: str, seconds: float) -> subprocess.Popen[bytes]:
    def lower() -> None:
        if how == "nice 19":
            os.nice(19)
        elif how == "SCHED_IDLE":
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))

    return subprocess.Popen([sys.executable, "-c", BURN, str(seconds)], preexec_fn=lower)  # noqa: PLW1509


def run_variant(name: str, go: str, repo: Path, scratch: Path, burn: float) -> float:
    """Wall seconds of one cold build under `name`."""
    cache = scratch / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "GOCACHE": str(cache), "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}
    reader = {"json | cat": ["cat"], "json | read": [sys.executable, "-c", READ]}.get(name)
    if name == "json | parse":
        reader = [sys.executable, "-c", PARSE, str(ROOT)]
    burner = None
    if name.startswith("beside a loop"):
        burner = _burner(name.removeprefix("beside a loop, "), burn)
    start = time.perf_counter()
    try:
        if reader is None:
            subprocess.run(_build(go, repo, cache, False), cwd=repo, env=env, check=True, capture_output=True)
        else:
            build = _build(go, repo, cache, True)
            quiet = subprocess.DEVNULL
            go_proc = subprocess.Popen(build, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=quiet)
            subprocess.run(reader, stdin=go_proc.stdout, stdout=subprocess.DEVNULL, check=True)
            assert go_proc.stdout is not None
            go_proc.stdout.close()
            if go_proc.wait() != 0:
                raise SystemExit(f"{name}: go build failed")
        return time.perf_counter() - start
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()


VARIANTS = (
    "bare",
    "json | cat",
    "json | read",
    "json | parse",
    "beside a loop, nice 0",
    "beside a loop, nice 19",
    "beside a loop, SCHED_IDLE",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--burn", type=float, default=120.0, help="the loop's longest run (seconds)")
    args = ap.parse_args()
    go = go_binary()
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"go: {version}")
    print(f"cpus: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    ratios: dict[str, list[float]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-contention-") as tmp:
        scratch = Path(tmp)
        repo, _, _ = std_repo(scratch)
        for r in range(args.rounds):
            order = VARIANTS if r % 2 == 0 else (VARIANTS[0], *reversed(VARIANTS[1:]))
            bare = run_variant("bare", go, repo, scratch, args.burn)
            print(f"round {r + 1}: bare {bare:.1f} s", flush=True)
            ratios["bare"].append(1.0)
            for name in order[1:]:
                seconds = run_variant(name, go, repo, scratch, args.burn)
                ratios[name].append(seconds / bare)
                print(f"round {r + 1}: {name:<28} {seconds:6.1f} s  {seconds / bare:5.2f}x", flush=True)
    print(f"\nmedian ratio to the bare build of the same round ({args.rounds} rounds)")
    for name in VARIANTS[1:]:
        print(f"  {name:<28} {statistics.median(ratios[name]):5.2f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
