"""`--shard K/N` (bot/gc/shard.py, bot/gc/run.py): the split, and collect/diff with real builds.

Real compiler and git: the shards of a module whose packages import each other must together
report exactly what one unsharded build reports, each escape once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.errors import UsageError
from bot.gc.run import BuildOptions, collect
from bot.gc.shard import MAX_SHARDS, Shard, parse_shard, shard_of
from tests.conftest import GitRepo, go_mod
from tests.test_cli import run

N = 3


def _files(more: bool = False) -> dict[str, str]:
    """Eight packages, the odd ones importing (and inlining) p0; a test-only package."""
    files = {"go.mod": go_mod(), "only/only_test.go": ONLY_TEST}
    for i in range(8):
        imports = '\nimport "example.com/m/p0"\n' if i % 2 else ""
        use = "\nfunc Use() *int { return p0.F() }\n" if i % 2 else ""
        extra = "\nfunc G() *int {\n\ty := 2\n\treturn &y\n}\n" if more and i % 3 == 0 else ""
        files[f"p{i}/p.go"] = (
            f"package p{i}\n{imports}\nfunc F() *int {{\n\tx := 1\n\treturn &x\n}}\n{use}{extra}"
        )
    return files


ONLY_TEST = 'package only\n\nimport "testing"\n\nfunc TestX(t *testing.T) {\n\tx := 1\n\tt.Log(&x)\n}\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3", "expected K/N"),
        ("0/3", "K must be between 1 and N"),
        ("4/3", "K must be between 1 and N"),
        ("1/0", "N must be between 1"),
        (f"1/{MAX_SHARDS + 1}", "N must be between 1"),
        ("a/b", "expected K/N"),
    ],
)
def test_a_bad_shard_is_one_line_naming_the_option(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=f"--shard '{text}': {message}"):
        parse_shard(text)


def test_every_package_is_in_exactly_one_shard() -> None:
    paths = [f"example.com/m/p{i}" for i in range(200)]
    for count in (1, 2, 3, 7):
        shards = [Shard(k, count) for k in range(1, count + 1)]
        assert all(sum(s.owns(p) for s in shards) == 1 for p in paths)
    # 200 packages over 3 shards: none is empty, none takes nearly all
    sizes = [sum(Shard(k, 3).owns(p) for p in paths) for k in (1, 2, 3)]
    assert min(sizes) > 200 // 6


def test_the_split_is_the_same_in_every_process() -> None:
    """Not Python's salted hash(): another interpreter with another hash seed splits alike."""
    paths = [f"example.com/m/p{i}" for i in range(50)]
    code = "import sys; from bot.gc.shard import shard_of; print([shard_of(p, 5) for p in sys.argv[1:]])"
    for seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-c", code, *paths],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(proc.stdout) == [shard_of(p, 5) for p in paths]


@pytest.mark.parametrize("tests", [False, True])
def test_the_shards_together_are_the_whole_build(tmp_path: Path, tests: bool) -> None:
    root = tmp_path / "m"
    GitRepo(root).commit(_files(), "base")
    whole = collect(root, BuildOptions(include_tests=tests))
    parts = [collect(root, BuildOptions(include_tests=tests, shard=Shard(k, N))) for k in range(1, N + 1)]
    assert Counter(e for p in parts for e in p.escapes) == Counter(whole.escapes)
    # each shard reported its own packages only, though it compiled p0 for the odd ones
    for k, part in enumerate(parts, 1):
        assert {shard_of(e.package, N) for e in part.escapes} <= {k}
    assert sum(1 for p in parts if p.escapes) > 1
    assert any(e.file == "only/only_test.go" for e in whole.escapes) == tests
    # a shard's snapshot has its own toolchain key: never taken from the store for the whole
    assert parts[0].toolchain.flags != whole.toolchain.flags
    assert parts[0].toolchain.flags[-1] == f"shard=1/{N}"


def test_a_shard_with_no_package_builds_nothing_and_fails_nothing(tmp_path: Path) -> None:
    root = tmp_path / "m"
    GitRepo(root).commit({"go.mod": go_mod(), "p0/p.go": _files()["p0/p.go"]}, "one package")
    owner = shard_of("example.com/m/p0", 2)
    empty = collect(root, BuildOptions(shard=Shard(3 - owner, 2)))
    assert (empty.escapes, empty.failed, empty.stats.packages) == ([], [], 0)
    assert collect(root, BuildOptions(shard=Shard(owner, 2))).escapes


def test_collect_and_diff_take_the_shard_option(repo: GitRepo) -> None:
    repo.commit(_files(), "base")
    repo.commit(_files(more=True), "head: G in p0, p3, p6")
    whole = json.loads(
        run("diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store", "--format", "json").stdout
    )
    new: list[str] = []
    for k in range(1, N + 1):
        proc = run(
            "diff",
            "--repo",
            str(repo.path),
            "--base",
            "HEAD~1",
            "--no-store",
            "--format",
            "json",
            "--shard",
            f"{k}/{N}",
        )
        assert proc.returncode in (0, 1), proc.stderr
        new += [json.dumps(e, sort_keys=True) for e in json.loads(proc.stdout)["new"]]
    assert len(whole["new"]) == 3
    assert sorted(new) == sorted(json.dumps(e, sort_keys=True) for e in whole["new"])
    # the option follows the ESCAPE_BOT_<COMMAND>_<OPTION> convention
    env = {**os.environ, "ESCAPE_BOT_COLLECT_SHARD": "1/1"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "collect", "--repo", str(repo.path), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["head"]["escapes"] > 0
    bad = run("collect", "--repo", str(repo.path), "--shard", "2/1")
    assert bad.returncode == 2
    assert (
        bad.stderr.strip().splitlines()[-1]
        == "escape-bot: error: --shard '2/1': K must be between 1 and N (1)"
    )


def test_ci_takes_the_shard_only_to_analyze(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit(_files(), "base")
    proc = run("ci", "--repo", str(repo.path), "--shard", "1/2")
    assert proc.returncode == 2, proc.stderr
    assert "--shard 1/2 needs --mode analyze" in proc.stderr


def test_a_shard_is_stored_under_its_own_key(tmp_path: Path) -> None:
    from bot import app
    from bot.store import Store

    root = tmp_path / "m"
    GitRepo(root).commit(_files(), "base")
    store = Store.open(f"sqlite:///{tmp_path / 'escapes.db'}")
    try:
        shard = BuildOptions(shard=Shard(1, N))
        first, source = app.snapshot_of(root, "HEAD", shard, store)
        assert source == "built"
        again, source = app.snapshot_of(root, "HEAD", shard, store)
        assert (source, again.escapes) == ("store", first.escapes)
        # the whole is not taken for a shard, nor another shard for this one
        assert app.snapshot_of(root, "HEAD", BuildOptions(), store)[1] == "built"
        assert app.snapshot_of(root, "HEAD", BuildOptions(shard=Shard(2, N)), store)[1] == "built"
    finally:
        store.close()
