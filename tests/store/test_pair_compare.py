"""`app.compare` with a store on SQLite and PostgreSQL and the real compiler: when the store holds
the base (a pull request's first run) or both sides (a check run again), the files are compared by
content digest, and the comparison is the one built without a store."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot import app, git
from bot.gc import run
from bot.gc.run import BuildOptions
from bot.report.serialize import comparison_dict
from bot.store import Store
from tests.conftest import GitRepo, go_mod

from .test_pair import _site_reads

P = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"
Q = (
    "package q\n\nvar Sink any\n\nfunc G(n int) {\n\tSink = n\n}\n\n"
    "func H() []byte {\n\treturn make([]byte, 8)\n}\n"
)
R = "package r\n\nfunc K() func() int {\n\ty := 2\n\treturn func() int { return y }\n}\n"


def _json(c: app.Comparison) -> dict[str, Any]:
    data = comparison_dict(c.base, c.head, c.result, insight=c.insight)
    return {k: v for k, v in data.items() if k not in ("base", "head")} | {
        "base": data["base"]["escapes"],
        "head": data["head"]["escapes"],
    }


def test_compare_by_file_digests_gives_the_built_comparison(repo: GitRepo, db_url: str) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q, "r/r.go": R}, "base")
    first = repo.commit(
        {"p/p.go": "// moved\n" + P + "\nfunc F2() *int {\n\tz := 3\n\treturn &z\n}\n"}, "one"
    )
    second = repo.commit({"q/q.go": Q.replace("make([]byte, 8)", "make([]byte, 9)") + "\n// end\n"}, "two")
    options = BuildOptions()
    with Store.open(db_url) as store:
        for head in (first, second):
            plain = app.compare(repo.path, base, head, options)
            expected = _json(plain)
            # `first`: neither side stored (both built); `second`: the base stored, the head built
            with _site_reads(store) as reads:
                built = app.compare(repo.path, base, head, options, store=store)
            assert (built.base_source, built.head_source) == ("built" if head == first else "store", "built")
            assert _json(built) == expected
            # `second`: base's stored blocks are read light before head builds (head takes the
            # unchanged packages' records instead of parsing them: tests/store/test_blocks.py),
            # then the built head is split against the stored base by its files' digests: only
            # base's files that differ are read whole (writes may show too: where the process
            # has other threads, no child stores)
            selects = [statement for statement, _ in reads if statement.lstrip().upper().startswith("SELECT")]
            assert any("CASE" in statement.upper() for statement in selects) == (head == second)
            assert bool(selects) == (head == second)
            # ...and head was stored meanwhile, as built without a store (the packages it took
            # from the stored base are base's results, explanations and all)
            stored = store.find_snapshot(app.repository_name(repo.path), head, built.head.toolchain.key)
            assert stored is not None and len(stored.escapes) == len(built.head.escapes)
            assert set(stored.escapes) == set(plain.head.escapes)
            with _site_reads(store) as reads:
                again = app.compare(repo.path, base, head, options, store=store)
            assert (again.base_source, again.head_source) == ("store", "store")
            assert _json(again) == expected
            assert any("CASE" in statement.upper() for statement, _ in reads)  # identical files read light
        assert expected["counts"]["new"] >= 1


class _Go(run._Go):
    """The real go runner, remembered: which builds ran, and whether each was taken over."""

    started: ClassVar[list[_Go]] = []

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        _Go.started.append(self)


class _Watched:
    """A store that notes, at each lookup and each read of a pair, whether a go was running for
    head (an early start not yet taken over); everything else is the real store's."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.running_at_lookup: list[bool] = []
        self.running_at_pair: list[bool] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def snapshot_status(self, *args: Any) -> Any:
        self.running_at_lookup.append(bool(run._EARLY))
        return self.inner.snapshot_status(*args)

    def find_pair(self, *args: Any) -> Any:
        self.running_at_pair.append(bool(run._EARLY))
        return self.inner.find_pair(*args)


def test_a_clean_checkout_of_head_is_built_while_the_store_is_asked(
    repo: GitRepo, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI job's checkout is head exactly: head's go starts before the store's first lookup
    (which imports SQLAlchemy on a new process) and the build takes that go over: one go, not two,
    and the comparison of a build without a store. When the store holds head too (a re-run), the
    early go is stopped and leaves nothing behind."""
    base = repo.commit({"go.mod": go_mod(), "p/p.go": P, "q/q.go": Q, "r/r.go": R}, "base")
    head = repo.commit({"q/q.go": Q.replace("make([]byte, 8)", "make([]byte, 9)") + "\n// end\n"}, "h")
    options = BuildOptions()
    (repo.path / "untracked.txt").write_text("x")  # not a clean checkout: no early start here
    expected = _json(app.compare(repo.path, base, head, options))
    (repo.path / "untracked.txt").unlink()
    monkeypatch.setattr(run, "_Go", _Go)
    monkeypatch.delenv("GITHUB_RUN_ATTEMPT", raising=False)  # a first attempt, wherever this runs
    _Go.started = []
    with Store.open(db_url) as real:
        real.record_snapshot(
            app.repository_name(repo.path),
            git.commit_info(repo.path, base),
            app.build_snapshot(repo.path, base, options),
        )
        assert len(_Go.started) == 1
        store = _Watched(real)
        first = app.compare(repo.path, base, head, options, store=store)
        assert (first.base_source, first.head_source) == ("store", "built")
        assert _json(first) == expected
        assert store.running_at_lookup[0] is True  # go was running when the store was first asked
        assert len(_Go.started) == 2 and not run._EARLY  # head's one go, taken over
        again = app.compare(repo.path, base, head, options, store=store)
        assert (again.base_source, again.head_source) == ("store", "store")
        assert _json(again) == expected
        assert len(_Go.started) == 3 and not run._EARLY  # started early, then stopped
        # ...as soon as the store said it holds head: reading the pair never competes with it
        # (the first run read no stored pair: head was split against the stored base)
        assert store.running_at_pair == [False]
        # a GitHub Actions job run again (attempt 2) starts no go before asking: head is stored
        monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
        third = app.compare(repo.path, base, head, options, store=store)
        assert _json(third) == expected and len(_Go.started) == 3
        assert store.running_at_lookup[-1] is False
        stopped = _Go.started[-1]
        assert stopped.proc.returncode is not None  # waited for: no go left running
        assert not Path(stopped._work.name).exists()
