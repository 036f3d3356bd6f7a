"""Benchmark: the fixed cost of `escape-bot ci` on a pull request, with a warm Go cache.

    python bench/bench_ci_fixed.py [--code DIR ...] [--runs 10]

bench/bench_action.py's module and pull request (100 packages); the database where the documented
workflows restore it (`.escape-bot/escapes.db` in the checkout). With a warm build cache go's own
time is small, so what is left is the bot's: start-up, the store, git, the parse, the reports.
Rows, each the median of `--runs` new processes per code, the codes alternately:

- first run: the database holds the base only. Wall and CPU (the process tree), and when
  `go build` was spawned, counted from the interpreter's start;
- re-run: the database holds base and head (a check run again), as a first attempt and as
  `GITHUB_RUN_ATTEMPT=2`.

`--code DIR` (repeatable) runs the `bot` package of another checkout, e.g. a `git worktree add`
of an older commit with its compiled extensions copied in; by default this checkout's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_action import ci_env, make_pull_request, record_base  # noqa: E402

# runs the CLI of the checkout named by the first argument and notes when `go build` is spawned
# (in the file named by the second); the cwd is never a checkout, so that no other `bot` is found
BOT = """
import os, subprocess, sys, time
code, spawned = sys.argv.pop(1), sys.argv.pop(1)
sys.path.insert(0, code)
start = time.perf_counter()
real = subprocess.Popen.__init__
def init(self, args, *rest, **kwargs):
    if "build" in list(args)[1:2] and not os.path.exists(spawned):
        with open(spawned, "w") as out:
            out.write(str(time.perf_counter() - start))
    real(self, args, *rest, **kwargs)
subprocess.Popen.__init__ = init
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_ci(code: Path, repo: Path, env: dict[str, str], scratch: Path) -> tuple[float, float, float | None]:
    """One `ci --mode analyze`: wall, CPU of the process tree, and when go build was spawned."""
    spawned = scratch / "spawned"
    spawned.unlink(missing_ok=True)
    for name in ("summary.md", "output.txt"):
        (scratch / "run" / name).write_text("")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", BOT, str(code), str(spawned), "ci", "--repo", str(repo), "--mode", "analyze"],
        env=env,
        cwd=scratch,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr[-2000:])
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, float(spawned.read_text()) if spawned.exists() else None


def place_database(repo: Path, db: Path) -> None:
    own = repo / ".escape-bot"
    shutil.rmtree(own, ignore_errors=True)
    own.mkdir()
    shutil.copy(db, own / "escapes.db")


def median(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.3f} s" if known else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", type=Path, action="append", help="a checkout whose `bot` runs (repeatable)")
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    codes = [c.resolve() for c in args.code or [ROOT]]
    with tempfile.TemporaryDirectory(prefix="bench-ci-fixed-") as tmp:
        scratch = Path(tmp)
        repo = scratch / "repo"
        base, head, merge = make_pull_request(repo, 100, 4)
        cache = scratch / "gocache"
        with_base = scratch / "with-base.db"
        record_base(repo, base, with_base, cache)
        env = ci_env(scratch, base, head, merge, with_base)
        env["GOCACHE"] = str(cache)
        del env["ESCAPE_BOT_DATABASE_URL"]
        # head's packages in the cache, and a database holding both sides (the re-run's)
        place_database(repo, with_base)
        run_ci(codes[0], repo, env, scratch)
        with_both = scratch / "with-both.db"
        shutil.copy(repo / ".escape-bot" / "escapes.db", with_both)
        rows: dict[tuple[str, Path], list[tuple[float, float, float | None]]] = {}
        cases: tuple[tuple[str, Path, dict[str, str]], ...] = (
            ("first run (base stored)", with_base, {}),
            ("re-run, attempt 1", with_both, {}),
            ("re-run, GITHUB_RUN_ATTEMPT=2", with_both, {"GITHUB_RUN_ATTEMPT": "2"}),
        )
        for _ in range(args.runs):
            for label, db, extra in cases:
                for code in codes:
                    place_database(repo, db)
                    rows.setdefault((label, code), []).append(run_ci(code, repo, {**env, **extra}, scratch))
        print(f"{args.runs} runs each, medians; go {json.dumps(env.get('ESCAPE_BOT_GO', 'PATH'))}")
        for label, _, _ in cases:
            for code in codes:
                walls, cpus, spawns = zip(*rows[(label, code)], strict=True)
                print(
                    f"{label:30} {code!s:40} wall {median(list(walls))}, CPU {median(list(cpus))}, "
                    f"go spawned at {median(list(spawns))}"
                )
        shutil.rmtree(repo / ".escape-bot", ignore_errors=True)
        os.sync()


if __name__ == "__main__":
    main()
