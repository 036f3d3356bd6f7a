"""Commands work from any subdirectory of the repository, like git; outside one they say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import GitRepo, go_mod
from tests.test_cli import run

RET = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"


def test_every_command_works_from_a_subdirectory(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": RET}, "one")
    repo.commit({"p/q.go": RET.replace("F()", "G()")}, "two")
    inside = repo.path / "p"
    collected = run("collect", "--format", "json", cwd=inside)
    assert collected.returncode == 0, collected.stderr
    assert sorted(
        e["file"] for e in json.loads(collected.stdout)["escapes"] if e["kind"] == "moved-to-heap"
    ) == [
        "p/p.go",
        "p/q.go",
    ]
    diffed = run("diff", "--base", "HEAD~1", "--format", "json", cwd=inside)
    assert diffed.returncode == 0, diffed.stderr
    assert [e["file"] for e in json.loads(diffed.stdout)["new"]] == ["p/q.go"]
    backfilled = run("backfill", "--last", "2", cwd=inside)
    assert backfilled.returncode == 0, backfilled.stderr
    assert (repo.path / ".escape-bot" / "escapes.db").is_file()
    assert not (inside / ".escape-bot").exists()
    trend = run("trend", "--format", "json", cwd=inside)
    assert trend.returncode == 0, trend.stderr
    assert [c["total"] for c in json.loads(trend.stdout)["commits"]] == [1, 2]
    top = run("top", "--format", "json", cwd=inside)
    assert top.returncode == 0, top.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("collect",),
        ("diff", "--base", "HEAD~1"),
        ("backfill", "--last", "1"),
        ("trend",),
        ("top",),
        ("blame",),
        ("db", "upgrade"),
    ],
)
def test_outside_a_repository_nothing_is_created(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr == f"escape-bot: error: {tmp_path.resolve()} is not a git repository\n"
    assert list(tmp_path.iterdir()) == []
