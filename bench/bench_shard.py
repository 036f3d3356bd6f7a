"""Sharding benchmark: `escape-bot diff --shard K/N` against one unsharded diff, each on a fresh cache.

    python bench/bench_shard.py [--packages P] [--shards N] [--functions F] [--layered]

A generated monorepo module of P packages (default 300) shaped like one: a fifth are libraries
(each importing up to two lower libraries), the rest services importing two libraries each and
no other service; every package has F functions (default 20) whose values escape (returned
pointers, closures, fmt calls), so its -m=2 log is a few hundred lines. One change on top.
`escape-bot diff --base HEAD~1 --no-store` runs once unsharded and once per shard, each in a new
process with a copy of a GOCACHE holding only the standard library packages the module imports
(a CI job on a fresh runner with setup-go's cache). Reports each run's wall time, the longest
shard against the unsharded run (the job time sharding buys) and the shards' sum against it (the
work it adds: each shard lists the packages and compiles the libraries its packages import),
and checks that the shards' new escapes together are the unsharded run's.

--layered: bench/bench_history.py's module instead (each package imports up to two random
lower-numbered packages, so nearly every package is some shard's dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_history import GO_ENV, git, make_repository  # noqa: E402
from bot.gc.run import go_binary  # noqa: E402

MODULE = "example.com/mono"


def package_source(name: str, deps: list[str], functions: int, extra: int) -> str:
    """A package of `functions` escaping functions (+ `extra` more), using its imports."""
    imports = "\n".join(['\t"fmt"', '\t"strings"', *(f'\t"{MODULE}/{d}"' for d in deps)])
    uses = " + ".join([f"len({d.rsplit('/', 1)[-1]}.Name0())" for d in deps] or ["0"])
    body = "".join(
        f"""
type T{i} struct{{ N string; V []int }}

func New{i}(n string, k int) *T{i} {{ return &T{i}{{N: n, V: make([]int, k)}} }}

func Name{i}() string {{ return fmt.Sprintf("%s-%d", strings.Repeat("x", {i}), {i}) }}

func Counter{i}() func() int {{
	n := {i}
	return func() int {{ n++; return n }}
}}
"""
        for i in range(functions + extra)
    )
    header = f"package {name.rsplit('/', 1)[-1]}\n\nimport (\n{imports}\n)\n"
    return f"{header}\nfunc Use() int {{ return {uses} }}\n{body}"


def make_monorepo(repo: Path, packages: int, functions: int) -> None:
    """The module at base, and one commit adding a function to one service."""
    rng = random.Random(7)
    libraries = max(1, packages // 5)
    names = [f"lib/l{i:03d}" for i in range(libraries)] + [
        f"svc/s{i:03d}" for i in range(packages - libraries)
    ]
    deps: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        pool = names[:i] if i < libraries else names[:libraries]
        deps[name] = sorted(set(rng.sample(pool, k=min(2, len(pool)))))
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "go.mod").write_text(f"module {MODULE}\n\ngo 1.21\n")

    def write(name: str, extra: int) -> None:
        path = repo / name / "p.go"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(package_source(name, deps[name], functions, extra))

    for name in names:
        write(name, 0)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "base")
    write(names[-1], 1)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "one more function", when=1)


def primed_cache(scratch: Path) -> Path:
    """A GOCACHE holding the standard library packages the module imports (as setup-go's cache
    would on a runner), built with the bot's flags; the module's own packages are not in it."""
    cache = scratch / "primed"
    env = {**os.environ, **GO_ENV, "GOCACHE": str(cache)}
    command = [go_binary(), "build", "-trimpath", "-o", os.devnull, "fmt", "sort", "strings"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    return cache


def cold_diff(repo: Path, scratch: Path, *extra: str) -> tuple[float, list[str]]:
    """Seconds of one `escape-bot diff` with a copy of the primed GOCACHE, and its new escapes."""
    cache = scratch / f"cache-{time.monotonic_ns()}"
    shutil.copytree(scratch / "primed", cache)
    env = {**os.environ, **GO_ENV, "GOCACHE": str(cache)}
    start = time.perf_counter()
    command = [sys.executable, "-m", "bot", "diff", "--repo", str(repo), "--base", "HEAD~1"]
    proc = subprocess.run(
        [*command, "--no-store", "--format", "json", *extra],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    shutil.rmtree(cache, ignore_errors=True)
    return elapsed, sorted(json.dumps(e, sort_keys=True) for e in json.loads(proc.stdout)["new"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--functions", type=int, default=20)
    parser.add_argument("--layered", action="store_true", help="bench_history.py's import graph")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        repo = scratch / "repo"
        if args.layered:
            make_repository(repo, 2, args.packages)
        else:
            make_monorepo(repo, args.packages, args.functions)
        primed_cache(scratch)
        changed = git(repo, "show", "--stat", "--format=", "HEAD").strip().splitlines()[0]
        print(f"{args.packages} packages, head changes {changed.strip()}")
        whole, new = cold_diff(repo, scratch)
        print(f"unsharded      {whole:6.1f} s  ({len(new)} new escapes)")
        times, found = [], []
        for k in range(1, args.shards + 1):
            elapsed, shard_new = cold_diff(repo, scratch, "--shard", f"{k}/{args.shards}")
            times.append(elapsed)
            found += shard_new
            print(f"shard {k}/{args.shards}      {elapsed:6.1f} s  ({len(shard_new)} new escapes)")
        assert sorted(found) == new, "the shards' new escapes differ from the unsharded run's"
        print(
            f"longest shard / unsharded = {max(times) / whole:.2f} (ideal {1 / args.shards:.2f}); "
            f"sum of shards / unsharded = {sum(times) / whole:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
