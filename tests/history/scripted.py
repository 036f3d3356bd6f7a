"""A scripted git history of a small Go module, with the escapes each commit has by construction.

First-parent history of main (c5 does not compile; the feature branch's two commits reach main
through the merge commit, so only the merge is on the first-parent path):

    c1  a/a.go: Ret returns &t                          returned 1
    c2  b/b.go: Glob stores &x in a global; Keep leaks  + global 1 (+ a leaking param)
    c3  a/a.go: a function and comments above Ret       (lines shift, nothing changes)
    c4  a/a.go: Counter returns a closure               + closure-capture 1, + returned 1
    c5  b/b.go: syntax error                            (build fails)
    c6  b/b.go: fixed, and Send sends new(int)          + channel-send 1
    c7  git mv a/a.go a/ret.go, comment block on top,   (rename, shift and a renamed function:
        Counter renamed Count                            nothing changes)
    c8  b/b.go: Glob removed                            - global 1
    c9  a/ret.go: New returns &T{...} at the top (#42)  + returned 1
    M   Merge pull request #7 (feature: Big's array)    + too-large 1
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.conftest import GitRepo, go_mod

MODULE = "example.com/m"

A1 = """package a

type T struct{ A int }

func Ret() *T {
	t := T{A: 1}
	return &t
}
"""

A3 = """package a

// T is a thing.
type T struct{ A int }

// Add does not allocate.
func Add(x, y int) int {
	return x + y
}

// Ret returns a new T.
func Ret() *T {
	t := T{A: 1}
	return &t
}
"""

COUNTER = """
// Counter counts.
func Counter() func() int {
	n := 0
	return func() int {
		n++
		return n
	}
}
"""

A4 = A3 + COUNTER

# renamed file, lines shifted and Counter renamed Count: only git's rename detection tells that
# Count's escapes are Counter's (bot/diff.py's fourth pass: same file, kind, expression and line)
A7 = A4.replace(
    "package a\n", "// Package a has T.\n//\n// It allocates on purpose.\npackage a\n", 1
).replace("// Counter counts.\nfunc Counter()", "// Count counts.\nfunc Count()", 1)

NEW = """
// New makes a T.
func New() *T {
	return &T{A: 2}
}
"""

A9 = A7.replace(
    "// T is a thing.\ntype T struct{ A int }\n", "// T is a thing.\ntype T struct{ A int }\n" + NEW, 1
)

B2 = """package b

var G *int

func Glob() {
	x := 2
	G = &x
}

func Keep(p *int) {
	G = p
}
"""

B5 = B2.replace("func Glob() {", "func Glob( {", 1)

B6 = (
    B2
    + """
func Send(ch chan *int) {
	ch <- new(int)
}
"""
)

B8 = B6.replace("func Glob() {\n\tx := 2\n\tG = &x\n}\n\n", "", 1)

BIG = """
func Big() int {
	var buf [1 << 20]byte
	buf[0] = 1
	return len(buf)
}
"""


@dataclass
class Scripted:
    """The repository and what each first-parent commit has."""

    repo: GitRepo
    shas: dict[str, str] = field(default_factory=dict)  # label -> sha
    side: list[str] = field(default_factory=list)  # the feature branch's commits (not first-parent)

    @property
    def first_parent(self) -> list[str]:
        """Labels of main's first-parent commits, oldest first."""
        return ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "M"]


# Heap escapes by cause at each first-parent commit that builds (c5 does not).
BY_CAUSE: dict[str, dict[str, int]] = {
    "c1": {"returned": 1},
    "c2": {"returned": 1, "global": 1},
    "c3": {"returned": 1, "global": 1},
    "c4": {"returned": 2, "global": 1, "closure-capture": 1},
    "c6": {"returned": 2, "global": 1, "closure-capture": 1, "channel-send": 1},
    "c7": {"returned": 2, "global": 1, "closure-capture": 1, "channel-send": 1},
    "c8": {"returned": 2, "closure-capture": 1, "channel-send": 1},
    "c9": {"returned": 3, "closure-capture": 1, "channel-send": 1},
    "M": {"returned": 3, "closure-capture": 1, "channel-send": 1, "too-large": 1},
}
A, B = f"{MODULE}/a", f"{MODULE}/b"
BY_PACKAGE: dict[str, dict[str, int]] = {
    "c1": {A: 1},
    "c2": {A: 1, B: 1},
    "c3": {A: 1, B: 1},
    "c4": {A: 3, B: 1},
    "c6": {A: 3, B: 2},
    "c7": {A: 3, B: 2},
    "c8": {A: 3, B: 1},
    "c9": {A: 4, B: 1},
    "M": {A: 4, B: 2},
}
LEAKS_FROM = "c2"  # Keep's `leaking param: p`, every commit from c2 on
BUILT = [label for label in BY_CAUSE]  # the first-parent commits that build, oldest first
FAILED = ["c5"]

# blame at M: (file, function, expression) -> (origin label, exact)
BLAME: dict[tuple[str, str, str], tuple[str, bool]] = {
    ("a/ret.go", "Ret", "t"): ("c1", True),
    ("a/ret.go", "Count", "n"): ("c4", True),
    ("a/ret.go", "Count", "func literal"): ("c4", True),
    # c5 did not build: the send may have come in c5 or c6
    ("b/b.go", "Send", "new(int)"): ("c6", False),
    ("a/ret.go", "New", "&T{...}"): ("c9", True),
    # written on the feature branch, on main's first-parent history since the merge
    ("b/b.go", "Big", "buf"): ("M", True),
}


def build(repo: GitRepo) -> Scripted:
    """Commit the history into an empty repository."""
    s = Scripted(repo)
    s.shas["c1"] = repo.commit({"go.mod": go_mod(MODULE), "a/a.go": A1}, "a: Ret returns a pointer")
    s.shas["c2"] = repo.commit({"b/b.go": B2}, "b: a global pointer")
    s.shas["c3"] = repo.commit({"a/a.go": A3}, "a: document T, add Add")
    s.shas["c4"] = repo.commit({"a/a.go": A4}, "a: Counter")
    s.shas["c5"] = repo.commit({"b/b.go": B5}, "b: work in progress")
    s.shas["c6"] = repo.commit({"b/b.go": B6}, "b: fix the build, Send")
    repo.mv("a/a.go", "a/ret.go")
    s.shas["c7"] = repo.commit({"a/ret.go": A7}, "a: rename a.go to ret.go, Counter to Count")
    s.shas["c8"] = repo.commit({"b/b.go": B8}, "b: drop Glob")
    s.shas["c9"] = repo.commit({"a/ret.go": A9}, "a: New <script>alert(1)</script> (#42)")
    repo.git("checkout", "--quiet", "-b", "feature")
    s.side.append(repo.commit({"b/b.go": B8 + BIG}, "b: Big"))
    s.side.append(repo.commit({"b/big.txt": "notes\n"}, "b: notes"))
    repo.git("checkout", "--quiet", "main")
    repo.git("merge", "--quiet", "--no-ff", "-m", "Merge pull request #7 from acme/feature", "feature")
    s.shas["M"] = repo.git("rev-parse", "HEAD").strip()
    return s
