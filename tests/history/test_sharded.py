"""`trend` and `top` over sharded history (`collect --record --shard K/3`): the N shards combined.

Real git, the real compiler, the real CLI, SQLite and PostgreSQL. Every commit of a small
module is recorded twice in one database: unsharded, then as 3 shards (each under its own
toolchain key). The shards' newest snapshot decides the default key, so trend and top read the
shard family; reading the unsharded key must give the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.commit import CommitInfo
from bot.gc.run import BuildOptions, toolchain
from bot.gc.shard import Shard, shard_of
from bot.history import queries
from bot.history.model import FailedCommit
from bot.history.queries import Scope, failed_commit
from bot.history.render import newest_failed_lines
from bot.history.shards import ShardKey, missing_text, shard_key
from bot.store.queries import StoredSnapshot
from tests.conftest import GitRepo, go_mod
from tests.store.conftest import database

from .conftest import run_cli

N = 3
WHOLE = "acme/sharded"
PARTIAL = "acme/partial"  # the same commits, the middle one without shard 2
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _package(name: str, escapes: int) -> str:
    """`escapes` heap allocations of two causes (a make of unknown size, a returned address)."""
    body = "".join(
        f"\nfunc F{i}(n int) []int {{\n\ts := make([]int, n+{i})\n\treturn s\n}}\n"
        f"\nfunc P{i}() *int {{\n\tv := {i}\n\treturn &v\n}}\n"
        for i in range(escapes)
    )
    return f"package {name}\n{body}"


def _files(escapes: dict[str, int]) -> dict[str, str]:
    return {"go.mod": go_mod(), **{f"{p}/{p}.go": _package(p, n) for p, n in escapes.items()}}


@dataclass(frozen=True)
class Recorded:
    url: str
    repo: Path
    commits: tuple[str, ...]
    whole_key: str  # the unsharded toolchain key


def _record(repo: GitRepo, url: str, name: str, sha: str, shard: int | None) -> None:
    args = ("--shard", f"{shard}/{N}") if shard is not None else ()
    proc = run_cli("collect", "--repo", str(repo.path), "--rev", sha, "--db", url, "--name", name, *args)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    repo = GitRepo(tmp_path_factory.mktemp("sharded") / "repo")
    first = {f"p{i}": 1 + i % 3 for i in range(6)}
    second = {**first, "p1": first["p1"] + 2, "p4": first["p4"] - 1, "p7": 2}
    third = {p: n for p, n in second.items() if p != "p3"} | {"p0": second["p0"] + 1}
    # the split is real: every shard has packages of its own
    assert {shard_of(f"example.com/m/{p}", N) for p in third} == set(range(1, N + 1))
    commits = (
        repo.commit(_files(first), "first"),
        repo.commit(_files(second), "second"),
        repo.commit(_files(third), "third", remove=("p3/p3.go",)),
    )
    with database(request.param, request, tmp_path_factory.mktemp("db")) as url:
        for sha in commits:
            _record(repo, url, WHOLE, sha, None)
            for k in range(1, N + 1):
                _record(repo, url, WHOLE, sha, k)
                if not (sha == commits[1] and k == 2):
                    _record(repo, url, PARTIAL, sha, k)
        yield Recorded(url, repo.path, commits, toolchain(BuildOptions(), repo.path).key)


def _json(recorded: Recorded, command: str, *args: str, name: str = WHOLE) -> dict[str, Any]:
    proc = run_cli(
        command, "--repo", str(recorded.repo), "--db", recorded.url, "--name", name, "--format", "json", *args
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _points(data: dict[str, Any]) -> list[tuple[str, int, dict[str, int]]]:
    return [(c["sha"], c["total"], c["counts"]) for c in data["commits"]]


def _family(whole_key: str) -> str:
    return whole_key.replace("/records=", f" shard=*/{N}/records=")


@pytest.mark.parametrize("by", ["cause", "package", "kind"])
def test_trend_over_shards_is_the_unsharded_trend(recorded: Recorded, by: str) -> None:
    sharded = _json(recorded, "trend", "--by", by, "--leaks")
    whole = _json(recorded, "trend", "--by", by, "--leaks", "--toolchain", recorded.whole_key)
    assert (sharded["toolchain"], sharded["shards"]) == (_family(recorded.whole_key), N)
    assert whole["toolchain"] == recorded.whole_key and "shards" not in whole
    assert [p[0] for p in _points(sharded)] == list(recorded.commits)
    assert _points(sharded) == _points(whole)
    assert sharded["groups"] == whole["groups"] and sharded["failed"] == whole["failed"] == []
    # the counts changed over the history: a shard's figures alone would not do
    assert len({p[1] for p in _points(whole)}) > 1


def test_the_family_key_and_one_shards_key(recorded: Recorded) -> None:
    family = _family(recorded.whole_key)
    assert _points(_json(recorded, "trend", "--toolchain", family)) == _points(_json(recorded, "trend"))
    # one shard's key, asked for: that shard alone, a fraction of the whole
    one = shard_key(family)
    assert one is not None
    only = _json(recorded, "trend", "--by", "package", "--toolchain", one.member(1))
    assert "shards" not in only and only["toolchain"] == one.member(1)
    whole = _points(_json(recorded, "trend", "--by", "package"))
    for (sha, total, counts), (whole_sha, whole_total, whole_counts) in zip(
        _points(only), whole, strict=True
    ):
        assert sha == whole_sha and 0 < total < whole_total
        assert counts == {p: n for p, n in whole_counts.items() if Shard(1, N).owns(p)}


@pytest.mark.parametrize("by", ["package", "function", "cause"])
def test_top_over_shards_is_the_unsharded_top(recorded: Recorded, by: str) -> None:
    for rev in (None, recorded.commits[1]):
        args = ("--by", by, "--limit", "0", "--leaks", *(("--rev", rev) if rev else ()))
        sharded = _json(recorded, "top", *args)
        whole = _json(recorded, "top", *args, "--toolchain", recorded.whole_key)
        assert sharded["shards"] == N and "shards" not in whole
        assert (sharded["commit"], sharded["total"], sharded["others"]) == (
            whole["commit"],
            whole["total"],
            whole["others"],
        )
        assert sharded["entries"] == whole["entries"]
        if by != "cause":  # the entries come from every shard
            assert {shard_of(e["package"], N) for e in sharded["entries"]} == set(range(1, N + 1))


def test_the_table_says_the_shards_were_combined(recorded: Recorded) -> None:
    for command in ("trend", "top"):
        proc = run_cli(command, "--repo", str(recorded.repo), "--db", recorded.url, "--name", WHOLE)
        assert proc.returncode == 0, proc.stderr
        assert f"shard=*/{N}/records=" in proc.stdout
        assert f"(sharded: {N} shards combined)" in proc.stdout
    page = run_cli(
        "trend", "--repo", str(recorded.repo), "--db", recorded.url, "--name", WHOLE, "--format", "html"
    )
    assert page.returncode == 0, page.stderr
    assert f"shard=*/{N}/records=2 (sharded: {N} shards combined)" in page.stdout


def test_a_missing_shard_makes_the_commit_incomplete(recorded: Recorded) -> None:
    partial = _json(recorded, "trend", "--by", "package", name=PARTIAL)
    whole = _json(recorded, "trend", "--by", "package")
    first, second, third = recorded.commits
    # the commit without shard 2 is not shown with a smaller count: it is listed apart
    assert [p[0] for p in _points(partial)] == [first, third]
    assert _points(partial) == [p for p in _points(whole) if p[0] != second]
    assert [(f["sha"], f["reason"]) for f in partial["failed"]] == [(second, missing_text((2,), N))]
    assert partial["shards"] == N

    where = ("--repo", str(recorded.repo), "--db", recorded.url, "--name", PARTIAL)
    csv = run_cli("trend", *where, "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    assert f"{second}," in csv.stdout and "incomplete: shard 2/3 not stored" in csv.stdout

    table = run_cli("trend", *where)
    assert table.returncode == 0, table.stderr
    assert f"incomplete: {second[:12]} second: shard 2/3 not stored" in table.stdout
    assert "1 commit in this range did not build or is incomplete (not shown)" in table.stderr

    # top at that commit says why there are no figures
    proc = run_cli("top", *where, "--rev", second)
    assert proc.returncode != 0
    assert "incomplete: shard 2/3 not stored" in proc.stderr


def _snapshot(id: int, sha: str, key: str, *, ok: bool = True, error: str | None = None) -> StoredSnapshot:
    commit = CommitInfo(sha, (), "a", "a@x", WHEN, WHEN, f"commit {sha}")
    return StoredSnapshot(id, commit, key, "go1.24", ok, WHEN, error)


def test_a_failed_shard_makes_the_commit_failed() -> None:
    family = shard_key("go1.24/linux/amd64/tags=/flags=-trimpath -gcflags=-m=2 shard=*/3/records=2")
    assert family is not None and family.index is None
    k1, k2, k3 = family.members
    rows = [
        _snapshot(1, "a" * 40, k1),
        _snapshot(2, "a" * 40, k2, ok=False, error=f"{'a' * 12}: go build: undefined: x\nmore"),
        _snapshot(3, "a" * 40, k3),
        _snapshot(4, "b" * 40, k2),
        _snapshot(5, "b" * 40, k1),
        _snapshot(6, "b" * 40, k3),
        _snapshot(7, "b" * 40, "go1.24/linux/amd64/tags=/flags=-trimpath -gcflags=-m=2 shard=1/2/records=2"),
    ]
    found = queries._combined(Scope(repository="r", branch=None), family, "branch", rows)
    failed, ok = found.snapshots
    assert (failed.ok, failed_commit(failed).reason) == (
        False,
        "shard 2/3 did not build: go build: undefined: x",
    )
    assert ok.ok and found.ids(ok) == (5, 4, 6) and found.toolchain_key == family.family
    assert found.shards == 3 and found.ids(failed) == (failed.id,)


def test_shard_keys() -> None:
    key = "go1.24/linux/amd64/tags=a,b/flags=-trimpath -gcflags=-m=2 +tests shard=2/4/records=2"
    shard = shard_key(key)
    assert shard is not None and (shard.index, shard.count) == (2, 4)
    assert shard.member(2) == key and shard_key(shard.family) == ShardKey(shard.head, None, 4, shard.tail)
    assert shard.family.endswith("+tests shard=*/4/records=2")
    for unsharded in (
        "go1.24/linux/amd64/tags=/flags=-trimpath -gcflags=-m=2/records=2",
        "go1.24/linux/amd64/tags=/flags=-trimpath -gcflags=-m=2 shard=5/4/records=2",
        "go1.24/linux/amd64/tags=/flags=-trimpath -gcflags=-m=2 shard=0/4/records=2",
    ):
        assert shard_key(unsharded) is None


def test_the_newest_commit_incomplete_is_said_so() -> None:
    c = _snapshot(1, "c" * 40, "k").commit
    lines = newest_failed_lines([FailedCommit(c, missing_text((3,), 3))])
    head = "warning: the newest 1 recorded commit did not build"
    assert lines[0] == f"{head} or is incomplete; the figures stop before it:"
    assert lines[1] == f"  {'c' * 12} commit {'c' * 40}: incomplete: shard 3/3 not stored"
    built = newest_failed_lines([FailedCommit(c, "module m did not build: x")])
    assert built[0] == f"{head}; the figures stop before it:"


def test_blame_reads_one_shard(recorded: Recorded) -> None:
    family = _family(recorded.whole_key)
    where = ("--repo", str(recorded.repo), "--db", recorded.url, "--name", WHOLE, "--format", "json")
    refused = run_cli("blame", *where, "--toolchain", family)
    assert refused.returncode == 3 and "blame reads one toolchain key: give one shard's" in refused.stderr
    one = shard_key(family)
    assert one is not None
    blamed = run_cli("blame", *where, "--toolchain", one.member(2))
    assert blamed.returncode == 0, blamed.stderr
    data = json.loads(blamed.stdout)
    assert data["toolchain"] == one.member(2) and "shards" not in data
    packages = {e["package"] for e in data["escapes"]}
    assert packages and all(Shard(2, N).owns(p) for p in packages)
