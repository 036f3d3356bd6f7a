"""Standard-library code compiled in the repository's package is never shown as a repository file.

Under `-trimpath` the compiler prints standard-library positions by import path
(`net/http/server.go`), which reads like a file of the repository. A closure of an inlined
standard-library function (`http.StripPrefix`'s handler) is reported at the repository call site
that inlined it; a generic body instantiated in the package (`slices.Concat`) stays at its
`$GOROOT/` file, unlinked. Real compiler, real git, exact lists.
"""

from __future__ import annotations

from bot import app
from bot.diff import Counting
from bot.gc.model import Escape
from bot.gc.run import BuildOptions
from bot.report.render import Links
from bot.report.text import comparison_text, snapshot_text
from tests.conftest import GitRepo

GO_MOD = "module example.com/m\n\ngo 1.22\n"

STRIP = """package p

import "net/http"

func Strip(prefix string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.StripPrefix(prefix, next)
	}
}
"""

CAT = """package p

import "slices"

type Mws []func()

func Cat(a Mws, b []func()) []func() {
	return slices.Concat(a, b)
}
"""


def _compare(repo: GitRepo, base: str, head: str) -> app.Comparison:
    return app.compare(repo.path, base, head, BuildOptions(), counting=Counting())


def _heap(records: tuple[Escape, ...]) -> list[tuple[str, str, str]]:
    return [(e.file, e.function, e.expression) for e in records if e.kind.allocates]


def test_standard_library_code_is_at_the_call_site_or_marked_goroot_and_stable(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": GO_MOD, "p/strip.go": STRIP, "p/cat.go": CAT}, "base")
    # a refactor that renumbers the compiler's closures: once a `#hash#` changed, now nothing
    head = repo.commit(
        {
            "p/strip.go": STRIP.replace(
                "func Strip(", "func Other() func() int {\n\treturn func() int { return 1 }\n}\n\nfunc Strip("
            ),
            "p/cat.go": CAT.replace("type Mws", "// Mws are middlewares.\ntype Mws"),
        },
        "an unrelated closure above, a comment",
    )
    c = _compare(repo, base, head)
    assert _heap(c.result.new) == [("p/strip.go", "Other", "func literal")]  # the real one
    assert _heap(c.result.fixed) == []

    heap = [e for e in c.head.escapes if e.kind.allocates]
    # no record names a standard-library file as if it were the repository's
    assert not [e.file for e in c.head.escapes if e.file.startswith(("net/", "slices/"))]
    inlined = [e for e in heap if e.origin == "http.StripPrefix"]
    assert [(e.file, e.function, e.expression, e.line) for e in inlined] == [
        ("p/strip.go", "Strip.func1", "new(http.Request)", 11),
        ("p/strip.go", "Strip.func1", "new(url.URL)", 11),
    ]
    assert all(e.origin_at.startswith("$GOROOT/net/http/server.go:") for e in inlined)
    goroot = {(e.file, e.function) for e in heap if e.file.startswith("$GOROOT/")}
    assert goroot == {
        ("$GOROOT/slices/slices.go", "slices.Concat"),
        ("$GOROOT/slices/slices.go", "slices.Grow"),
    }

    # shown as the distribution's file, never linked into the repository
    assert "\n$GOROOT/slices/slices.go:" in "\n" + snapshot_text(c.head)
    links = Links(server_url="https://github.example", repository="o/r")
    (concat, *_) = [e for e in heap if e.function == "slices.Concat"]
    assert links.blob(c.head.commit, concat.file, concat.line) is None
    assert links.blob(c.head.commit, inlined[0].file, 11) is not None
    line = [ln for ln in snapshot_text(c.head).splitlines() if "new(url.URL)" in ln]
    url = inlined[1]
    assert line == [
        f"p/strip.go:11:{url.column}: new(url.URL) escapes to heap [{url.cause.value}] in Strip.func1"
        f" (via inlined http.StripPrefix, {url.origin_at})"
    ]
    assert "1 new heap escape, 0 fixed" in comparison_text(c.base, c.head, c.result)
