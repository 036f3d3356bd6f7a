"""Benchmark (issue #18, point 4): `trend`, `top`, `blame` and `--help` as new processes, on SQLite.

    python bench/bench_startup.py [--baseline REV | --code DIR] [--commits N] [--runs K] [--pyc]

Each command runs as `python -m bot ...` on a small stored history (N commits of a synthetic
module, recorded once into bench/.cache/), for this tree and for a baseline tree (`git archive
REV bot`, default the merge-base with main; or `--code DIR`, a checkout whose `bot` is used),
alternately, so the ratio holds on a loaded machine. Printed: the median wall time and CPU time
(user + system, steadier than the wall time when the machine is busy) of K runs, and whether both
trees printed the same output.

--pyc: the processes run byte-compiled, as an installed escape-bot does (pip compiles the package
when it installs it); without it they compile `bot`'s sources each time when
PYTHONDONTWRITEBYTECODE is set, as it is in this project's sandbox. The compiled files go to a
temporary directory (PYTHONPYCACHEPREFIX), one per tree, not into the trees; a first round
compiles them, unmeasured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_rediff import REPOSITORY, baseline_tree  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
GOAL = 0.3  # seconds, issue #18


def history(commits: int) -> str:
    """A SQLite database with `commits` stored snapshots of a synthetic module (built once)."""
    from tests.store.factories import make_commit, make_escapes, sha_for, snapshot_of

    database = CACHE / f"startup-{commits}.db"
    if not database.exists():
        from bot.store import Store

        tmp = database.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        with Store.open(f"sqlite:///{tmp}") as store:
            for i in range(commits):
                sha = sha_for(f"startup-{i}")
                escapes = make_escapes(8, 12 + i % 5)
                store.record_snapshot(REPOSITORY, make_commit(sha, index=i), snapshot_of(escapes, sha))
        tmp.rename(database)
    return f"sqlite:///{database}"


def run(argv: list[str], tree: Path, pycache: Path | None = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child) and stdout of a new process;
    byte-compiled into `pycache` when given."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.pop("GITHUB_REPOSITORY", None)
    start = time.perf_counter()
    before = os.times()
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *argv], check=False, env=env, capture_output=True, text=True, cwd=CACHE
    )
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"escape-bot {' '.join(argv)} failed:\n{proc.stderr}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = ap.add_mutually_exclusive_group()
    which.add_argument(
        "--baseline", default=None, help="revision to compare with (default: merge-base, main)"
    )
    which.add_argument("--code", type=Path, default=None, metavar="DIR", help="a checkout to compare with")
    ap.add_argument("--commits", type=int, default=50)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--pyc", action="store_true", help="new processes byte-compiled, as installed")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.code:
        before, label = args.code.resolve(), str(args.code)
    else:
        rev = (
            args.baseline
            or subprocess.run(
                ["git", "merge-base", "HEAD", "main"], cwd=ROOT, check=True, capture_output=True, text=True
            ).stdout.strip()
        )
        before, label = baseline_tree(rev, CACHE), rev[:12]
    trees = {"before": before, "after": ROOT}
    url = history(args.commits)
    with tempfile.TemporaryDirectory() as no_repo:
        scope = ["--repo", no_repo, "--branch", "main", "--name", REPOSITORY, "--db", url]
        commands = {
            "trend --format json": ["trend", "--format", "json", *scope],
            "top --format json": ["top", "--format", "json", *scope],
            "trend (table)": ["trend", *scope],
            "top (table)": ["top", *scope],
            "blame --format json": ["blame", "--function", "NewClient", "--format", "json", *scope],
            "--help": ["--help"],
        }
        walls: dict[tuple[str, str], list[float]] = {}
        cpus: dict[tuple[str, str], list[float]] = {}
        outputs: dict[tuple[str, str], set[str]] = {}
        pycaches = {name: Path(no_repo) / f"pyc-{name}" for name in trees} if args.pyc else {}
        if args.pyc:  # compile once, unmeasured
            for argv in commands.values():
                for name, tree in trees.items():
                    run(argv, tree, pycaches[name])
        for i in range(args.runs):
            for command, argv in commands.items():
                order = list(trees.items())
                for name, tree in order if i % 2 == 0 else reversed(order):  # neither always first
                    wall, cpu, out = run(argv, tree, pycaches.get(name))
                    walls.setdefault((command, name), []).append(wall)
                    cpus.setdefault((command, name), []).append(cpu)
                    outputs.setdefault((command, name), set()).add(out)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    compiled = "byte-compiled" if args.pyc else "compiled from source"
    print(f"baseline: {label}; {args.commits} stored commits; median of {args.runs}; {compiled}; load {load}")
    header = (
        f"{'wall before':>12}{'after':>8}{'CPU before':>12}{'after':>8}{'after/before':>14}{'CPU/goal':>10}"
    )
    print(f"{'':<22}{header}")
    same = True
    for command in commands:
        wb, wa = (statistics.median(walls[command, n]) for n in ("before", "after"))
        cb, ca = (statistics.median(cpus[command, n]) for n in ("before", "after"))
        print(f"{command:<22}{wb:>12.3f}{wa:>8.3f}{cb:>12.3f}{ca:>8.3f}{ca / cb:>14.2f}{ca / GOAL:>10.2f}")
        same = same and outputs[command, "before"] == outputs[command, "after"]
    print(f"same output (each command, byte for byte): {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
