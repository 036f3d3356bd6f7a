"""Real repositories: module selection, a module that cannot build, the compiler's own error lines.

Real compiler, real git; the nested module requires `example.invalid/dep`, which cannot be
fetched (GOPROXY=off in the tests, and `.invalid` never resolves).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.gc.run import BuildOptions, toolchain
from bot.store import Store
from tests.conftest import GitRepo, go_mod
from tests.store.conftest import database, postgresql_server
from tests.test_cli import run

__all__ = ["postgresql_server"]  # the session fixture the PostgreSQL database needs

RET = "package {pkg}\n\nfunc F() *int {{\n\tx := 1\n\treturn &x\n}}\n"
MORE = RET + "\nfunc G() *int {{\n\ty := 2\n\treturn &y\n}}\n"
BENCH = {
    "bench/go.mod": go_mod("example.com/m/bench") + "\nrequire example.invalid/dep v1.0.0\n",
    "bench/b.go": 'package bench\n\nimport "example.invalid/dep"\n\nvar X = dep.Y\n',
}
BENCH_ERROR = "bench/b.go:3:8: missing go.sum entry for module providing package example.invalid/dep"
BROKEN = "package p\n\ntype T struct{}\n\nfunc Use(t T) { t.Foo() }\n"


def _two_commits(repo: GitRepo, extra: dict[str, str] | None = None) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": RET.format(pkg="p"), **BENCH, **(extra or {})}, "base")
    repo.commit({"p/p.go": MORE.format(pkg="p")}, "head: one more escape")


def test_a_module_failing_on_both_sides_is_reported_and_the_others_are_diffed(repo: GitRepo) -> None:
    _two_commits(repo)
    proc = run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [(e["file"], e["expression"]) for e in data["new"]] == [("p/p.go", "y")]
    [failed] = data["failed_modules"]
    assert (failed["module"], failed["directory"], failed["side"]) == ("example.com/m/bench", "bench", "both")
    assert any(line.startswith(BENCH_ERROR) for line in failed["errors"]), failed["errors"]
    assert data["gate"]["verdict"] == "fail" and data["gate"]["reason"] == "1 new heap escape"

    # the gate decides the exit code; the text names the module, both revisions and the error
    text = run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store", "--fail-on-new")
    assert text.returncode == 1, text.stderr
    base, head = (repo.git("rev-parse", r).strip()[:12] for r in ("HEAD~1", "HEAD"))
    assert (
        f"module example.com/m/bench (bench/) does not build at base HEAD~1 ({base}) nor at head "
        f"HEAD ({head}): the environment, not the change (not gated)" in text.stdout
    )
    assert BENCH_ERROR in text.stdout
    assert "escape-bot-wt-" not in text.stdout + text.stderr  # never the temporary worktree

    markdown = run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store", "--format", "markdown")
    assert "1 module did not build" in markdown.stdout and BENCH_ERROR in markdown.stdout


def test_an_excluded_module_is_never_built(repo: GitRepo) -> None:
    _two_commits(repo, {".escape-bot.toml": '[build]\nmodules = ["!bench/**"]\n'})
    proc = run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["failed_modules"] == [] and len(data["new"]) == 1
    checked = run("config", "check", "--repo", str(repo.path))
    assert checked.returncode == 0, checked.stderr
    effective = json.loads(checked.stdout)
    assert effective["build"]["modules"] == ["!bench/**"]
    assert effective["modules"] == [
        {"directory": ".", "module": "example.com/m", "build": True},
        {"directory": "bench", "module": "example.com/m/bench", "build": False},
    ]
    # --module replaces the file's globs: the bench module alone, which cannot build
    only = run("collect", "--repo", str(repo.path), "--module", "bench")
    assert only.returncode == 3
    assert only.stderr.startswith("escape-bot: error: the working tree: module example.com/m/bench (bench/)")
    assert BENCH_ERROR in only.stderr


def test_on_failure_fail_restores_all_or_nothing(repo: GitRepo) -> None:
    _two_commits(repo, {".escape-bot.toml": '[build]\non-failure = "fail"\n'})
    proc = run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store")
    assert proc.returncode == 3
    first = proc.stderr.splitlines()[0]
    sha = repo.git("rev-parse", "HEAD~1").strip()[:12]
    assert first.startswith(
        f"escape-bot: error: HEAD~1 ({sha}): module example.com/m/bench (bench/) did not build: "
    )
    assert BENCH_ERROR in first


def test_a_head_that_breaks_a_module_fails_the_gate_with_the_reason(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": RET.format(pkg="p"), "q/q.go": RET.format(pkg="q")}, "base")
    repo.commit({"q/q.go": BROKEN.replace("package p", "package q")}, "head breaks q")
    proc = run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store", "--format", "json")
    data = json.loads(proc.stdout)
    [failed] = data["failed_modules"]
    assert failed["side"] == "head"
    assert "q/q.go:5:19: t.Foo undefined (type T has no field or method Foo)" in failed["errors"]
    assert data["gate"]["verdict"] == "fail"
    assert data["gate"]["reason"] == (
        "module example.com/m (the root) builds at base but not at head: "
        "q/q.go:5:19: t.Foo undefined (type T has no field or method Foo)"
    )
    gated = run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store", "--fail-on-new")
    assert gated.returncode == 1
    assert "the change broke it" in gated.stdout


def test_a_nested_module_broken_at_head_keeps_the_root_compared(repo: GitRepo) -> None:
    repo.commit(
        {"go.mod": go_mod(), "p/p.go": RET.format(pkg="p"), "lib/go.mod": go_mod("example.com/lib"),
         "lib/l.go": RET.format(pkg="lib")},
        "base",
    )  # fmt: skip
    repo.commit(
        {"p/p.go": MORE.format(pkg="p"), "lib/l.go": BROKEN.replace("package p", "package lib")}, "head"
    )
    data = json.loads(
        run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store", "--format", "json").stdout
    )
    assert [(f["directory"], f["side"]) for f in data["failed_modules"]] == [("lib", "head")]
    # the root's new escape is found; lib's escapes are compared on neither side (none "fixed")
    assert [e["expression"] for e in data["new"]] == ["y"] and data["fixed"] == []
    assert data["gate"]["reason"].startswith("module example.com/lib (lib/) builds at base but not at head: ")


def test_a_broken_package_is_quoted_in_collect(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": BROKEN}, "broken")
    proc = run("collect", "--repo", str(repo.path))
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[0] == (
        "escape-bot: error: the working tree: module example.com/m (the root) did not build: "
        "p/p.go:5:19: t.Foo undefined (type T has no field or method Foo)"
    )


def test_unknown_module_and_package_patterns_quote_go(repo: GitRepo) -> None:
    repo.commit(
        {"go.mod": go_mod(), "p/p.go": RET.format(pkg="p"), "docs/README": "no Go here\n"}, "one package"
    )
    unknown_module = run("collect", "--repo", str(repo.path), "--module", "nope/**")
    assert unknown_module.returncode == 3
    assert "module glob 'nope/**' matches no module of the repository (.)" in unknown_module.stderr
    # go only warns when a pattern matches nothing (exit 0): without a package, that is an error
    empty = run("collect", "--repo", str(repo.path), "--package", "./docs/...")
    assert empty.returncode == 3
    assert empty.stderr == (
        'escape-bot: error: the working tree: no package to build: "./docs/..." matched no packages\n'
    )
    missing = run("collect", "--repo", str(repo.path), "--package", "./nope/...")
    assert missing.returncode == 3
    assert missing.stderr.splitlines()[0] == (
        "escape-bot: error: the working tree: module example.com/m (the root) did not build: "
        "pattern ./nope/...: lstat ./nope/: no such file or directory"
    )


@pytest.mark.parametrize(
    "text", ['[build]\ngoflags = ["-toolexec=/bin/true"]\n', '[build]\ngoflags = ["-overlay=o.json"]\n']
)
def test_refused_goflags(repo: GitRepo, text: str) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": RET.format(pkg="p"), ".escape-bot.toml": text}, "config")
    proc = run("collect", "--repo", str(repo.path))
    assert proc.returncode == 2
    assert "is refused: it lets the built code choose what runs" in proc.stderr


def test_go_work_outside_the_repository_is_refused(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "go.mod").write_text(go_mod("example.com/outside"))
    repo.commit(
        {
            "go.mod": go_mod(),
            "p/p.go": RET.format(pkg="p"),
            "go.work": "go 1.21\n\nuse (\n\t.\n\t../outside\n)\n",
        },
        "workspace",
    )
    proc = run("collect", "--repo", str(repo.path))
    assert proc.returncode == 3
    assert "go.work uses ../outside, outside the repository: refused" in proc.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, request, tmp_path / "db") as url:
        yield url


def test_a_snapshot_without_a_module_is_stored_with_why_and_built_again(repo: GitRepo, db_url: str) -> None:
    _two_commits(repo)
    first = run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--db", db_url, "--format", "json")
    assert first.returncode == 0, first.stderr
    base = repo.git("rev-parse", "HEAD~1").strip()
    with Store.open(db_url) as store:
        key = toolchain(BuildOptions(), repo.path).key
        stored = store.find_snapshot(repo.path.name, base, key)
        assert stored is not None
        [failure] = stored.failed_modules
        assert (failure.module, failure.directory) == ("example.com/m/bench", "bench")
        assert any(e.startswith(BENCH_ERROR) for e in failure.errors)
    # the environment may have changed since: a snapshot missing a module is built again
    again = json.loads(
        run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--db", db_url, "--format", "json").stdout
    )
    assert again["base_source"] == "built" and [f["side"] for f in again["failed_modules"]] == ["both"]
