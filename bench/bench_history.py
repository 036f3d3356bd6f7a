"""History benchmark: trend / top / blame over 1,000 stored commits, and backfill against cold builds.

    python bench/bench_history.py [--quick] [--commits N] [--backfill-commits N] [--cold-runs K]
                                  [--skip-queries] [--skip-backfill] [--postgresql-url URL | --no-postgresql]

1. Queries (goal: trend and top <= 0.5 s on SQLite over 1,000 commits). 1,000 synthetic snapshots of
   a 100-package module (tests/store/factories.py: ~6,000 escape sites, 8 files per package), 1-2
   packages edited per commit, recorded through the Store API; then each query function's median
   time over 5 runs, and the wall time of the command (`escape-bot trend`, a new Python process).
2. Backfill. A generated Go module of 100 packages (a layered import graph, `fmt`/`strings`/`sort`
   from the standard library) and a git history of 50 commits, each editing one package (an
   escape added or removed, lines shifted). `escape-bot backfill` of the 50 commits starting with
   an empty GOCACHE, against 50 cold `go build -trimpath -gcflags=-m=2 ./...` runs, each with a new
   empty GOCACHE: K of them are run (spread over the history) and their mean is multiplied by 50.

--quick: 200 commits for the queries, 12 commits and 2 cold runs for the backfill (~2 minutes).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "store"))
sys.path.insert(0, str(ROOT))

from factories import edit_package, make_commit, make_escapes, sha_for, snapshot_of  # noqa: E402

from bench.bench_store import postgresql_url, sqlite_url  # noqa: E402
from bot.gc.model import Kind  # noqa: E402
from bot.gc.run import go_binary  # noqa: E402
from bot.history.blame import Target, blame  # noqa: E402
from bot.history.model import ALL_KINDS, GroupBy, TopBy  # noqa: E402
from bot.history.queries import Filters, Scope, top, trend  # noqa: E402
from bot.store import Store  # noqa: E402

REPOSITORY = "acme/service"
DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/test"
GO_ENV = {"GOTOOLCHAIN": "local", "GOPROXY": "off", "GOSUMDB": "off", "GOFLAGS": ""}
CLI = (
    "from bot.cli import cli, main; from bot.commands.history import backfill, trend, blame, top; "
    "[cli.add_command(c) for c in (backfill, trend, blame, top)]; import sys; sys.exit(main(sys.argv[1:]))"
)


def median_time(action: Callable[[], object], runs: int = 5) -> float:
    """Median seconds of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ---- 1. queries --------------------------------------------------------------------------


def fill(store: Store, commits: int) -> tuple[list[str], str]:
    """Record `commits` synthetic commits; returns the shas (oldest first) and a function to blame."""
    rng = random.Random(11)
    escapes = make_escapes(100, 60, seed=5)
    packages = sorted({e.package for e in escapes})
    shas: list[str] = []
    for index in range(commits):
        if index:
            for package in rng.sample(packages, k=rng.choice([1, 1, 2])):
                escapes = edit_package(escapes, package, rng)
        sha = sha_for(f"history-{index}")
        store.record_snapshot(
            REPOSITORY, make_commit(sha, parents=shas[-1:], index=index), snapshot_of(escapes, sha)
        )
        shas.append(sha)
    heap = [e for e in escapes if e.kind in (Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP)]
    return shas, heap[len(heap) // 2].function


def bench_queries(name: str, url: str, commits: int) -> None:
    """Fill a database and time each query."""
    with Store.open(url) as store:
        start = time.perf_counter()
        shas, function = fill(store, commits)
        print(f"{name:<10} recorded {commits} commits in {time.perf_counter() - start:.0f} s")
    with Store.open(url) as store:
        git_order = Scope(repository=REPOSITORY, branch="main", order=tuple(shas))
        by_branch = Scope(repository=REPOSITORY, branch="main")
        heap, every = Filters(), Filters(kinds=ALL_KINDS)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("trend --by cause", lambda: trend(store, git_order, heap)),
            ("trend --by cause (no clone)", lambda: trend(store, by_branch, heap)),
            ("trend --by kind --leaks", lambda: trend(store, git_order, every, by=GroupBy.KIND)),
            ("trend --by package --leaks", lambda: trend(store, git_order, every, by=GroupBy.PACKAGE)),
            ("trend --by package", lambda: trend(store, git_order, heap, by=GroupBy.PACKAGE)),
            (
                "trend --package '*/pkg01*' --by cause",
                lambda: trend(store, git_order, Filters(package="*/pkg01*")),
            ),
            ("trend --last 100", lambda: trend(store, git_order, heap, last=100)),
            ("top --by package", lambda: top(store, git_order, heap)),
            ("top --by cause", lambda: top(store, git_order, heap, by=TopBy.CAUSE)),
            ("top --by function", lambda: top(store, git_order, heap, by=TopBy.FUNCTION)),
            (
                f"blame --function '{function}'",
                lambda: blame(store, git_order, Target(function=function), lambda a, b: {}),
            ),
        ]
        for label, action in cases:
            print(f"{name:<10}   {label:<44} {median_time(action) * 1000:7.0f} ms")
    # the command as a user runs it: a new process, imports, opening the database, the query
    with tempfile.TemporaryDirectory() as no_repo:
        for args in (["trend", "--format", "json"], ["top", "--format", "json"]):
            argv = [sys.executable, "-c", CLI, *args, "--repo", no_repo, "--branch", "main"]
            argv += ["--name", REPOSITORY, "--db", url]

            def command(argv: list[str] = argv) -> None:
                subprocess.run(argv, check=True, capture_output=True)

            wall = median_time(command, 3)
            print(f"{name:<10}   escape-bot {' '.join(args):<33} {wall * 1000:7.0f} ms (a new process)")


# ---- 2. backfill -------------------------------------------------------------------------

MODULE = "example.com/bench"


def package_source(index: int, extras: list[int]) -> str:
    """One package: a few functions whose values escape for different reasons, importing up to
    two lower-numbered packages (always the same ones)."""
    name = f"pkg{index:03d}"
    rng = random.Random(index)
    deps = sorted({rng.randrange(index) for _ in range(2)}) if index else []
    imports = ['\t"fmt"', '\t"sort"', '\t"strings"'] + [f'\t"{MODULE}/pkg{d:03d}"' for d in deps]
    extra = "".join(
        f"\n// Extra{k} is one more constructor.\n"
        f'func Extra{k}() *Item{index} {{\n\treturn &Item{index}{{Name: "{k}"}}\n}}\n'
        for k in extras
    )
    uses = " + ".join([f'len(pkg{d:03d}.New{d}("x").Name)' for d in deps] or ["0"])
    return f"""// Package {name} is generated by bench/bench_history.py.
package {name}

import (
{chr(10).join(imports)}
)

// Item{index} is a thing.
type Item{index} struct {{
	Name string
	Vals []int
}}
{extra}
// New{index} returns a new Item{index}.
func New{index}(name string) *Item{index} {{
	return &Item{index}{{Name: name}}
}}

// Describe formats the item.
func (it *Item{index}) Describe() string {{
	return fmt.Sprintf("%s:%d", it.Name, len(it.Vals))
}}

// Sorted sorts a copy.
func Sorted{index}(vals []int) []int {{
	out := make([]int, len(vals))
	copy(out, vals)
	sort.Ints(out)
	return out
}}

// Join joins.
func Join{index}(parts []string) string {{
	return strings.Join(parts, ",")
}}

// Counter{index} counts.
func Counter{index}() func() int {{
	n := 0
	return func() int {{
		n++
		return n
	}}
}}

// Use{index} uses its imports.
func Use{index}() int {{
	return {uses}
}}
"""


def git(repo: Path, *args: str, when: int = 0) -> str:
    """Run git with a pinned identity and date."""
    stamp = f"2026-02-01T00:{when // 60:02d}:{when % 60:02d}Z"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def make_repository(repo: Path, commits: int, packages: int = 100) -> list[str]:
    """The generated module and its history; returns the shas, oldest first."""
    rng = random.Random(3)
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "go.mod").write_text(f"module {MODULE}\n\ngo 1.21\n")
    extras: dict[int, list[int]] = {i: [] for i in range(packages)}

    def write(index: int) -> None:
        path = repo / f"pkg{index:03d}" / "p.go"
        path.parent.mkdir(exist_ok=True)
        path.write_text(package_source(index, extras[index]))

    for i in range(packages):
        write(i)
    shas = []
    for number in range(commits):
        if number:
            index = rng.randrange(packages)
            if extras[index] and rng.random() < 0.3:
                extras[index].pop(rng.randrange(len(extras[index])))  # an escape fixed
            else:
                extras[index].insert(0, number)  # an escape added at the top: lines below shift
            write(index)
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", f"change {number}", when=number)
        shas.append(git(repo, "rev-parse", "HEAD").strip())
    return shas


def cold_build(repo: Path, sha: str, scratch: Path) -> float:
    """One `go build -gcflags=-m=2` of `sha` with a new, empty build cache; seconds."""
    tree, cache = scratch / "tree", scratch / "cache"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    git(repo, "worktree", "add", "--detach", "--quiet", str(tree), sha)
    try:
        env = {**os.environ, **GO_ENV, "GOCACHE": str(cache)}
        start = time.perf_counter()
        subprocess.run(
            [go_binary(), "build", "-o", os.devnull, "-trimpath", "-gcflags=-m=2", "./..."],
            cwd=tree,
            env=env,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start
    finally:
        git(repo, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(cache, ignore_errors=True)


def bench_backfill(commits: int, cold_runs: int) -> None:
    """Backfill `commits` commits from an empty cache; cold builds for comparison."""
    with tempfile.TemporaryDirectory(prefix="bench-history-") as scratch:
        base = Path(scratch)
        repo = base / "repo"
        start = time.perf_counter()
        shas = make_repository(repo, commits)
        print(
            f"backfill   generated 100 packages and {commits} commits in {time.perf_counter() - start:.0f} s"
        )
        env = {**os.environ, **GO_ENV, "GOCACHE": str(base / "backfill-cache")}
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", CLI, "backfill", "--repo", str(repo), "--db", f"sqlite:///{base}/e.db"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        backfill = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"backfill failed: {proc.stderr}")
        seconds = [
            float(line.split("(")[-1].split(" s)")[0])
            for line in proc.stdout.splitlines()
            if line.startswith("[")
        ]
        print(
            f"backfill   escape-bot backfill, {commits} commits, empty GOCACHE at the start: "
            f"{backfill:.1f} s (first commit {seconds[0]:.1f} s, "
            f"then median {statistics.median(seconds[1:]):.2f} s per commit)"
        )
        picks = sorted({shas[round(i * (len(shas) - 1) / max(1, cold_runs - 1))] for i in range(cold_runs)})
        cold = [cold_build(repo, sha, base) for sha in picks]
        mean = statistics.mean(cold)
        runs = ", ".join(f"{c:.1f}" for c in cold)
        print(
            f"backfill   cold go build -gcflags=-m=2 (new GOCACHE each): mean {mean:.1f} s "
            f"of {len(cold)} runs ({runs}), x {commits} = {mean * commits:.0f} s"
        )
        print(f"backfill   ratio backfill / {commits} cold builds = {backfill / (mean * commits):.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer commits and cold runs (~2 minutes)")
    parser.add_argument("--commits", type=int, help="stored commits for the queries (default 1000)")
    parser.add_argument("--backfill-commits", type=int, help="commits to backfill (default 50)")
    parser.add_argument("--cold-runs", type=int, help="cold builds to run (default 5)")
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--postgresql-url", default=DEFAULT_POSTGRESQL)
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    os.environ.update(GO_ENV)
    if not args.skip_queries:
        commits = args.commits or (200 if args.quick else 1000)
        with sqlite_url() as url:
            bench_queries("sqlite", url, commits)
        if not args.no_postgresql:
            with postgresql_url(args.postgresql_url) as url:
                bench_queries("postgresql", url, commits)
    if not args.skip_backfill:
        bench_backfill(
            args.backfill_commits or (12 if args.quick else 50), args.cold_runs or (2 if args.quick else 5)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
