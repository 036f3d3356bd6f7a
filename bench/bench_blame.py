"""Benchmark (issue #18): `blame --function` over 1,000 stored commits, and the history commands as
new processes, this tree against a baseline tree.

    python bench/bench_blame.py [--baseline REV] [--commits N] [--runs K] [--pyc]

On bench/bench_history.py's N (1,000) synthetic commits (bench_rediff.py's database, built once into
bench/.cache/rediff-v1/), for this tree and for the baseline (`git archive REV bot`, default the
merge-base with main), alternately (each first in every other run), so that the ratio holds on a
loaded machine:

1. `blame(...)` in-process (a child process whose `bot` is the tree): CPU time around the call,
   median of 3 calls, and its SQL statements;
2. `escape-bot blame --function F`, `trend` and `top --format json` as new processes: CPU time
   (user + system).

Both trees must print the same blame entries and the same output of each command.

--pyc: the new processes run byte-compiled, as an installed escape-bot does (pip compiles the
package when it installs it); without it they compile `bot`'s sources each time when
PYTHONDONTWRITEBYTECODE is set, as it is in this project's sandbox. The compiled files go to a
temporary directory (PYTHONPYCACHEPREFIX), not into the trees.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_rediff import (  # noqa: E402
    CACHE,
    DATA_VERSION,
    REPOSITORY,
    baseline_tree,
    environment,
    history_db,
    run_timed,
)

GOAL = 0.3  # seconds of CPU, issue #18

PROBE = r"""
import json, sys, time
from sqlalchemy import event
from bot.store import Store
from bot.store.queries import _engine
from bot.history.blame import Target, blame
from bot.history.queries import Scope
url, function = sys.argv[1:3]
with Store.open(url) as store:
    statements = []
    event.listen(_engine(store), "before_cursor_execute", lambda *a: statements.append(1))
    scope = Scope(repository="acme/service", branch="main")
    cpus = []
    for _ in range(3):
        statements.clear()
        cpu = time.process_time()
        result = blame(store, scope, Target(function=function), lambda a, b: {})
        cpus.append(time.process_time() - cpu)
entries = [[repr(e.escape), e.units, e.origin.sha, e.exact] for e in result.entries]
print(json.dumps({"cpu": sorted(cpus)[1], "statements": len(statements), "entries": entries}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--baseline", default=None, help="revision to compare with (default: merge-base with main)"
    )
    ap.add_argument("--commits", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pyc", action="store_true", help="new processes byte-compiled, as installed")
    args = ap.parse_args()
    data = CACHE / f"rediff-v{DATA_VERSION}"
    data.mkdir(parents=True, exist_ok=True)
    rev = (
        args.baseline
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    rev = subprocess.run(
        ["git", "rev-parse", rev], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    trees: dict[str, Path | None] = {"before": baseline_tree(rev, data), "after": None}
    url, function = history_db(data, args.commits)
    cpu: dict[tuple[str, str], list[float]] = {}
    outputs: dict[tuple[str, str], set[str]] = {}
    statements: dict[str, int] = {}
    commands = {
        "blame --function (new process)": ["blame", "--function", function, "--format", "json"],
        "trend --format json (new process)": ["trend", "--format", "json"],
        "top --format json (new process)": ["top", "--format", "json"],
    }
    with tempfile.TemporaryDirectory() as scratch:
        no_repo = Path(scratch) / "no-repo"
        no_repo.mkdir()
        where = ["--repo", str(no_repo), "--branch", "main", "--name", REPOSITORY, "--db", url]
        for run in range(args.runs + (1 if args.pyc else 0)):  # --pyc: a first run compiles, unmeasured
            order = list(trees.items())
            for name, tree in order if run % 2 == 0 else reversed(order):  # neither always first
                env = environment(tree)
                if args.pyc:
                    env.pop("PYTHONDONTWRITEBYTECODE", None)
                    env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / f"pyc-{name}")
                probe = subprocess.run(
                    [sys.executable, "-c", PROBE, url, function],
                    env=env, capture_output=True, text=True, check=True, cwd=CACHE,
                )  # fmt: skip
                found = json.loads(probe.stdout)
                statements[name] = found["statements"]
                outputs.setdefault((name, "blame entries"), set()).add(json.dumps(found["entries"]))
                measured = run > 0 or not args.pyc
                if measured:
                    cpu.setdefault((name, "blame --function, in-process"), []).append(found["cpu"])
                for label, argv in commands.items():
                    _, _, seconds, out = run_timed([sys.executable, "-m", "bot", *argv, *where], env)
                    outputs.setdefault((name, label), set()).add(out)
                    if measured:
                        cpu.setdefault((name, label), []).append(seconds)
    load = os.getloadavg()[0]
    print(f"\nbaseline {rev[:12]}; {args.commits} commits; median CPU (s) of {args.runs}; load {load:.1f}")
    print(f"{'':<36}{'before':>9}{'after':>9}{'after/before':>14}{'after/goal':>12}")
    for label in ("blame --function, in-process", *commands):
        before = statistics.median(cpu[("before", label)])
        after = statistics.median(cpu[("after", label)])
        print(f"{label:<36}{before:>9.3f}{after:>9.3f}{after / before:>14.2f}{after / GOAL:>12.2f}")
    print(f"{'blame SQL statements':<36}{statements['before']:>9}{statements['after']:>9}")
    labels = {label for _, label in outputs}
    same = all(
        len(outputs[("before", label)]) == 1 and outputs[("before", label)] == outputs[("after", label)]
        for label in labels
    )
    print(
        f"same results (blame entries; blame, trend and top output byte for byte): {'yes' if same else 'NO'}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
