"""Identity across commits, on real git repositories built with the real compiler.

Inserting lines, moving a function, renaming an unrelated function or renaming the file must
produce zero new and zero fixed escapes; a real change must produce exactly that change.
"""

from __future__ import annotations

from bot import app
from bot.gc.model import Cause, Kind
from bot.gc.run import BuildOptions
from tests.conftest import GitRepo, go_mod

ALLOC = [Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP]

BASE = """package p

import "fmt"

type T struct{ A int }

func Ret() *T {
	t := T{A: 1}
	return &t
}

func Twice() (*T, *T) {
	a := &T{}
	b := &T{}
	return a, b
}

func Unrelated(x int) int { return x * 2 }

func Say(n int) {
	fmt.Println(n)
}
"""


def _compare(repo: GitRepo, base: str, head: str) -> app.Comparison:
    return app.compare(repo.path, base, head, BuildOptions())


def test_inserted_lines_moved_and_renamed_functions_change_nothing(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE}, "base")
    # 30 lines at the top, Ret moved below Say, Unrelated renamed
    shifted = BASE.replace('import "fmt"\n', 'import "fmt"\n' + "// filler\n" * 30)
    ret = "func Ret() *T {\n\tt := T{A: 1}\n\treturn &t\n}\n"
    shifted = shifted.replace(ret, "") + "\n" + ret
    shifted = shifted.replace("func Unrelated(", "func RenamedHelper(")
    head = repo.commit({"p/p.go": shifted}, "shift, move, rename")
    comparison = _compare(repo, base, head)
    counts = comparison.result.counts(ALLOC)
    assert counts["new"] == 0 and counts["fixed"] == 0, comparison.result
    assert counts["unchanged"] == 4  # t, the two &T{}, and Say's boxed n
    assert comparison.base_source == "built"


def test_renamed_file_and_moved_to_other_file(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE}, "base")
    repo.mv("p/p.go", "p/renamed.go")
    head = repo.commit({}, "rename file")
    assert _compare(repo, base, head).result.counts(ALLOC)["new"] == 0
    # Say moves to its own file in the same package
    say = "func Say(n int) {\n\tfmt.Println(n)\n}\n"
    text = (repo.path / "p/renamed.go").read_text().replace(say, "")
    text = text.replace('import "fmt"\n', "")
    head2 = repo.commit({"p/renamed.go": text, "p/say.go": 'package p\n\nimport "fmt"\n\n' + say}, "move Say")
    result = _compare(repo, base, head2).result
    assert result.counts(ALLOC) == {"new": 0, "fixed": 0, "unchanged": 4}


def test_new_and_fixed_escapes_are_found(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE}, "base")
    changed = BASE.replace(
        "func Say(n int) {\n\tfmt.Println(n)\n}\n",
        "func Say(n int) int {\n\treturn n\n}\n\nvar _ = fmt.Sprint\n",
    )
    changed += "\nvar G *T\n\nfunc Keep() {\n\tg := T{}\n\tG = &g\n}\n"
    head = repo.commit({"p/p.go": "// moved down\n\n" + changed}, "add global, drop print")
    result = _compare(repo, base, head).result
    new = [e for e in result.new if e.kind.allocates]
    fixed = [e for e in result.fixed if e.kind.allocates]
    assert [(e.function, e.expression, e.cause) for e in new] == [("Keep", "g", Cause.GLOBAL)]
    assert [(e.function, e.expression, e.cause) for e in fixed] == [("Say", "n", Cause.INTERFACE_CONVERSION)]


def test_second_identical_escape_in_a_function_is_new(repo: GitRepo) -> None:
    """Two identical `&T{}` in one function: adding a third is one new, whatever the lines."""
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE}, "base")
    three = BASE.replace("\ta := &T{}\n", "\tc := &T{}\n\t_ = c.A\n\ta := &T{}\n")
    three = three.replace("return a, b", "sink = c\n\treturn a, b")
    three += "\nvar sink *T\n"
    head = repo.commit({"p/p.go": three}, "third")
    result = _compare(repo, base, head).result
    new = [e for e in result.new if e.kind.allocates]
    assert [(e.function, e.expression, e.line) for e in new] == [("Twice", "&T{}", 13)]
    assert result.counts(ALLOC)["fixed"] == 0


def test_base_and_head_are_built_in_one_worktree_removed_afterwards(repo: GitRepo) -> None:
    """Head is checked out over base (git writes only the change), then the worktree goes."""
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE}, "base")
    head = repo.commit({"p/p.go": BASE + "\nfunc New() *T { return &T{} }\n"}, "head")
    seen: list[str] = []

    def progress(message: str) -> None:
        if message.startswith("building "):  # the revision is checked out by then
            listed = repo.git("worktree", "list", "--porcelain").split("\n\n")
            seen.append("|".join(w.split("\n")[0] for w in listed[1:] if w.strip()))

    comparison = app.compare(repo.path, base, head, BuildOptions(), progress=progress)
    assert [e.function for e in comparison.result.new if e.kind in ALLOC] == ["New"]
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0].startswith("worktree ")
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 1
