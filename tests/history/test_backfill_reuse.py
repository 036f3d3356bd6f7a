"""Backfill takes each commit's unchanged packages from the previous commit's blocks (bot/gc/reuse.py)
instead of parsing them again: real compiler, real git, SQLite and PostgreSQL. What it records is
exactly what a build of each commit on its own gives."""

from __future__ import annotations

from bot import app, git
from bot.gc.reuse import BlockCache
from bot.gc.run import BuildOptions, toolchain
from bot.history import backfill
from bot.store import Store
from tests.conftest import GitRepo, go_mod

P = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"
Q = "package q\n\nvar Sink any\n\nfunc G(n int) {\n\tSink = n\n}\n"
R = "package r\n\nfunc K() func() int {\n\ty := 2\n\treturn func() int { return y }\n}\n"


def _quiet(package: str) -> None:
    """No progress to show."""


def test_each_commit_takes_the_previous_ones_unchanged_packages(repo: GitRepo, empty_db: str) -> None:
    shas = [
        repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q, "r/r.go": R}, "one"),
        repo.commit({"p/p.go": P + "\nfunc F2() *int {\n\tz := 3\n\treturn &z\n}\n"}, "two"),
        repo.commit({"q/q.go": "// moved\n" + Q}, "three"),
        repo.commit({"go.mod": go_mod(), "r/r.go": R.replace("y := 2", "y := 3")}, "four"),
    ]
    options = BuildOptions()
    tc = toolchain(options, repo.path)
    cache = BlockCache()
    taken = []
    with Store.open(empty_db) as store:
        for sha in shas:
            before = cache.reused
            commit = git.commit_info(repo.path, sha)
            outcome = backfill.build_one(repo.path, store, "acme/r", commit, options, tc, _quiet, cache)
            assert outcome.status == "recorded"
            taken.append(cache.reused - before)
            # the cache holds this commit's blocks only, one per package
            assert sorted(b.package for b in cache.blocks.values()) == [
                "example.com/m/p",
                "example.com/m/q",
                "example.com/m/r",
            ]
        for sha in shas:
            stored = store.find_snapshot("acme/r", sha, tc.key)
            alone = app.build_snapshot(repo.path, sha, options)
            assert stored is not None and set(stored.escapes) == set(alone.escapes)
            assert stored.stats == alone.stats
    # p changed in two, q in three, r in four: each commit takes the two others
    assert taken == [0, 2, 2, 2]
