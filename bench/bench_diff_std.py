"""Benchmark: `escape-bot diff` at the size of the standard library, and on a small module,
against bare `go build -gcflags=-m=2` runs measured in the same run (issue #18).

    python bench/bench_diff_std.py [--code DIR ...] [--small-repo GIT_DIR --small-base REV
                                   --small-head REV] [--no-std] [--no-small] [--warm-only N]

The standard library cannot be built from a copy of GOROOT/src (its module is `std`), so the
std-sized case is a repository whose module builds `std` too: `escape-bot diff --package std
--package ./...` parses the whole standard library's `-m=2` output (1.4 M lines, 46 k records)
on each side, and head changes one file of the repository. Rows, each with its baseline:

- diff, empty database, cold build cache  vs  bare builds of base and head sharing a cold cache;
- diff, base stored, cold cache           vs  a bare cold build of head;
- diff, empty database, warm cache        vs  bare warm builds of base and head (the bot's own work);
- small module end to end, empty db, cold vs  bare base + head builds sharing a cold cache.

Wall time, CPU time (user + system of the process tree) and peak RSS of the largest process
(the bot's Python, or a compiler process) come from `wait4`; every run gets a fresh GOCACHE where
it says cold. `--code DIR` (repeatable) runs the `bot` package of another checkout, e.g.
`git archive main bot | tar -x -C /tmp/before`, so that before and after are measured in one
run, alternately. The small module is a generated one
unless `--small-repo` names a git repository with base and head revisions (no network).
`--warm-only N` runs only the warm std row: one bot run warms a cache, then N rounds, the codes
alternately. `--stored-warm-only N` runs only `diff` with the base stored and a warm cache (a pull
request's first run once CI restored the Go cache): N rounds, the codes alternately, each on a
copy of one database holding the base.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.gc.run import go_binary  # noqa: E402

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
# runs the CLI of the checkout named by the first argument (cwd is never a checkout)
BOT = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); from bot.cli import main; sys.exit(main(sys.argv[1:]))"
)
STD_PACKAGES = ("std", "./...")

BASE_GO = """package w

// Pair is returned by value: nothing escapes.
type Pair struct{ A, B int }

func Make(a, b int) Pair { return Pair{a, b} }
"""
HEAD_GO = (
    BASE_GO
    + """
// Box escapes: a pointer to a new value is returned.
func Box(a, b int) *Pair { return &Pair{a, b} }
"""
)


@dataclass(frozen=True)
class Run:
    seconds: float
    rss_mib: float
    cpu: float = 0.0  # user + system of the process tree: steadier than wall on a loaded machine

    def __add__(self, other: Run) -> Run:
        return Run(self.seconds + other.seconds, max(self.rss_mib, other.rss_mib), self.cpu + other.cpu)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Wall time and the peak RSS of the largest process of the tree (`wait4`'s rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if code not in (0, 1):  # diff exits 1 only with --fail-on-new; go never
        raise SystemExit(f"{' '.join(cmd[:4])} … exited {code}: {err.decode(errors='replace')[-2000:]}")
    return Run(elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def std_repo(root: Path) -> tuple[Path, str, str]:
    """A one-package module; head adds a heap escape to it."""
    repo = root / "stdwide"
    (repo / "w").mkdir(parents=True)
    (repo / "go.mod").write_text("module example.com/stdwide\n\ngo 1.24\n")
    (repo / "w" / "w.go").write_text(BASE_GO)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "w" / "w.go").write_text(HEAD_GO)
    git(repo, "commit", "-qam", "head")
    return repo, base, git(repo, "rev-parse", "HEAD")


def small_repo(root: Path, packages: int = 12) -> tuple[Path, str, str]:
    """A fastjson-sized module (~3,000 lines in `packages` packages); head adds escapes to one."""
    repo = root / "small"
    repo.mkdir()
    (repo / "go.mod").write_text("module example.com/small\n\ngo 1.24\n")
    for p in range(packages):
        body = [f'package p{p}\n\nimport (\n\t"fmt"\n\t"strings"\n)\n']
        for f in range(25):
            body.append(
                f"\ntype T{f} struct{{ name string; vals []int }}\n\n"
                f"func New{f}(n string, k int) *T{f} {{\n\tt := &T{f}{{name: n}}\n"
                f"\tfor i := 0; i < k; i++ {{\n\t\tt.vals = append(t.vals, i)\n\t}}\n\treturn t\n}}\n\n"
                f'func (t *T{f}) String() string {{\n\treturn fmt.Sprintf("%s:%d", strings.ToUpper(t.name), '
                f"len(t.vals))\n}}\n"
            )
        (repo / f"p{p}").mkdir()
        (repo / f"p{p}" / f"p{p}.go").write_text("".join(body))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    with open(repo / "p0" / "p0.go", "a") as out:
        out.write("\nfunc Leak(s string) any { return &s }\n")
    git(repo, "commit", "-qam", "head")
    return repo, base, git(repo, "rev-parse", "HEAD")


def go_env(cache: Path) -> dict[str, str]:
    """The environment of a build with the build cache `cache` (no module download, local Go)."""
    return {**os.environ, "GOCACHE": str(cache), "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}


class Bench:
    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.n = 0
        self.go = go_binary()

    def env(self, cache: Path) -> dict[str, str]:
        return go_env(cache)

    def fresh(self, what: str) -> Path:
        self.n += 1
        path = self.scratch / f"{what}-{self.n}"
        shutil.rmtree(path, ignore_errors=True)
        return path

    def bare(self, repo: Path, revs: list[str], packages: tuple[str, ...], cache: Path) -> Run:
        """`go build -gcflags=-m=2` of each revision in turn, checked out in place, one cache."""
        total = Run(0.0, 0.0)
        for rev in revs:
            git(repo, "checkout", "-q", "--detach", rev)
            cmd = [self.go, "build", "-o", os.devnull, "-trimpath", "-gcflags=-m=2", *packages]
            total = total + timed(cmd, repo, self.env(cache))
        git(repo, "checkout", "-q", "main")
        return total

    def bot(self, code: Path, args: list[str], repo: Path, cache: Path, db: Path) -> Run:
        cmd = [sys.executable, "-c", BOT, str(code), *args, "--repo", str(repo), "--db", f"sqlite:///{db}"]
        return timed(cmd, self.scratch, self.env(cache))


def ratio(run: Run, base: Run) -> str:
    return (
        f"{run.seconds:7.1f} s {run.rss_mib:6.0f} MiB | bare {base.seconds:6.1f} s {base.rss_mib:5.0f} MiB"
        f" | {run.seconds / base.seconds:5.2f}x time, {run.rss_mib / base.rss_mib:4.2f}x memory"
        f", bot's own {run.seconds - base.seconds:+.1f} s"
        f" | CPU {run.cpu:.1f} s, bare {base.cpu:.1f} s"
        f" ({run.cpu / base.cpu:.2f}x, bot's own {run.cpu - base.cpu:+.1f} s)"
    )


def std_rows(b: Bench, codes: list[Path], warm_rounds: int = 0, stored_rounds: int = 0) -> None:
    repo, base, head = std_repo(b.scratch)
    pk = [a for p in STD_PACKAGES for a in ("--package", p)]
    diff = ["diff", "--base", base, "--head", head, "--format", "json", *pk]
    if stored_rounds:  # the base stored, warm cache: the bot's own work on a pull request's first run
        cache = b.fresh("cache")
        templates = {}  # each code records its own base: their schemas and stored keys may differ
        for code in codes:
            templates[code] = b.fresh("db")
            b.bot(code, ["collect", "--rev", base, "--record", *pk], repo, cache, templates[code])
        b.bare(repo, [head], STD_PACKAGES, cache)  # head's packages in the cache too
        for r in range(stored_rounds):
            for code in codes:
                db = b.fresh("db")
                shutil.copy(templates[code], db)
                bare_warm = b.bare(repo, [head], STD_PACKAGES, cache)
                run = b.bot(code, diff, repo, cache, db)
                print(
                    f"[{code}] round {r + 1} std diff, base stored, warm cache: {ratio(run, bare_warm)}",
                    flush=True,
                )
        return
    bare_cache = b.fresh("cache")
    bare_cold = b.bare(repo, [base, head], STD_PACKAGES, bare_cache)
    print(f"std: bare cold base+head {bare_cold.seconds:.1f} s, {bare_cold.rss_mib:.0f} MiB", flush=True)
    if warm_rounds:  # the warm row only: one cache warmed by a first run, the codes alternately
        cache = b.fresh("cache")
        b.bot(codes[0], diff, repo, cache, b.fresh("db"))
        for r in range(warm_rounds):
            for code in codes:
                bare_warm = b.bare(repo, [base, head], STD_PACKAGES, bare_cache)
                warm = b.bot(code, diff, repo, cache, b.fresh("db"))
                print(
                    f"[{code}] round {r + 1} std diff, empty db, warm cache: {ratio(warm, bare_warm)}",
                    flush=True,
                )
        return
    for code in codes:
        cache = b.fresh("cache")
        cold = b.bot(code, diff, repo, cache, b.fresh("db"))
        print(f"[{code}] std diff, empty db, cold cache:  {ratio(cold, bare_cold)}", flush=True)
        bare_warm = b.bare(repo, [base, head], STD_PACKAGES, bare_cache)
        warm = b.bot(code, diff, repo, cache, b.fresh("db"))
        print(f"[{code}] std diff, empty db, warm cache:  {ratio(warm, bare_warm)}", flush=True)
        db = b.fresh("db")
        b.bot(code, ["collect", "--rev", base, "--record", *pk], repo, cache, db)
        bare_head = b.bare(repo, [head], STD_PACKAGES, b.fresh("cache"))
        stored = b.bot(code, diff, repo, b.fresh("cache"), db)
        print(f"[{code}] std diff, base stored, cold cache: {ratio(stored, bare_head)}", flush=True)


def small_rows(b: Bench, codes: list[Path], repo: Path, base: str, head: str, rounds: int) -> None:
    diff = ["diff", "--base", base, "--head", head, "--format", "json"]
    for r in range(rounds):
        bare = b.bare(repo, [base, head], ("./...",), b.fresh("cache"))
        for code in codes:
            run = b.bot(code, diff, repo, b.fresh("cache"), b.fresh("db"))
            print(f"[{code}] small, round {r + 1}, empty db, cold cache: {ratio(run, bare)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", type=Path, action="append", help="a checkout whose `bot` runs (repeatable)")
    ap.add_argument("--small-repo", type=Path, help="a git repository for the small case (cloned)")
    ap.add_argument("--small-base", default="HEAD~1")
    ap.add_argument("--small-head", default="HEAD")
    ap.add_argument("--small-rounds", type=int, default=3)
    ap.add_argument("--no-std", action="store_true")
    ap.add_argument("--no-small", action="store_true")
    ap.add_argument("--warm-only", type=int, default=0, metavar="ROUNDS", help="std: the warm row only")
    ap.add_argument(
        "--stored-warm-only",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="std: only `diff` with the base stored and a warm cache (the bot's own work on a first run)",
    )
    args = ap.parse_args()
    codes = [c.resolve() for c in args.code or [ROOT]]
    print(f"go: {b_go()}; load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-diff-std-") as tmp:
        b = Bench(Path(tmp))
        if not args.no_small:
            if args.small_repo:
                repo = b.scratch / "small"
                subprocess.run(["git", "clone", "-q", str(args.small_repo), str(repo)], check=True)
                base, head = git(repo, "rev-parse", args.small_base), git(repo, "rev-parse", args.small_head)
                git(repo, "branch", "-f", "main", head)
            else:
                repo, base, head = small_repo(b.scratch)
            small_rows(b, codes, repo, base, head, args.small_rounds)
        if not args.no_std:
            std_rows(b, codes, args.warm_only, args.stored_warm_only)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def b_go() -> str:
    return subprocess.run([go_binary(), "version"], capture_output=True, text=True, check=True).stdout.strip()


if __name__ == "__main__":
    main()
