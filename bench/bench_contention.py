"""Benchmark (issue #18): what CPU used alongside a cold `go build -gcflags=-m=2 std` costs the build.

    python bench/bench_contention.py [--rounds N] [--burn SECONDS] [--bot [--code DIR ...]]
                                     [--only VARIANT ...]

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

--bot adds escape-bot itself (this checkout's), against the same bare build:

- `escape-bot collect` of the same packages (the parse with its source files; nothing stored);
- `escape-bot diff` with the base stored (recorded once, warm, into a template database copied
  for each run) and head built in the clone: the pull request's usual case. Its go runs through
  a shell wrapper (ESCAPE_BOT_GO) that notes when each go command ends, so the row also says
  how much later than the bare build go ended, and how long the bot worked after it. Nothing
  polls while the build runs: a poller's CPU would come out of the build's too.

`--code DIR` (with --bot) adds the `diff` row as another checkout's bot runs it (its own template
database: the schemas may differ), in turn with this checkout's.

Prints each variant's wall time and its ratio to the bare build of the same round (variants
alternate in order from round to round; `--only` keeps the bare build and the variants named).
The loop runs at most --burn seconds, and is stopped when the build ends.
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

from bench.bench_diff_std import BOT, STD_PACKAGES, go_env, std_repo  # noqa: E402
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


# go, noting when it ends (`date`'s clock is time.time()'s)
GO_WRAPPER = '#!/bin/sh\n"$BENCH_GO" "$@"\nstatus=$?\ndate +%s.%N >> "$BENCH_GO_ENDS"\nexit $status\n'


class Bot:
    """escape-bot runs: the clone, its base and head, and a template database holding base."""

    def __init__(self, repo: Path, base: str, head: str, scratch: Path, go: str, code: Path = ROOT) -> None:
        self.repo, self.base, self.head, self.scratch, self.code = repo, base, head, scratch, code
        self.packages = [a for p in STD_PACKAGES for a in ("--package", p)]
        self.template = scratch / f"base-{abs(hash(code))}.db"  # each code records its own base
        self.wrapper, self.ends = scratch / "go-wrapper", scratch / "go-ends"
        self.wrapper.write_text(GO_WRAPPER)
        self.wrapper.chmod(0o755)
        self.go = go
        record = ["collect", "--rev", base, "--record", *self.packages, "--db", f"sqlite:///{self.template}"]
        subprocess.run(
            self._cmd(record), cwd=scratch, env=go_env(scratch / "warm"), check=True, capture_output=True
        )
        self.after_go: list[float] = []
        self.go_longer: list[float] = []

    def _cmd(self, args: list[str]) -> list[str]:
        return [sys.executable, "-c", BOT, str(self.code), *args, "--repo", str(self.repo)]

    def _run(self, args: list[str], env: dict[str, str]) -> tuple[float, float]:
        """Wall seconds of one escape-bot run, and when its last go command ended (from its start)."""
        self.ends.unlink(missing_ok=True)
        env = {
            **env,
            "ESCAPE_BOT_GO": str(self.wrapper),
            "BENCH_GO": self.go,
            "BENCH_GO_ENDS": str(self.ends),
        }
        started, start = time.time(), time.perf_counter()
        proc = subprocess.run(self._cmd(args), cwd=self.scratch, env=env, capture_output=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{args[0]} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
        return wall, max(float(t) for t in self.ends.read_text().split()) - started

    def collect(self, env: dict[str, str]) -> float:
        return self._run(["collect", *self.packages, "--format", "json"], env)[0]

    def diff(self, env: dict[str, str], bare: float) -> float:
        db = self.scratch / "run.db"
        shutil.copy(self.template, db)
        args = ["diff", "--base", self.base, "--head", self.head, "--format", "json", *self.packages]
        wall, go_ended = self._run([*args, "--db", f"sqlite:///{db}"], env)
        self.after_go.append(wall - go_ended)
        self.go_longer.append(go_ended - bare)
        return wall


def run_variant(
    name: str,
    go: str,
    repo: Path,
    scratch: Path,
    burn: float,
    bot: Bot | None,
    bare: float,
    others: dict[str, Bot] | None = None,
) -> float:
    """Wall seconds of one cold build under `name`."""
    cache = scratch / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = go_env(cache)
    if name == "escape-bot collect" and bot is not None:
        return bot.collect(env)
    if name == "escape-bot diff, base stored" and bot is not None:
        return bot.diff(env, bare)
    if name.startswith("escape-bot diff, base stored, ") and others is not None:
        return others[name.removeprefix("escape-bot diff, base stored, ")].diff(env, bare)
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
BOT_VARIANTS = ("escape-bot collect", "escape-bot diff, base stored")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--burn", type=float, default=120.0, help="the loop's longest run (seconds)")
    ap.add_argument("--bot", action="store_true", help="escape-bot collect and diff too")
    ap.add_argument("--only", action="append", metavar="VARIANT", help="only these, beside the bare build")
    ap.add_argument(
        "--code",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="with --bot: `diff` with the base stored by another checkout's bot too (variant "
        "'escape-bot diff, base stored, DIR'), in turn with this one's",
    )
    args = ap.parse_args()
    go = go_binary()
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"go: {version}")
    print(f"cpus: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    variants: tuple[str, ...] = (*VARIANTS, *BOT_VARIANTS) if args.bot else VARIANTS
    if args.bot:
        variants += tuple(f"escape-bot diff, base stored, {code}" for code in args.code)
    if args.only:
        unknown = set(args.only).difference(variants)
        if unknown:
            raise SystemExit(
                f"unknown variant(s): {', '.join(sorted(unknown))}; known: {', '.join(variants)}"
            )
        variants = (variants[0], *(v for v in variants[1:] if v in args.only))
    ratios: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="bench-contention-") as tmp:
        scratch = Path(tmp)
        repo, base, head = std_repo(scratch)
        bot = Bot(repo, base, head, scratch, go) if args.bot else None
        others = {str(c): Bot(repo, base, head, scratch, go, c) for c in args.code} if args.bot else {}
        for r in range(args.rounds):
            order = variants if r % 2 == 0 else (variants[0], *reversed(variants[1:]))
            bare = run_variant("bare", go, repo, scratch, args.burn, bot, 0.0, others)
            print(f"round {r + 1}: bare {bare:.1f} s", flush=True)
            ratios["bare"].append(1.0)
            for name in order[1:]:
                seconds = run_variant(name, go, repo, scratch, args.burn, bot, bare, others)
                ratios[name].append(seconds / bare)
                print(f"round {r + 1}: {name:<28} {seconds:6.1f} s  {seconds / bare:5.2f}x", flush=True)
    print(f"\nmedian ratio to the bare build of the same round ({args.rounds} rounds)")
    for name in variants[1:]:
        print(f"  {name:<28} {statistics.median(ratios[name]):5.2f}x")
    if bot is not None:
        for label, each in (("", bot), *((f" [{code}]", other) for code, other in others.items())):
            if not each.go_longer:
                continue
            longer, after = statistics.median(each.go_longer), statistics.median(each.after_go)
            print(f"  escape-bot diff{label}: its go ended {longer:+.1f} s later than the bare build took")
            print(f"  (start-up included), and the bot ran {after:.1f} s after go ended (medians)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
