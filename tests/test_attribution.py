"""Attribution of new escapes to the change that caused them: the real compiler on modules the
tests write, base and head committed in real git, `git diff` read as escape-bot reads it."""

from __future__ import annotations

from pathlib import Path

from bot import app, git
from bot.attribution import Attribution, ChangedLines, Reason, attribute
from bot.gc.model import Cause, Escape, Kind, Snapshot, Toolchain
from bot.gc.run import BuildOptions
from tests.conftest import GitRepo, go_mod

CALLER = """package p

func F() int {
	x := 1
	sink(&x)
	return x
}

func G() int {
	y := 2
	keep(&y)
	return y
}

func H() *int {
	z := 3
	q := &z
	_ = q
	return nil
}
"""

UTIL_BASE = """package p

var global *int

//go:noinline
func sink(p *int) {
	_ = p
}

func keep(p *int) {
	_ = p
}
"""

UTIL_HEAD = """package p

var global *int

//go:noinline
func sink(p *int) {
	global = p
}

func keep(p *int) {
	global = p
}
"""


def _compare(repo: GitRepo, base: str, head: str) -> dict[tuple[str, str], Attribution]:
    comparison = app.compare(repo.path, base, head, BuildOptions())
    found = app.attribute_new(repo.path, comparison)
    assert set(found) == {e for e in comparison.result.new if e.kind.allocates}
    return {(e.function, e.expression): a for e, a in found.items()}


def test_callee_that_now_leaks_is_blamed_for_the_callers_escape(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": CALLER, "p/util.go": UTIL_BASE}, "base")
    head = repo.commit({"p/util.go": UTIL_HEAD}, "sink and keep store their parameter")
    found = _compare(repo, base, head)
    # p.go did not change: x and y move to the heap because their callees now leak them
    assert found[("F", "x")] == Attribution(
        Reason.CALLEE_NOW_LEAKS, "p/util.go", 7, "sink", "leaking param: p"
    )
    # keep is inlined into G: its steps are printed at the call site, the call names the callee
    assert found[("G", "y")] == Attribution(
        Reason.CALLEE_NOW_LEAKS, "p/util.go", 11, "keep", "leaking param: p"
    )
    assert set(found) == {("F", "x"), ("G", "y")}


def test_a_changed_step_of_the_flow_is_blamed(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": CALLER, "p/util.go": UTIL_BASE}, "base")
    head = repo.commit({"p/p.go": CALLER.replace("\treturn nil\n}\n", "\treturn q\n}\n")}, "H returns q")
    found = _compare(repo, base, head)
    # z's own line (16) is untouched; the flow ends at `return q`, the changed line 19
    assert found == {("H", "z"): Attribution(Reason.FLOW_STEP_CHANGED, "p/p.go", 19, "H")}


def test_an_escape_on_a_changed_line_is_its_own_cause(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": CALLER, "p/util.go": UTIL_BASE}, "base")
    added = "\nfunc New() *[4]int {\n\treturn &[4]int{}\n}\n"
    head = repo.commit({"p/p.go": CALLER + added}, "New")
    found = _compare(repo, base, head)
    assert found == {("New", "&[4]int{}"): Attribution(Reason.CHANGED_LINE, "p/p.go", 23, "New")}


def test_changed_lines_from_git(repo: GitRepo) -> None:
    base = repo.commit(
        {"go.mod": go_mod(), "a.go": "package a\n\n// 3\n// 4\n// 5\n", "b.go": "x\ny\n"}, "base"
    )
    repo.mv("b.go", "c.go")
    head = repo.commit({"a.go": "package a\n\n// 3\n// five\n// 6\n"}, "edit, rename")
    assert git.changed_lines(repo.path, base, head) == {"a.go": frozenset({4, 5})}
    gone = repo.commit({"a.go": "package a\n\n// 3\n"}, "delete the tail")
    # lines 4-5 removed at the end: the deletion stands before head line 4
    assert git.changed_lines(repo.path, head, gone) == {"a.go": frozenset({4})}


def _escape(function: str, line: int) -> Escape:
    return Escape(
        "m/p", "p/p.go", line, 2, function, Kind.MOVED_TO_HEAP, "x", "moved to heap: x", Cause.UNKNOWN
    )


def test_toolchain_and_unknown_when_nothing_of_the_change_explains_it() -> None:
    escape = _escape("F", 4)
    old, new = Toolchain("go1.26.6", "linux", "amd64"), Toolchain("go1.27.3", "linux", "amd64")
    base = Snapshot("b", "b", old, ())
    head = Snapshot("h", "h", new, (escape,))
    nothing = ChangedLines({"p/other.go": frozenset({1})})
    assert attribute([escape], base, head, nothing, source=lambda _f: None) == {
        escape: Attribution(Reason.TOOLCHAIN)
    }
    same = Snapshot("b", "b", new, ())
    assert attribute([escape], same, head, nothing, source=lambda _f: None) == {
        escape: Attribution(Reason.UNKNOWN)
    }


def test_leaking_params_are_not_attributed() -> None:
    leak = Escape("m/p", "p/p.go", 3, 8, "F", Kind.LEAKING_PARAM, "p", "leaking param: p", Cause.UNKNOWN)
    snap = Snapshot("h", "h", Toolchain("go1.27.3", "linux", "amd64"), (leak,))
    assert attribute([leak], snap, snap, ChangedLines(), source=lambda _f: None) == {}


def test_files_in_explanations_are_mapped_to_repository_paths(tmp_path: Path) -> None:
    """-trimpath names (`example.com/m/p/p.go`) in steps are compared with repository paths."""
    from bot.gc.model import Flow, Position, Step

    flow = Flow("{heap}", "&x", (Step("return q", "return", Position("example.com/m/p/p.go", 9, 2)),))
    escape = Escape(
        "example.com/m/p",
        "p/p.go",
        4,
        2,
        "F",
        Kind.MOVED_TO_HEAP,
        "x",
        "moved to heap: x",
        Cause.RETURNED,
        (flow,),
    )
    snap = Snapshot("h", "h", Toolchain("go1.27.3", "linux", "amd64"), (escape,))
    changes = ChangedLines({"p/p.go": frozenset({9})})
    found = attribute(
        [escape],
        snap,
        snap,
        changes,
        source=lambda _f: "package p\n\nfunc F() *int {\n\tx := 1\n\tq := &x\n\t_ = q\n\n\n\treturn q\n}\n",
        files=lambda name: name.removeprefix("example.com/m/"),
    )
    assert found == {escape: Attribution(Reason.FLOW_STEP_CHANGED, "p/p.go", 9, "F")}


def test_an_inlined_helper_that_now_allocates_is_blamed(repo: GitRepo) -> None:
    helper = "package p\n\nfunc mk(n int) []byte {\n\treturn make([]byte, 8)\n}\n"
    use = "package p\n\nvar Sink []byte\n\nfunc Use() {\n\tSink = mk(1)\n}\n"
    base = repo.commit({"go.mod": go_mod(), "p/mk.go": helper, "p/use.go": use}, "base")
    head = repo.commit({"p/mk.go": helper.replace("make([]byte, 8)", "make([]byte, n)")}, "mk sizes by n")
    found = _compare(repo, base, head)
    # Use's line did not change: the inlined body of mk did (line 4 of mk.go); the compiler
    # prints the inlined copy with the argument folded in
    assert found[("Use", "make([]byte, 1)")] == Attribution(Reason.INLINING_CHANGED, "p/mk.go", 4, "mk")


def test_the_origin_of_an_inlined_copy_names_the_changed_helper(repo: GitRepo) -> None:
    helper = "package p\n\nfunc mk() []byte {\n\treturn make([]byte, 64)\n}\n"
    use = "package p\n\nvar Sink []byte\n\nfunc Use() {\n\tSink = mk()\n}\n"
    base = repo.commit({"go.mod": go_mod(), "p/mk.go": helper, "p/use.go": use}, "base")
    head = repo.commit({"p/mk.go": helper.replace("64", "128")}, "a bigger buffer")
    comparison = app.compare(repo.path, base, head, BuildOptions())
    (copy,) = [e for e in comparison.result.new if e.function == "Use"]
    assert (copy.origin, copy.origin_at) == ("mk", "p/mk.go:4")
    assert app.attribute_new(repo.path, comparison)[copy] == Attribution(
        Reason.INLINING_CHANGED, "p/mk.go", 4, "mk"
    )


def test_changed_lines_and_positions_read_unusual_file_names(repo: GitRepo) -> None:
    """One diff reader (bot/patch.py) for both: a non-ASCII name, a name with a space and one git
    quotes even with core.quotePath=false (a backslash) come back as the files' real names, the
    same the compiler prints and the escapes carry."""
    from bot.github.positions import map_line, positions

    names = ("q/π x.go", "q/a b.go", "q/back\\slash.go")
    base = repo.commit({"go.mod": go_mod(), **{n: "package q\n\n// 3\n// 4\n" for n in names}}, "base")
    head = repo.commit({n: "package q\n\n// 3\n// four\n// 5\n" for n in names}, "edit")
    assert git.changed_lines(repo.path, base, head) == {n: frozenset({4, 5}) for n in names}
    where = positions(repo.path, head, base, names)
    assert set(where) == set(names)
    assert all(map_line(where[n], 3) == 3 and map_line(where[n], 4) is None for n in names)
