"""Reuse of base's parsed package blocks while parsing head (bot/gc/reuse.py): on a real module
built with the real compiler at two real git commits, head's records and counters with reuse are
exactly those of a build without it, and unchanged packages were taken from base."""

from __future__ import annotations

from pathlib import Path

from bot import app
from bot.gc.model import BlockKey, Cause, Escape, Kind, Snapshot
from bot.gc.reuse import BlockCache, CachedBlock
from bot.gc.run import BuildOptions
from tests.conftest import GitRepo, go_mod

LIB = """package {name}

type T struct{{ A int }}

func Ret() *T {{
	t := T{{A: 1}} // {note}
	return &t
}}

func Keep(n int) any {{ return n }}
"""

USER = """package user

import "example.com/m/changed"

func Use() *changed.T {
	x := changed.Ret()
	y := *x
	return &y
}
"""

CHANGED_HEAD = (
    LIB.format(name="changed", note="base")
    + """
var G []*int

func More() {
	v := 3
	G = append(G, &v)
}
"""
)


@app.one_worktree
def _both(repo: Path, base: str, head: str, cache: BlockCache | None) -> tuple[Snapshot, Snapshot]:
    """Base then head in one worktree, as `compare` builds them."""
    options = BuildOptions(include_tests=True)
    return (
        app.build_snapshot(repo, base, options, reuse=cache),
        app.build_snapshot(repo, head, options, reuse=cache),
    )


def test_head_records_with_reuse_are_those_without(repo: GitRepo) -> None:
    files = {
        "go.mod": go_mod(),
        "same/same.go": LIB.format(name="same", note="base"),
        "same/same_test.go": 'package same\n\nimport "testing"\n\nfunc TestR(t *testing.T) { _ = Ret() }\n',
        "changed/changed.go": LIB.format(name="changed", note="base"),
        "comment/comment.go": LIB.format(name="comment", note="base"),
        "user/user.go": USER,
    }
    base = repo.commit(files, "base")
    # `changed` gets a new escape; `comment` only a comment on an escape's line: the compiler
    # prints the same block, but the record's line text differs, so the block must not be reused
    head = repo.commit(
        {"changed/changed.go": CHANGED_HEAD, "comment/comment.go": LIB.format(name="comment", note="head")},
        "head",
    )
    cache = BlockCache()
    with_reuse = _both(repo.path, base, head, cache)
    without = _both(repo.path, base, head, None)

    assert with_reuse[0].escapes == without[0].escapes
    assert with_reuse[1].escapes == without[1].escapes
    assert with_reuse[1].stats == without[1].stats
    assert cache.reused >= 1  # `same` at least came from base
    texts = {e.line_text for e in with_reuse[1].escapes if e.package == "example.com/m/comment"}
    assert "t := T{A: 1} // head" in texts
    assert any(e.function == "More" for e in with_reuse[1].escapes)
    assert not any(e.function == "More" for e in with_reuse[0].escapes)


def test_compare_reports_what_separate_builds_do(repo: GitRepo) -> None:
    base = repo.commit(
        {
            "go.mod": go_mod(),
            "same/same.go": LIB.format(name="same", note="base"),
            "changed/changed.go": LIB.format(name="changed", note="base"),
            "user/user.go": USER,
        },
        "base",
    )
    head = repo.commit({"changed/changed.go": CHANGED_HEAD}, "head")
    comparison = app.compare(repo.path, base, head, BuildOptions())
    plain_base = app.build_snapshot(repo.path, base, BuildOptions())
    plain_head = app.build_snapshot(repo.path, head, BuildOptions())
    assert comparison.base.escapes == plain_base.escapes
    assert comparison.head.escapes == plain_head.escapes
    assert comparison.head.stats == plain_head.stats


def test_pgo_variants_with_reuse_are_those_without(repo: GitRepo) -> None:
    """`p` is compiled twice (`# p` and `# p [cmd/run]` with cmd/run's default.pgo): the later
    variant's records depend on the earlier one's, whether taken from base or parsed."""
    from tests.test_profile import LIB as HOT_LIB
    from tests.test_profile import MAIN, write_cpu_profile

    files = {"go.mod": go_mod(), "p/p.go": HOT_LIB, "cmd/run/main.go": MAIN}
    files["other/other.go"] = LIB.format(name="other", note="base")
    repo.commit(files, "sources")
    write_cpu_profile(repo.path)
    base = repo.commit({}, "profile")
    head = repo.commit({"other/other.go": CHANGED_HEAD.replace("package changed", "package other")}, "head")
    cache = BlockCache()
    with_reuse = _both(repo.path, base, head, cache)
    without = _both(repo.path, base, head, None)
    assert with_reuse[1].escapes == without[1].escapes
    assert with_reuse[1].stats == without[1].stats
    assert cache.reused >= 1
    assert any(e.package == "example.com/m/p" for e in with_reuse[1].escapes)


def test_keys_name_only_packages_that_are_one_block() -> None:
    """A package whose records are not exactly one cached block (filtered, or compiled twice) has
    no key; the others have theirs, with the block's counters."""

    def escape(package: str, line: int) -> Escape:
        return Escape(
            package=package,
            file=f"{package}/f.go",
            line=line,
            column=2,
            function="F",
            kind=Kind.MOVED_TO_HEAP,
            expression="x",
            message="moved to heap: x",
            cause=Cause.RETURNED,
        )

    a1, a2, b1, b2 = escape("a", 1), escape("a", 2), escape("b", 1), escape("b", 2)
    cache = BlockCache()
    cache.blocks[b"\x01" * 32] = CachedBlock("a", (a1, a2), (("a/f.go", b"\x02"),), 10, 1, 0)
    cache.blocks[b"\x03" * 32] = CachedBlock("b", (b1, b2), (), 7, 0, 0)
    keys = cache.keys_for([a2, a1, b1])  # b filtered after the parse
    assert keys == (BlockKey("a", "01" * 32, (("a/f.go", "02"),), 10, 1, 0, 2),)
    again = BlockCache()
    again.add_stored(keys[0], (a1, a2))
    assert again.blocks == {b"\x01" * 32: CachedBlock("a", (a1, a2), (("a/f.go", b"\x02"),), 10, 1, 0)}
