"""Benchmark (issue #18): std-sized work on stored data, this tree against a baseline tree.

    python bench/bench_rediff.py [--baseline REV] [--commits N] [--runs K] [--pg URL | --no-pg]

1. `escape-bot diff --format json` with both snapshots stored (a pull request's check run again),
   as a new process: wall time and peak RSS. The snapshots are the real standard library (the
   parsed `go build -trimpath -gcflags=-m=2 std` log of bench/bench_parse.py, ~46 k records) as
   base, and the same with five files edited as head (lines shifted, an escape added, one
   removed, a function moved to another file), stored under two commits of a small git repository.
2. `Store.find_snapshot` of the std snapshot, in-process (the load `diff` no longer needs).
3. `blame --function` over N (1,000) stored commits of bench/bench_history.py's synthetic module:
   time and the number of SQL statements.
4. `escape-bot trend` / `top --format json` over those commits as a new process.

With --pg URL the same again on PostgreSQL (throwaway schemas: the std pair copied from SQLite, the
history recorded again).

Each figure is measured for this tree and for the baseline (`git archive REV`, default the
merge-base with main) in the same run, alternately, so the ratio holds on a loaded machine.
Databases are built once into bench/.cache/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "store"))
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "bench" / ".cache"
DATA_VERSION = "1"  # bump when the generated data changes
REPOSITORY = "acme/service"
GOALS = {
    "diff": 1.0,
    "diff_cpu": 1.0,
    "diff_mb": 300,
    "find_snapshot": 0.3,
    "find_snapshot_cpu": 0.3,
    "blame": 0.3,
    "blame_cpu": 0.3,
    "trend": 0.3,
    "trend_cpu": 0.3,
    "top": 0.3,
    "top_cpu": 0.3,
}


# ---- data ---------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def edited(escapes: Sequence[object]) -> list[object]:
    """Five files of five packages edited the way a pull request does."""
    from bot.gc.model import Escape

    records: list[Escape] = list(escapes)  # type: ignore[arg-type]
    by_file: dict[tuple[str, str], list[int]] = {}
    for i, e in enumerate(records):
        by_file.setdefault((e.package, e.file), []).append(i)
    rng = random.Random(18)
    busy = sorted(k for k, v in by_file.items() if len(v) >= 20)
    chosen = rng.sample(busy, 5)
    drop: set[int] = set()
    extra: list[Escape] = []
    for n, key in enumerate(chosen):
        ids = by_file[key]
        cut = records[ids[len(ids) // 2]].line
        for i in ids:  # 3 lines inserted half-way down the file
            if records[i].line >= cut:
                records[i] = replace(records[i], line=records[i].line + 3)
        drop.add(ids[0])  # one escape fixed
        new = records[ids[-1]]
        extra.append(
            replace(new, line=new.line + 1, expression=new.expression + "2", message=new.message + "2")
        )
        if n == 0:  # a function moved to the next file of its package
            function = records[ids[1]].function
            files = sorted(f for p, f in by_file if p == key[0] and f != key[1])
            if files:
                for i in ids:
                    if records[i].function == function:
                        records[i] = replace(records[i], file=files[0])
    out = [e for i, e in enumerate(records) if i not in drop] + extra
    out.sort(key=lambda e: (e.package, e.file, e.line, e.column, e.kind, e.expression))
    return out


def std_pair(directory: Path) -> tuple[Path, str, str, str]:
    """The git repository and the database holding base and head; (repo, base, head, url)."""
    from bench.bench_parse import std_log
    from bot.commands import configuration_options
    from bot.config import load_config
    from bot.gc.model import Snapshot
    from bot.gc.parse import parse_log
    from bot.gc.run import toolchain
    from bot.git import commit_info
    from bot.store import Store

    repo = directory / "service"
    database = directory / "rediff.db"
    if not database.exists():
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.email", "bench@example.invalid")
        git(repo, "config", "user.name", "bench")
        (repo / "go.mod").write_text("module example.com/service\n\ngo 1.22\n")
        (repo / "p.go").write_text("package service\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "base")
        (repo / "p.go").write_text("package service\n\n// edited\n")
        git(repo, "commit", "-qam", "head")
        print("parsing the std log …", file=sys.stderr)
        with open(std_log(), encoding="utf-8", errors="replace") as f:
            records, stats = parse_log(f)
        config = load_config(None, repo)
        options = configuration_options(config.builds[0], config, (), False, None, ())
        tc = toolchain(options, repo)
        tmp = database.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        with Store.open(f"sqlite:///{tmp}") as store:
            for sha, escapes in (
                (git(repo, "rev-parse", "HEAD~1").strip(), records),
                (git(repo, "rev-parse", "HEAD").strip(), edited(records)),
            ):
                snapshot = Snapshot(sha, sha, tc, tuple(escapes), stats)  # type: ignore[arg-type]
                store.record_snapshot(repo.name, commit_info(repo, sha), snapshot)
        tmp.rename(database)
    base = git(repo, "rev-parse", "HEAD~1").strip()
    head = git(repo, "rev-parse", "HEAD").strip()
    return repo, base, head, f"sqlite:///{database}"


def history_db(directory: Path, commits: int) -> tuple[str, str]:
    """bench_history's 1,000 synthetic commits; (url, a function to blame)."""
    database = directory / f"history-{commits}.db"
    marker = database.with_suffix(".function")
    if not database.exists():
        from bench.bench_history import fill
        from bot.store import Store

        tmp = database.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        print(f"recording {commits} commits …", file=sys.stderr)
        with Store.open(f"sqlite:///{tmp}") as store:
            _, function = fill(store, commits)
        marker.write_text(function)
        tmp.rename(database)
    return f"sqlite:///{database}", marker.read_text()


def baseline_tree(rev: str, directory: Path) -> Path:
    """`git archive REV bot` unpacked (its migrations resolve to this tree's: the schema is the same)."""
    sha = subprocess.run(
        ["git", "rev-parse", rev], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    target = directory / f"baseline-{sha[:12]}"
    if not target.exists():
        data = subprocess.run(
            ["git", "archive", sha, "bot"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(data)) as archive:
            archive.extractall(target, filter="data")
    return target


# ---- measuring ----------------------------------------------------------------------------

# In-process figures, printed as JSON by a child whose `bot` is the tree under test.
PROBE = r"""
import json, sys, time
from sqlalchemy import event
from bot.store import Store
from bot.store.queries import _engine
from bot.history.blame import Target, blame
from bot.history.queries import Scope
which, std_url, repo_name, sha, key, history_url, function = sys.argv[1:8]
out = {}
with Store.open(std_url) as store:
    start, cpu = time.perf_counter(), time.process_time()
    found = store.find_snapshot(repo_name, sha, key)
    out["find_snapshot"] = time.perf_counter() - start
    out["find_snapshot_cpu"] = time.process_time() - cpu
    out["records"] = len(found.escapes)
with Store.open(history_url) as store:
    statements = []
    event.listen(_engine(store), "before_cursor_execute", lambda *a: statements.append(1))
    scope = Scope(repository="acme/service", branch="main")
    times, cpus = [], []
    for _ in range(3):
        statements.clear()
        start, cpu = time.perf_counter(), time.process_time()
        result = blame(store, scope, Target(function=function), lambda a, b: {})
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    out["blame"] = sorted(times)[1]
    out["blame_cpu"] = sorted(cpus)[1]
    out["blame_statements"] = len(statements)
    out["blame_entries"] = len(result.entries)
print(json.dumps(out))
"""


def run_timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS (MB), CPU seconds (user + system: steadier than the wall time on a
    loaded machine) and stdout of a new process."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=CACHE,
    )
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    rss_kb, user, system = proc.stderr.strip().splitlines()[-1].split()
    return wall, int(rss_kb) / 1024, float(user) + float(system), proc.stdout


def environment(tree: Path | None) -> dict[str, str]:
    """The tree's `bot` first on the path (the children run in bench/.cache, so that `python -m`
    and `-c` do not put this checkout's directory first)."""
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": ""}
    env.pop("GITHUB_REPOSITORY", None)  # the repository's name is the directory's
    env["PYTHONPATH"] = str(tree or ROOT)
    return env


@dataclass
class Setup:
    """One backend's databases and what the measurements need to know about them."""

    backend: str
    repo: Path
    base: str
    head: str
    std_url: str
    key: str
    history_url: str
    function: str
    commits: int


def measure(setup: Setup, trees: dict[str, Path | None], runs: int) -> bool:
    """Measure both trees alternately and print the table; True when their results are the same."""
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    outputs: dict[str, set[str]] = {name: set() for name in trees}

    def add(name: str, label: str, value: float) -> None:
        figures[name].setdefault(label, []).append(value)

    diff_argv = [sys.executable, "-m", "bot", "diff", "--repo", str(setup.repo), "--base", setup.base]
    diff_argv += ["--head", setup.head, "--db", setup.std_url]
    with tempfile.TemporaryDirectory() as no_repo:
        history_args = [
            "--repo",
            no_repo,
            "--branch",
            "main",
            "--name",
            REPOSITORY,
            "--db",
            setup.history_url,
        ]
        for _ in range(runs):
            for name, tree in trees.items():
                env = environment(tree)
                wall, rss, cpu, out = run_timed([*diff_argv, "--format", "json"], env)
                doc = json.loads(out)
                outputs[name].add(out)
                assert (doc["base_source"], doc["head_source"]) == ("store", "store"), doc
                add(name, "diff", wall)
                add(name, "diff_mb", rss)
                add(name, "diff_cpu", cpu)
                probe = subprocess.run(
                    [sys.executable, "-c", PROBE, name, setup.std_url, setup.repo.name, setup.base, setup.key,
                     setup.history_url, setup.function],
                    env=env, capture_output=True, text=True, check=True, cwd=CACHE,
                )  # fmt: skip
                for label, value in json.loads(probe.stdout).items():
                    add(name, label, value)
                for command in ("trend", "top"):
                    argv = [sys.executable, "-m", "bot", command, "--format", "json", *history_args]
                    wall, _, cpu, _ = run_timed(argv, env)
                    add(name, command, wall)
                    add(name, f"{command}_cpu", cpu)
        for name, tree in trees.items():  # the other formats once: the same text
            for fmt in ("markdown", "text"):
                outputs[name].add(run_timed([*diff_argv, "--format", fmt], environment(tree))[3])
    records = int(figures["after"]["records"][0])
    print(
        f"\n{setup.backend}: std pair of {records:,} records a snapshot; blame over {setup.commits} commits"
    )
    print(f"{'':<34}{'before':>10}{'after':>10}{'after/before':>14}{'goal':>8}{'after/goal':>12}")
    rows = [
        ("diff, both stored (s, new process)", "diff"),
        ("  its CPU time (s)", "diff_cpu"),
        ("diff peak RSS (MB)", "diff_mb"),
        ("find_snapshot std (s)", "find_snapshot"),
        ("  its CPU time (s)", "find_snapshot_cpu"),
        (f"blame --function, {setup.commits} commits (s)", "blame"),
        ("  its CPU time (s)", "blame_cpu"),
        ("blame SQL statements", "blame_statements"),
        ("trend --format json (s, new process)", "trend"),
        ("  its CPU time (s)", "trend_cpu"),
        ("top --format json (s, new process)", "top"),
        ("  its CPU time (s)", "top_cpu"),
    ]
    for label, key_ in rows:
        before = statistics.median(figures["before"][key_])
        after = statistics.median(figures["after"][key_])
        goal = GOALS.get(key_)
        goal_text = f"{goal:>8g}{after / goal:>12.2f}" if goal else ""
        print(f"{label:<34}{before:>10.3f}{after:>10.3f}{after / before:>14.2f}{goal_text}")
    same = len(outputs["after"]) == 3 and outputs["before"] == outputs["after"]
    same = same and figures["before"]["blame_entries"] == figures["after"]["blame_entries"]
    verdict = "yes" if same else "NO"
    print(f"same results (diff's JSON, Markdown and text byte for byte, blame entries): {verdict}")
    return same


def on_postgresql(setup: Setup, url: str, history_url: str) -> Setup:
    """The same data in PostgreSQL schemas (`url` for the std pair, `history_url` for the history)."""
    from bench.bench_history import fill
    from bot.git import commit_info
    from bot.store import Store

    with Store.open(setup.std_url) as source, Store.open(url) as target:
        for sha in (setup.base, setup.head):
            snapshot = source.find_snapshot(setup.repo.name, sha, setup.key)
            assert snapshot is not None
            target.record_snapshot(setup.repo.name, commit_info(setup.repo, sha), snapshot)
    print(f"recording {setup.commits} commits into PostgreSQL …", file=sys.stderr)
    with Store.open(history_url) as store:
        _, function = fill(store, setup.commits)
    return replace(setup, backend="PostgreSQL", std_url=url, history_url=history_url, function=function)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--baseline", default=None, help="revision to compare with (default: merge-base with main)"
    )
    ap.add_argument("--commits", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg", default=None, metavar="URL", help="also on PostgreSQL (throwaway schemas)")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    data = CACHE / f"rediff-v{DATA_VERSION}"
    data.mkdir(exist_ok=True)
    rev = (
        args.baseline
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    trees: dict[str, Path | None] = {"after": None, "before": baseline_tree(rev, data)}
    repo, base, head, std_url = std_pair(data)
    history_url, function = history_db(data, args.commits)

    from bot.store import Store

    with Store.open(std_url) as store:
        key = next(iter(store._engine.connect().exec_driver_sql("SELECT toolchain_key FROM snapshot")))[0]
    print(f"baseline: {rev[:12]}")
    setup = Setup("SQLite", repo, base, head, std_url, key, history_url, function, args.commits)
    same = measure(setup, trees, args.runs)
    if args.pg:
        from bench.bench_store import postgresql_url

        with postgresql_url(args.pg) as url, postgresql_url(args.pg) as history:
            same = measure(on_postgresql(setup, url, history), trees, args.runs) and same
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
