"""Benchmark: `escape-bot ci` on a pull request against a bare `go build -gcflags=-m=2 ./...`.

    python bench/bench_action.py [--packages 100] [--runs 3]

A generated module of N packages (standard library only: fmt, strings, strconv, sort, bytes,
errors, sync; each package imports one lower in a tree; one heap escape per ~30 lines, the
standard library's density: 26,335 in its 853,000 non-test lines) gets a pull request that adds
heap escapes to two packages; the test merge commit is made the way GitHub makes it. Each run, in
this order and each from a cold build cache (a fresh GOCACHE):

- bare: `go build -gcflags=-m=2 ./...` of the merge commit, its output to a file;
- bot, base in the store: `escape-bot ci --mode analyze` (everything but the HTTP posts: worktree,
  build, parse, store lookup, diff, gate, JSON, SARIF, job summary, the results artifact) with a
  database that already holds the base snapshot, as the cached history of the default branch
  gives it, restored where the documented workflows restore it (`.escape-bot/escapes.db` in the
  checkout): only the head is built;
- bot, base built too: the same with an empty database: base, then head, sharing the cache.

Prints, per variant, the best and the median wall time and the median CPU time (user + system
of every process it started) with their ratios to bare. The machine is shared, so other work
only ever adds time: the best of several runs and the CPU time are the steadier figures. The
ratio with the base in the store is the one with a goal (<= 1.10x).
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

from bot.gc.run import go_binary  # noqa: E402

IMPORTS = ("fmt", "strings", "strconv", "sort", "bytes", "errors", "sync")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


PURE = """
// Scale{f}_{k} is arithmetic over a slice the caller owns: nothing escapes.
func Scale{f}_{k}(xs []int, by int) (lo, hi, sum int) {{
	if len(xs) == 0 {{
		return 0, 0, 0
	}}
	lo, hi = xs[0], xs[0]
	for i, x := range xs {{
		x *= by
		switch {{
		case x < lo:
			lo = x
		case x > hi:
			hi = x
		}}
		if i%2 == 0 {{
			sum += x
		}} else {{
			sum -= x / 2
		}}
	}}
	return lo, hi, sum
}}

// Window{f}_{k} sums a sliding window into a buffer the caller owns.
func Window{f}_{k}(dst, src []int, width int) int {{
	if width <= 0 || width > len(src) {{
		return 0
	}}
	total := 0
	for i := 0; i < width; i++ {{
		total += src[i]
	}}
	n := 0
	for i := width; i <= len(src) && n < len(dst); i++ {{
		dst[n] = total
		n++
		if i < len(src) {{
			total += src[i] - src[i-width]
		}}
	}}
	return n
}}
"""


def package_source(i: int, files: int = 3, pure: int = 4) -> dict[str, str]:
    """Package p{i}: files of ordinary code. Each has one type whose constructor, methods and
    helpers allocate (about seven heap escapes) and `pure` pairs of functions that allocate
    nothing. f0 imports the parent package p{i // 2} (a tree, so packages build in parallel)."""
    out = {}
    for f in range(files):
        imports = [f'"{name}"' for name in IMPORTS]
        head = ""
        if f == 0:
            head = f'// Name names the package.\nconst Name = "p{i:03d}"\n'
            if i:
                imports.append(f'"example.com/bench/p{i // 2:03d}"')
                head += f"\nvar parent = p{i // 2:03d}.Name\n"
        allocating = f"""
// Item{f} is one of the package's values.
type Item{f} struct {{
	ID   int
	Name string
	Tags []string
	mu   sync.Mutex
}}

func NewItem{f}(id int, name string) *Item{f} {{
	it := Item{f}{{ID: id, Name: strings.TrimSpace(name)}}
	return &it
}}

func (it *Item{f}) Key() string {{
	it.mu.Lock()
	defer it.mu.Unlock()
	return fmt.Sprintf("%d/%s", it.ID, it.Name)
}}

func Sorted{f}(items []*Item{f}) []string {{
	keys := make([]string, 0, len(items))
	for _, it := range items {{
		keys = append(keys, it.Key()+strconv.Itoa(len(it.Tags)))
	}}
	sort.Strings(keys)
	return keys
}}

func Join{f}(parts [][]byte) ([]byte, error) {{
	if len(parts) == 0 {{
		return nil, errors.New("nothing to join")
	}}
	var buf bytes.Buffer
	for _, p := range parts {{
		buf.Write(p)
	}}
	return buf.Bytes(), nil
}}
"""
        funcs = allocating + "".join(PURE.format(f=f, k=k) for k in range(pure))
        block = "\n".join("\t" + line for line in imports)
        out[f"p{i:03d}/f{f}.go"] = f"package p{i:03d}\n\nimport (\n{block}\n)\n\n{head}{funcs}"
    return out


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return proc.stdout.strip()


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def make_pull_request(repo: Path, packages: int, pure: int) -> tuple[str, str, str]:
    """base on main, a feature commit adding escapes to two packages, the test merge commit."""
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    files = {"go.mod": "module example.com/bench\n\ngo 1.21\n"}
    for i in range(packages):
        files.update(package_source(i, pure=pure))
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "base")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "-b", "feature")
    for i in (packages // 3, packages - 1):
        extra = f"""
func Leak{i}() *int {{
	n := {i}
	return &n
}}

var registry{i} []fmt.Stringer

func Keep{i}(s fmt.Stringer) {{
	registry{i} = append(registry{i}, s)
}}
"""
        path = repo / f"p{i:03d}" / "f1.go"
        path.write_text(path.read_text() + extra)
    git(repo, "commit", "--quiet", "-am", "feature")
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "--detach", base)
    git(repo, "merge", "--quiet", "--no-ff", "-m", "merge", head)
    merge = git(repo, "rev-parse", "HEAD")
    return base, head, merge


class Clock:
    """Wall time and the CPU time of child processes over a block."""

    def __enter__(self) -> Clock:
        self.wall = time.perf_counter()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = usage.ru_utime + usage.ru_stime
        return self

    def __exit__(self, *exc: object) -> None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall = time.perf_counter() - self.wall
        self.cpu = usage.ru_utime + usage.ru_stime - self.cpu


def go_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {"GOCACHE": str(cache), "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOSUMDB": "off", "GOFLAGS": ""}
    )
    return env


def fresh_cache(scratch: Path) -> Path:
    cache = scratch / "gocache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    return cache


def record_base(repo: Path, base: str, db: Path, cache: Path) -> None:
    """Record `base` in the SQLite file `db`, as the history of the default branch holds it, under
    the name `escape-bot ci` looks it up by (GITHUB_REPOSITORY)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "collect",
            "--repo",
            str(repo),
            "--rev",
            base,
            "--db",
            f"sqlite:///{db}",
        ],
        env={**go_env(cache), "GITHUB_REPOSITORY": "bench/bench"},
        capture_output=True,
        check=True,
    )


def bare(repo: Path, scratch: Path) -> Clock:
    """`go build -gcflags=-m=2 ./...` of the checked-out merge commit, cold cache."""
    env = go_env(fresh_cache(scratch))
    with open(scratch / "bare.log", "w") as log, Clock() as clock:
        proc = subprocess.run(
            [go_binary(), "build", "-gcflags=-m=2", "./..."],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=log,
            check=False,
        )
    if proc.returncode != 0:
        raise SystemExit((scratch / "bare.log").read_text()[-2000:])
    return clock


def ci_env(scratch: Path, base: str, head: str, merge: str, db: Path) -> dict[str, str]:
    run = scratch / "run"
    shutil.rmtree(run, ignore_errors=True)
    (run / "temp").mkdir(parents=True)
    payload = {
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"sha": base, "ref": "main", "repo": {"full_name": "bench/bench"}},
            "head": {"sha": head, "ref": "feature", "repo": {"full_name": "bench/bench"}},
        },
    }
    (run / "event.json").write_text(json.dumps(payload))
    for name in ("summary.md", "output.txt"):
        (run / name).write_text("")
    env = go_env(fresh_cache(scratch))
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "ESCAPE_BOT_", "RUNNER_"))}
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(run / "event.json"),
            "GITHUB_REPOSITORY": "bench/bench",
            "GITHUB_SHA": merge,
            "GITHUB_STEP_SUMMARY": str(run / "summary.md"),
            "GITHUB_OUTPUT": str(run / "output.txt"),
            "RUNNER_TEMP": str(run / "temp"),
            "ESCAPE_BOT_DATABASE_URL": f"sqlite:///{db}",
            "ESCAPE_BOT_GO": go_binary(),
        }
    )
    return env


def bot(
    repo: Path, scratch: Path, base: str, head: str, merge: str, db: Path
) -> tuple[Clock, dict[str, str]]:
    """`escape-bot ci --mode analyze` end to end (a new process, as the action runs it), cold cache.
    The database is where the documented workflows restore it from the Actions cache: the default
    `.escape-bot/escapes.db` in the checkout (a copy of `db`, or none when `db` does not exist)."""
    env = ci_env(scratch, base, head, merge, db)
    del env["ESCAPE_BOT_DATABASE_URL"]
    own = repo / ".escape-bot"
    shutil.rmtree(own, ignore_errors=True)
    if db.exists():
        own.mkdir()
        shutil.copy(db, own / "escapes.db")
    with Clock() as clock:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "ci", "--repo", str(repo), "--mode", "analyze"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
    outputs = dict(
        line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines() if "=" in line
    )
    return clock, outputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--pure",
        type=int,
        default=4,
        help="non-allocating function pairs per file; 4 gives about one heap escape per 30 lines, "
        "the standard library's density (0: every function allocates)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-action-") as tmp:
        scratch = Path(tmp)
        repo = scratch / "repo"
        base, head, merge = make_pull_request(repo, args.packages, args.pure)
        lines = sum(len(p.read_text().splitlines()) for p in repo.rglob("*.go"))
        version = subprocess.run(
            [go_binary(), "version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        print(f"module: {args.packages} packages, {lines:,} lines of Go; {version}; {os.cpu_count()} cores")

        # the history of the default branch: a database holding the base snapshot only
        template = scratch / "with-base.db"
        record_base(repo, base, template, scratch / "setup-cache")
        clocks: dict[str, list[Clock]] = {"bare": [], "stored": [], "built": []}
        outputs: dict[str, str] = {}
        for n in range(args.runs):
            clocks["bare"].append(bare(repo, scratch))
            db = scratch / "db-stored.db"
            shutil.copy(template, db)
            clock, outputs = bot(repo, scratch, base, head, merge, db)
            clocks["stored"].append(clock)
            report = json.loads(Path(outputs["report-path"]).read_text())
            assert (report["base_source"], report["head_source"]) == ("store", "built"), report
            db = scratch / "db-empty.db"
            db.unlink(missing_ok=True)
            clock, built_outputs = bot(repo, scratch, base, head, merge, db)
            clocks["built"].append(clock)
            assert outputs["new-count"] == built_outputs["new-count"]
            print(
                f"run {n + 1}: "
                + ", ".join(f"{k} {c[-1].wall:.2f} s (cpu {c[-1].cpu:.2f} s)" for k, c in clocks.items())
            )
        escapes = report["head"]["escapes"]
        print(
            f"head: {escapes:,} heap escapes, one per {lines / escapes:.0f} lines; "
            f"new heap escapes reported: {outputs['new-count']}"
        )
        names = {
            "bare": "bare go build -gcflags=-m=2 ./... (cold cache)",
            "stored": "escape-bot ci, base in the store (goal <= 1.10x)",
            "built": "escape-bot ci, base built too (shared cache)",
        }
        best = {k: min(c.wall for c in v) for k, v in clocks.items()}
        wall = {k: statistics.median(c.wall for c in v) for k, v in clocks.items()}
        cpu = {k: statistics.median(c.cpu for c in v) for k, v in clocks.items()}
        print(f"{'':50} {'best wall':>16} {'median wall':>16} {'median cpu':>16}")
        for k, name in names.items():
            cells = [(best[k], best["bare"]), (wall[k], wall["bare"]), (cpu[k], cpu["bare"])]
            print(f"{name:50} " + " ".join(f"{v:6.2f} s {v / b:5.3f}x" for v, b in cells))


if __name__ == "__main__":
    main()
