"""`escape-bot diff` says why each new escape appeared and how hot it is, and `[gate] hot-only`
lets cold ones through: the real CLI, compiler, git and a CPU profile the Go runtime wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import GitRepo, go_mod, write_files
from tests.test_attribution import CALLER, UTIL_BASE, UTIL_HEAD
from tests.test_profile import write_cpu_profile

LIB_BASE = """package p

type T struct{ a [8]int }

var Sink *T

func Hot(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		t := T{}
		t.a[0] = i
		s += t.a[0]
	}
	return s
}

func Cold() int {
	t := T{}
	return t.a[0]
}
"""

LIB_HEAD = LIB_BASE.replace(
    "\t\tt := T{}\n\t\tt.a[0] = i\n", "\t\tt := &T{}\n\t\tt.a[0] = i\n\t\tSink = t\n"
).replace("\tt := T{}\n\treturn t.a[0]\n", "\tt := &T{}\n\tSink = t\n\treturn t.a[0]\n")

MAIN = """package main

import (
	"os"
	"runtime/pprof"
	"time"

	"example.com/m/p"
)

func main() {
	f, _ := os.Create(os.Args[1])
	_ = pprof.StartCPUProfile(f)
	s := 0
	for start := time.Now(); time.Since(start) < 600*time.Millisecond; {
		s += p.Hot(1000)
	}
	s += p.Cold()
	pprof.StopCPUProfile()
	_ = f.Close()
	println(s)
}
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, check=False)


def test_json_attributes_new_escapes_to_the_changed_callee(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": CALLER, "p/util.go": UTIL_BASE}, "base")
    repo.commit({"p/util.go": UTIL_HEAD}, "sink stores its parameter")
    proc = run("diff", "--repo", str(repo.path), "--base", base, "--format", "json", "--no-store")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    found = {(e["function"], e["expression"]): e for e in doc["new"]}
    assert found[("F", "x")]["attribution"] == {
        "reason": "callee-now-leaks",
        "file": "p/util.go",
        "line": 7,
        "function": "sink",
        "detail": "leaking param: p",
    }
    assert found[("F", "x")]["hotness"] is None and doc["profiles"] == []
    assert doc["toolchain_change"] is None


def _profiled_repo(repo: GitRepo, tmp_path: Path, config: str = "") -> str:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": LIB_BASE, "cmd/run/main.go": MAIN}, "base")
    write_files(repo.path, {"p/p.go": LIB_HEAD})
    write_cpu_profile(repo.path)  # cmd/run/default.pgo: where `go build -pgo=auto` looks
    files = {".escape-bot.toml": config} if config else {}
    repo.commit(files, "Hot and Cold allocate; a CPU profile")
    return base


def test_a_pgo_profile_ranks_new_escapes_hot_first(repo: GitRepo, tmp_path: Path) -> None:
    base = _profiled_repo(repo, tmp_path)
    proc = run("diff", "--repo", str(repo.path), "--base", base, "--format", "json", "--no-store")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["profiles"] == ["default.pgo"]
    new = [(e["function"], e["hotness"]["cpu_share"]) for e in doc["new"] if e["expression"] == "&T{}"]
    # hottest first, and each once: with a default.pgo the go command compiles p twice (`# p` and
    # `# p [example.com/m/cmd/run]`, its PGO variant), printing every diagnostic twice
    assert [f for f, _ in new] == ["Hot", "Cold"]
    # the shares come from a real CPU profile: on a loaded machine Hot's share drifts around
    # one half, so only the order and the sign are asserted
    assert new[0][1] > new[1][1] >= 0


def test_hot_only_lets_cold_escapes_through(repo: GitRepo, tmp_path: Path) -> None:
    base = _profiled_repo(repo, tmp_path, "[gate]\nhot-only = 0.05\n")
    proc = run(
        "diff", "--repo", str(repo.path), "--base", base, "--format", "json", "--no-store", "--fail-on-new"
    )
    assert proc.returncode == 1, proc.stderr  # Hot's escape still blocks
    gate = json.loads(proc.stdout)["gate"]
    allowed = {(e["function"], e["reason"].split(":")[0]) for e in gate["allowed"]}
    assert ("Cold", "cold") in allowed and not any(f == "Hot" for f, _ in allowed)
    # without a profile there is nothing to call cold: every new escape counts
    proc = run(
        "diff",
        "--repo",
        str(repo.path),
        "--base",
        base,
        "--format",
        "json",
        "--no-store",
        "--profile",
        "none.pprof",
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_top_by_hotness_orders_stored_escapes_by_the_profile(repo: GitRepo, tmp_path: Path) -> None:
    _profiled_repo(repo, tmp_path)
    db = f"sqlite:///{tmp_path}/escapes.db"
    recorded = run("collect", "--repo", str(repo.path), "--record", "--db", db)
    assert recorded.returncode == 0, recorded.stderr
    proc = run("top", "--repo", str(repo.path), "--by", "hotness", "--format", "json", "--db", db)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["profiles"] == ["default.pgo"]
    first = doc["entries"][0]
    assert (first["function"], first["expression"]) in {("Hot", "&T{}"), ("main", "&p.T{}")}
    assert first["cpu_share"] > 0.5
    assert [e["cpu_share"] for e in doc["entries"]] == sorted(
        (e["cpu_share"] for e in doc["entries"]), reverse=True
    )
    table = run("top", "--repo", str(repo.path), "--by", "hotness", "--db", db)
    assert table.returncode == 0 and "the hottest heap escapes by default.pgo" in table.stdout
    wrong = run("top", "--repo", str(repo.path), "--by", "function", "--profile", "x.pprof", "--db", db)
    assert wrong.returncode == 2 and "use it with --by hotness" in wrong.stderr
