"""Benchmark: what attribution and ranking add to `diff` on a real repository.

    python bench/bench_insight.py [--mirror DIR] [--base REV] [--head REV] [--runs 3]

Default: klauspost/compress (a bare mirror brought in with the session tool's `fetch`, at
/work/.mirror/klauspost+compress/repo), HEAD~20 → HEAD. The two trees are written into a
two-commit repository in a temporary directory (a snapshot lacks files of 4 MiB and more, so a
plain checkout fails: the test corpora are left out, the Go code is whole). A CPU profile is made
once by running one of the repository's own benchmarks (`go test -run ^$ -bench . -benchtime 1s
-cpuprofile` in ./zstd, at head).

Measured in one process, each run from a warm Go build cache (the build is not what is measured):

- compare: `app.compare` (worktrees, both builds from the cache, parse, diff);
- explain: `app.explain` (git diff -U0, head sources, attribution of every new escape; the profile
  decoded by `go tool pprof -raw` and every new escape ranked);

and, once, a cold `compare` (an empty GOCACHE), the cost of a real CI run. Prints the medians and
explain / compare for both. Goal (issue 15): explain adds at most 5 % to `diff`.
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

from bot import app  # noqa: E402
from bot.gc.run import BuildOptions, go_binary  # noqa: E402

MIRROR = Path("/work/.mirror/klauspost+compress/repo")


def _export(mirror: Path, rev: str, dest: Path) -> None:
    """The files of `rev` whose content the mirror holds (a snapshot lacks files of 4 MiB and more:
    test corpora here), written under `dest`."""
    listing = subprocess.run(
        ["git", "-C", str(mirror), "ls-tree", "-r", "-z", rev], check=True, capture_output=True
    ).stdout.split(b"\0")
    entries = [line.split(b"\t", 1) for line in listing if line]
    blobs = [
        (meta.split()[2].decode(), path.decode()) for meta, path in entries if meta.split()[1] == b"blob"
    ]
    batch = subprocess.run(
        ["git", "-C", str(mirror), "cat-file", "--batch"],
        input=b"".join(sha.encode() + b"\n" for sha, _ in blobs),
        check=True,
        capture_output=True,
    ).stdout
    at = 0
    for _sha, path in blobs:
        end = batch.index(b"\n", at)
        header = batch[at:end].split()
        at = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(batch[at : at + size])
        at += size + 1


def _repository(mirror: Path, base: str, head: str, into: Path) -> None:
    """A two-commit repository with the mirror's base and head trees (what they hold of them)."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.invalid"}  # fmt: skip
    subprocess.run(["git", "init", "--quiet", str(into)], check=True)
    for rev in (base, head):
        for child in into.iterdir():
            if child.name != ".git":
                subprocess.run(["rm", "-rf", str(child)], check=True)
        _export(mirror, rev, into)
        subprocess.run(["git", "-C", str(into), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(into), "commit", "--quiet", "-m", rev], check=True, env=env)


def _timed(fn: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()  # type: ignore[operator]
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    parser.add_argument("--base", default="HEAD~20")
    parser.add_argument("--head", default="HEAD")
    parser.add_argument("--bench-package", default="./zstd")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not args.mirror.exists():
        sys.exit(f"no mirror at {args.mirror}: fetch github:klauspost/compress first")
    os.environ.update({"GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": ""})
    with tempfile.TemporaryDirectory(prefix="bench-insight-") as tmp:
        repo = Path(tmp) / "repo"
        _repository(args.mirror, args.base, args.head, repo)
        label = f"{args.mirror.parent.name} {args.base}..{args.head}"
        args.base, args.head = "HEAD~1", "HEAD"
        profile = Path(tmp) / "cpu.pprof"
        bench = ["-run", "^$", "-bench", ".", "-benchtime", "1s", "-cpuprofile", str(profile)]
        subprocess.run(
            [go_binary(), "test", *bench, args.bench_package],
            cwd=repo,
            check=True,
            capture_output=True,
            env={**os.environ, "GOCACHE": str(Path(tmp) / "bench-cache")},
        )
        options = BuildOptions()
        os.environ["GOCACHE"] = str(Path(tmp) / "cold-cache")
        cold, comparison = _timed(lambda: app.compare(repo, args.base, args.head, options))
        compares, explains = [], []
        for _ in range(args.runs):
            t, comparison = _timed(lambda: app.compare(repo, args.base, args.head, options))
            compares.append(t)
            t, explained = _timed(lambda c=comparison: app.explain(repo, c, profiles=[profile]))
            explains.append(t)
        new = [e for e in explained.result.new if e.allocates]  # type: ignore[attr-defined]
        insight = explained.insight  # type: ignore[attr-defined]
        reasons: dict[str, int] = {}
        for a in insight.attributions.values():
            reasons[a.reason.value] = reasons.get(a.reason.value, 0) + 1
        hot = sum(1 for h in insight.hotness.values() if (h.cpu_share or 0) > 0)
        compare, explain = statistics.median(compares), statistics.median(explains)
        print(f"repository: {label}, {len(new)} new heap escapes")
        print(f"attributed: {reasons}; ranked with samples: {hot} of {len(insight.hotness)}")
        print(f"compare, warm cache: median {compare:.2f} s; cold cache: {cold:.2f} s")
        print(f"explain (attribution + ranking): median {explain * 1000:.0f} ms")
        print(f"explain / compare: {explain / compare:.3f} warm, {explain / cold:.3f} cold (goal <= 0.05)")


if __name__ == "__main__":
    main()
