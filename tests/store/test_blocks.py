"""A pull request's head takes its stored base's package blocks (bot/gc/reuse.py, bot/store/blocks.py)
instead of parsing again what the compiler printed the same: real compiler, real git, SQLite and
PostgreSQL. The comparison, and the head as stored, are exactly those of a build without a store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot import app, git
from bot.ci.stores import TolerantStore
from bot.gc import run
from bot.gc.model import Escape, Snapshot
from bot.gc.run import BuildOptions
from bot.store import Store
from bot.store.content import split_escapes
from tests.conftest import GitRepo, go_mod

from .test_pair_compare import _json

P = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"
Q = (
    'package q\n\nimport "fmt"\n\nvar Sink any\n\nfunc G(n int) {\n\tSink = n\n\tfmt.Println(n)\n}\n\n'
    "func H() []byte {\n\treturn make([]byte, 8)\n}\n"
)
R = "package r\n\nfunc K() func() int {\n\ty := 2 // base\n\treturn func() int { return y }\n}\n"
S = "package s\n\ntype T struct{ A int }\n\nfunc N() *T {\n\treturn &T{A: 1}\n}\n"


def _repository(repo: GitRepo) -> str:
    return app.repository_name(repo.path)


def _store_base(store: Store, repo: GitRepo, sha: str, options: BuildOptions) -> Snapshot:
    """Base as a push to the default branch records it (`snapshot_of`: built, keys kept)."""
    snapshot, source = app.snapshot_of(repo.path, sha, options, store)
    assert source == "built"
    return snapshot


def _full(repo: GitRepo, sha: str, options: BuildOptions) -> set[Escape]:
    """A revision's records as a build without any store or reuse makes them (explanations whole)."""
    return set(app.build_snapshot(repo.path, sha, options).escapes)


def test_head_takes_the_stored_bases_unchanged_packages(repo: GitRepo, db_url: str) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q, "r/r.go": R, "s/s.go": S}, "base")
    # p changes; r only by a comment on an escape's line: the compiler prints r's block as it did,
    # but the record's line text differs, so r must be parsed again; q and s are untouched
    head = repo.commit(
        {
            "p/p.go": P + "\nfunc F2() *int {\n\tz := 3\n\treturn &z\n}\n",
            "r/r.go": R.replace("// base", "// head"),
        },
        "head",
    )
    options = BuildOptions()
    expected = _json(app.compare(repo.path, base, head, options))
    with Store.open(db_url) as store:
        stored_base = _store_base(store, repo, base, options)
        assert sorted(b.package for b in stored_base.blocks) == [
            "example.com/m/p",
            "example.com/m/q",
            "example.com/m/r",
            "example.com/m/s",
        ]
        blocks = store.stored_blocks(_repository(repo), base, stored_base.toolchain.key, {})
        assert sorted(b.package for b, _ in blocks) == sorted(b.package for b in stored_base.blocks)
        for block, records in blocks:
            assert block.count == len(records) > 0
            assert all(not e.explanation for e in records)  # read light
        assert any(e.explanation for e in stored_base.escapes)  # though they have explanations
        messages: list[str] = []
        built = app.compare(repo.path, base, head, options, store=store, progress=messages.append)
        assert (built.base_source, built.head_source) == ("store", "built")
        assert "2 unchanged packages taken from the store" in messages  # q and s
        assert _json(built) == expected
        # head as stored meanwhile, read back whole, is head as built without any reuse: the
        # taken packages' results are base's, explanations and all
        stored = store.find_snapshot(_repository(repo), head, built.head.toolchain.key)
        assert stored is not None
        assert set(stored.escapes) == _full(repo, head, options)
        assert stored.stats == app.build_snapshot(repo.path, head, options).stats
        assert sorted(b.package for b in stored.blocks) == []  # blocks are written, never read back so
        again = app.compare(repo.path, base, head, options, store=store)
        assert (again.base_source, again.head_source) == ("store", "store")
        assert _json(again) == expected


def test_blocks_of_another_parser_or_a_renamed_file_are_not_taken(
    repo: GitRepo, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q, "s/s.go": S}, "base")
    head = repo.commit({"p/p.go": P + "\n// end\n"}, "head")
    options = BuildOptions()
    expected = _json(app.compare(repo.path, base, head, options))
    with Store.open(db_url) as store:
        key = _store_base(store, repo, base, options).toolchain.key
        renamed = store.stored_blocks(_repository(repo), base, key, {"q/q.go": "q/q2.go"})
        assert sorted(b.package for b, _ in renamed) == ["example.com/m/p", "example.com/m/s"]
        # another escape-bot's parser (its sources differ): nothing of base's is taken
        monkeypatch.setattr(run, "parser_fingerprint", lambda: "another parser")
        messages: list[str] = []
        built = app.compare(repo.path, base, head, options, store=store, progress=messages.append)
        assert built.head_source == "built"
        assert not any("taken from the store" in m and "unchanged" in m for m in messages)
        assert _json(built) == expected


def test_two_heads_of_one_base_each_store_whole_results(repo: GitRepo, db_url: str) -> None:
    """Two pull requests on one base: the second head's packages are taken from the base too, and
    a head that changes a package the other took stores that package's own records."""
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q, "s/s.go": S}, "base")
    one = repo.commit({"p/p.go": P + "\nvar V = new(int)\n"}, "one")
    repo.git("checkout", "-q", base)
    two = repo.commit({"s/s.go": S + "\nfunc M() any {\n\tt := T{A: 2}\n\treturn &t\n}\n"}, "two")
    options = BuildOptions()
    with Store.open(db_url) as store:
        _store_base(store, repo, base, options)
        for head in (one, two):
            expected = _json(app.compare(repo.path, base, head, options))
            messages: list[str] = []
            built = app.compare(repo.path, base, head, options, store=store, progress=messages.append)
            assert _json(built) == expected
            assert "2 unchanged packages taken from the store" in messages
            stored = store.find_snapshot(_repository(repo), head, built.head.toolchain.key)
            assert stored is not None and set(stored.escapes) == _full(repo, head, options)


def test_block_rows_are_written_once_per_package_result(repo: GitRepo, db_url: str) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q}, "base")
    head = repo.commit({"p/p.go": P + "\n// end\n"}, "head")
    options = BuildOptions()
    with Store.open(db_url) as store:
        _store_base(store, repo, base, options)
        app.compare(repo.path, base, head, options, store=store)
        app.compare(repo.path, base, head, options, store=store)
        engine: Any = store._engine
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pr.package, count(*) FROM package_block b"
                    " JOIN package_result pr ON pr.id = b.package_result_id GROUP BY pr.package ORDER BY 1"
                )
            ).all()
    # q: one result, one block (head took base's); p: a result per side (its lines moved)
    assert [tuple(r) for r in rows] == [("example.com/m/p", 2), ("example.com/m/q", 1)]


def test_records_read_light_are_never_encoded(repo: GitRepo, db_url: str) -> None:
    """The store refuses to digest a package holding records read without their explanations,
    unless they are exactly the content it read them with: it would store them without."""
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q}, "base")
    options = BuildOptions()
    with Store.open(db_url) as store:
        key = _store_base(store, repo, base, options).toolchain.key
        blocks = store.stored_blocks(_repository(repo), base, key, {})
        q = next(records for block, records in blocks if block.package == "example.com/m/q")
        light = {id(e) for _, records in blocks for e in records}
        memo = dict(store._contents)
        assert [p.package for p in split_escapes(q, memo, light)] == ["example.com/m/q"]  # the memo's
        with pytest.raises(ValueError, match="without their explanations"):
            split_escapes(q[:-1], memo, light)  # not the memo's objects: refused
        with pytest.raises(ValueError, match="without their explanations"):
            split_escapes(q, {}, light)


def test_a_base_recorded_before_blocks_were_stored_is_parsed_as_before(repo: GitRepo, db_url: str) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q}, "base")
    head = repo.commit({"p/p.go": P + "\n// end\n"}, "head")
    options = BuildOptions()
    expected = _json(app.compare(repo.path, base, head, options))
    with Store.open(db_url) as store:
        old = app.build_snapshot(repo.path, base, options)  # no cache: no blocks, as before 0003
        assert old.blocks == ()
        store.record_snapshot(_repository(repo), git.commit_info(repo.path, base), old)
        assert store.stored_blocks(_repository(repo), base, old.toolchain.key, {}) == []
        built = app.compare(repo.path, base, head, options, store=store)
        assert built.base_source == "store" and _json(built) == expected


def test_a_failing_store_only_means_head_is_parsed_whole(repo: GitRepo, tmp_path: Path) -> None:
    """`ci`'s tolerant store: a store that fails when asked for the blocks gives none, and keeps the
    error for the report (a real SQLite file, overwritten after opening)."""
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P}, "base")
    path = tmp_path / "broken.db"
    options = BuildOptions()
    with Store.open(f"sqlite:///{path}") as store:
        key = _store_base(store, repo, base, options).toolchain.key
        store.close()  # its connections go; the next query opens the file anew
        path.write_bytes(b"not a database" * 512)
        tolerant = TolerantStore(store)
        assert tolerant.stored_blocks(_repository(repo), base, key, {}) == []
        assert tolerant.errors and "sqlite" in tolerant.errors[0].lower()
