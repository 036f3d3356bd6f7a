"""Benchmark: parse + classify the standard library's `-m=2` log, text and `go build -json`.

    python bench/bench_parse.py [--log FILE] [--repeat N] [--no-double] [--code DIR]

Without --log it builds the logs once (`go build -trimpath -gcflags=-m=2 std`, about a minute on
2 cores, then the same with `-json` from the warm cache) into bench/.cache/. For each form it
prints the time of a bare line-by-line read of the file, the time of `parse_log` (records kept,
as the collector keeps them), their ratio measured in the same run, and the peak memory of a
fresh process that parses the log next to that of one that only reads it (--code: the parser
of another checkout, e.g. `git archive main bot | tar -x -C /tmp/before`, for before/after);
then the same peak for the text log twice over (memory should not follow the log's length).
Goals (issue #18): ≤ 6x the bare read, memory flat in the log's size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = Path(os.environ.get("BENCH_CODE", ROOT))  # whose `bot` package is measured (--code)
sys.path.insert(0, str(CODE))

from bot.gc.parse import parse_log  # noqa: E402
from bot.gc.run import BuildOptions, go_binary, toolchain  # noqa: E402

CACHE = ROOT / "bench" / ".cache"


def std_log(json_events: bool = False) -> Path:
    """The standard library's -m=2 log (text: stderr; `-json`: stdout) for the toolchain in use."""
    tc = toolchain(BuildOptions(), ROOT)
    path = CACHE / f"std-m2-{tc.go_version}.{'jsonl' if json_events else 'log'}"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        flags = ["-json"] if json_events else []
        command = " ".join(["go build", *flags, "-trimpath -gcflags=-m=2 std"])
        print(f"building {path.name} ({command}) …", file=sys.stderr)
        env = {**os.environ, "GOFLAGS": "", "GOTOOLCHAIN": "local"}
        with open(path.with_suffix(".tmp"), "w") as out:
            subprocess.run(
                [go_binary(), "build", *flags, "-trimpath", "-gcflags=-m=2", "std"],
                stderr=subprocess.DEVNULL if json_events else out,
                stdout=out if json_events else subprocess.DEVNULL,
                cwd=CACHE,
                env=env,
                check=True,
            )
        path.with_suffix(".tmp").rename(path)
    return path


def doubled(path: Path) -> Path:
    """The text log twice over (every package printed twice, as variants of one package are)."""
    twice = path.with_name(path.stem + "-x2" + path.suffix)
    if not twice.exists():
        data = path.read_bytes()
        twice.write_bytes(data + data)
    return twice


# How the runner reads a log: `-json` output as bytes, a big event handed on so (bot/gc/events.py);
# a parser without that (--code of an older checkout) reads text. Run in the measuring processes.
READER = """
import contextlib
try:
    from bot.gc.events import CHUNK, text_of
except ImportError:
    CHUNK = None

@contextlib.contextmanager
def log_lines(path):
    if not str(path).endswith(".jsonl") or CHUNK is None:
        with open(path, encoding="utf-8", errors="replace") as f:
            yield f
        return
    with open(path, "rb") as f:
        yield (line if len(line) > CHUNK else text_of(line) for line in f)
"""
exec(READER)  # defines log_lines here too


def bare_read(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of reading the log's lines."""
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    with log_lines(path) as f:  # type: ignore[name-defined]  # noqa: F821
        for _ in f:
            n += 1
    return time.perf_counter() - start, time.process_time() - cpu


def parse(path: Path) -> tuple[float, float, int, int, int]:
    """Wall and CPU seconds of `parse_log`, heap-escape units, records, unknown lines."""
    start, cpu = time.perf_counter(), time.process_time()
    with log_lines(path) as f:  # type: ignore[name-defined]  # noqa: F821
        records, stats = parse_log(f)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    escapes = sum(e.count for e in records if e.kind.allocates)
    return elapsed, used, escapes, len(records), stats.unknown_lines


_READ = "n = sum(1 for _ in f)"
_PARSE = "from bot.gc.parse import parse_log; r, s = parse_log(f)"


def peak_rss_mb(path: Path, body: str = _PARSE) -> float:
    """Peak RSS of a fresh interpreter that runs `body` over the open log `f` (MiB): its VmHWM,
    as `ru_maxrss` would include this process's size when it forked."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        f"{READER}\n"
        "with log_lines(sys.argv[1]) as f:\n"
        f"    {body}\n"
        "print(next(x.split()[1] for x in open('/proc/self/status') if x.startswith('VmHWM:')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(CODE)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip()) / 1024


def report(path: Path, repeat: int) -> None:
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = sum(1 for _ in f)
    size_mb = path.stat().st_size / 1e6
    bare, times, bare_cpu, cpu = [], [], [], []
    for _ in range(repeat):  # alternated, so that the machine's load hits both alike
        wall, used = bare_read(path)
        bare.append(wall)
        bare_cpu.append(used)
        run = parse(path)
        times.append(run[0])
        cpu.append(run[1])
    _, _, escapes, records, unknown = run
    print(f"log: {path.name}: {lines:,} lines, {size_mb:.0f} MB")
    print(f"  bare line read:   best {min(bare):.2f} s, median {statistics.median(bare):.2f} s")
    print(f"  parse + classify: best {min(times):.2f} s, median {statistics.median(times):.2f} s")
    print(f"  ratio parse / bare read: best {min(times) / min(bare):.1f}x, median "
          f"{statistics.median(times) / statistics.median(bare):.1f}x")  # fmt: skip
    # CPU time moves less than wall time with other jobs' load on a shared machine
    print(f"  CPU: bare read best {min(bare_cpu):.2f} s, parse best {min(cpu):.2f} s, "
          f"ratio {min(cpu) / min(bare_cpu):.1f}x")  # fmt: skip
    print(f"  records: {records:,} ({escapes:,} heap escapes), unknown lines: {unknown}")
    read_rss, parse_rss = peak_rss_mb(path, _READ), peak_rss_mb(path)
    print(f"  peak RSS: parsing {parse_rss:.0f} MiB, bare read {read_rss:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-double", action="store_true", help="skip the log twice over")
    ap.add_argument("--code", type=Path, default=None, help="measure the `bot` package under DIR")
    args = ap.parse_args()
    if args.code and args.code.resolve() != CODE.resolve():  # imports happen at start: re-run
        env = {**os.environ, "BENCH_CODE": str(args.code.resolve())}
        sys.exit(subprocess.run([sys.executable, *sys.argv], env=env, check=False).returncode)
    print(f"parser: {Path(sys.modules['bot'].__file__ or '').parent}")
    logs = [args.log] if args.log else [std_log(), std_log(json_events=True)]
    for path in logs:
        report(path, args.repeat)
    if not args.no_double:
        twice = doubled(logs[0])
        print(f"peak RSS parsing {twice.name} (twice the log): {peak_rss_mb(twice):.0f} MiB "
              f"(once: {peak_rss_mb(logs[0]):.0f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
