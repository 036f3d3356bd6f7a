"""The CLI as a user runs it: a subprocess, exit codes, one-line errors, the JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GitRepo, go_mod

ESCAPES = """package p

type T struct{ A int }

func Ret() *T {
	t := T{A: 1}
	return &t
}
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_collect_json_contract(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": ESCAPES}, "base")
    proc = run("collect", "--repo", str(repo.path), "--rev", "HEAD", "--format", "json", "--explain")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["head"]["go_version"].startswith("go1.")
    (escape,) = [e for e in data["escapes"] if e["kind"] == "moved-to-heap"]
    assert {
        k: escape[k] for k in ("package", "file", "line", "column", "function", "cause", "expression")
    } == {
        "package": "example.com/m/p",
        "file": "p/p.go",
        "line": 6,
        "column": 2,
        "function": "Ret",
        "cause": "returned",
        "expression": "t",
    }
    assert escape["message"] == "moved to heap: t"
    assert [s["why"] for s in escape["explanation"]] == ["address-of", "return"]
    assert data["counts"]["by_cause"] == {"returned": 1}


def test_diff_json_and_fail_on_new(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "empty")
    repo.commit({"p/p.go": ESCAPES}, "escape")
    proc = run("diff", "--repo", str(repo.path), "--base", base, "--format", "json", "--fail-on-new")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= {"base", "head", "new", "fixed", "counts"}
    assert data["base"]["commit"] == base
    assert data["counts"]["new"] == 1 and data["counts"]["fixed"] == 0
    assert data["new"][0]["cause"] == "returned"
    # the other way round it is a fix, and the gate passes
    proc = run("diff", "--repo", str(repo.path), "--base", "HEAD", "--head", base, "--fail-on-new")
    assert proc.returncode == 0, proc.stderr
    assert "0 new heap escapes, 1 fixed" in proc.stdout


def test_diff_markdown(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "empty")
    repo.commit({"p/p.go": ESCAPES}, "escape")
    proc = run("diff", "--repo", str(repo.path), "--base", base, "--format", "markdown")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("**1 new heap escape**")
    assert (
        "- `p/p.go:6` `t` in `Ret`: returned to the caller\n  Why: `t` → `&t` (line 7) → returned\n"
        in proc.stdout
    )
    assert "  Fix: `Ret` returns `t`: return the value" in proc.stdout
    # without --fail-on-new the command exits 0: the gate *would* fail, in words and in the text
    assert "The gate would fail (`--fail-on-new` makes it exit 1): 1 new heap escape." in proc.stdout
    text = run("diff", "--repo", str(repo.path), "--base", base)
    assert "gate: would fail (--fail-on-new exits 1): 1 new heap escape" in text.stdout
    enforced = run("diff", "--repo", str(repo.path), "--base", base, "--format", "markdown", "--fail-on-new")
    assert enforced.returncode == 1
    assert "The gate failed: 1 new heap escape." in enforced.stdout


def test_worktree_is_untouched(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "empty")
    repo.commit({"p/p.go": ESCAPES}, "escape")
    (repo.path / "p/p.go").write_text("package p\n\n// local edit\n")
    proc = run("diff", "--repo", str(repo.path), "--base", base)
    assert proc.returncode == 0, proc.stderr
    assert (repo.path / "p/p.go").read_text() == "package p\n\n// local edit\n"
    # only the main working tree is registered: every temporary worktree was removed
    listed = [
        line
        for line in repo.git("worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]
    assert listed == [f"worktree {repo.path.resolve()}"], listed
    assert not list((repo.path / ".git" / "worktrees").glob("*"))


def test_not_a_git_repository(tmp_path: Path) -> None:
    proc = run("diff", "--repo", str(tmp_path), "--base", "HEAD~1")
    assert proc.returncode == 3
    assert proc.stderr.strip() == f"escape-bot: error: {tmp_path} is not a git repository"


def test_unknown_revision(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": ESCAPES}, "base")
    proc = run("diff", "--repo", str(repo.path), "--base", "nope")
    assert proc.returncode == 3
    assert "unknown revision 'nope'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_build_failure_is_not_no_escapes(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n\nfunc F() { undefinedThing() }\n"}, "broken")
    proc = run("collect", "--repo", str(repo.path), "--rev", "HEAD", "--format", "json")
    assert proc.returncode == 3
    assert proc.stdout == ""
    first = proc.stderr.splitlines()[0]
    sha = repo.git("rev-parse", "HEAD").strip()
    assert first == (
        f"escape-bot: error: HEAD ({sha[:12]}): module example.com/m (the root) did not build: "
        "p/p.go:3:12: undefined: undefinedThing"
    )


def test_empty_module_has_no_escapes_and_says_so(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n\nfunc F(x int) int { return x }\n"}, "plain")
    proc = run("collect", "--repo", str(repo.path), "--rev", "HEAD")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("0 heap escapes")


def test_no_go_mod(repo: GitRepo) -> None:
    repo.commit({"README": "nothing here\n"}, "docs")
    proc = run("collect", "--repo", str(repo.path), "--rev", "HEAD")
    assert proc.returncode == 3
    assert "no go.mod found" in proc.stderr


def test_usage_error_exit_2() -> None:
    proc = run("diff")
    assert proc.returncode == 2
    assert "Missing option '--base'" in proc.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_from_log(tmp_path: Path, fmt: str) -> None:
    log = Path(__file__).parent / "data" / "golden" / "go1.27.3.log"
    proc = run("collect", "--from-log", str(log), "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    if fmt == "json":
        assert json.loads(proc.stdout)["counts"]["escapes"] > 20
    else:
        assert "heap escapes" in proc.stdout.splitlines()[-1]


def test_from_log_strict_rejects_unknown_lines(tmp_path: Path) -> None:
    log = tmp_path / "odd.log"
    log.write_text("# example.com/m/p\np/p.go:3:2: moved to heap: x\np/p.go:4:2: something brand new\n")
    assert run("collect", "--from-log", str(log)).returncode == 0
    proc = run("collect", "--from-log", str(log), "--strict")
    assert proc.returncode == 3
    assert "1 compiler line not understood" in proc.stderr


def test_demo_runs_end_to_end() -> None:
    proc = run("demo", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    causes = {e["cause"] for e in data["new"] if e["kind"] != "leaking-param"}
    assert {"returned", "closure-capture", "interface-conversion", "stored-in-heap", "channel-send"} <= causes
    assert data["counts"]["fixed"] == 0
    # it explains itself, and names no database it has already deleted
    assert "a heap escape is a value the Go compiler cannot keep on the stack" in proc.stderr
    assert "The [cause] tag says why" in proc.stderr
    assert "still reports only what is new" in proc.stderr
    assert "Next: `escape-bot diff --base origin/main`" in proc.stderr
    assert "sqlite" not in proc.stderr.lower() and "were temporary and are deleted" in proc.stderr
    new = sum(e["count"] for e in data["new"] if e["allocates"])
    assert f"{new} new heap escape{'' if new == 1 else 's'}, " in proc.stderr


def test_demo_kept_names_its_database(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    proc = run("demo", "--keep", str(kept), "--format", "text")
    assert proc.returncode == 0, proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("Both snapshots are recorded in ")]
    assert str(kept) in line
    assert any(kept.rglob("*.sqlite*")) or any(kept.rglob("*.db")), line
