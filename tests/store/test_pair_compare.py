"""`app.compare` with a store on SQLite and PostgreSQL and the real compiler: when the store holds
the base (a pull request's first run) or both sides (a check run again), the files are compared by
content digest, and the comparison is the one built without a store."""

from __future__ import annotations

from typing import Any

from bot import app
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
            expected = _json(app.compare(repo.path, base, head, options))
            # `first`: neither side stored (both built); `second`: the base stored, the head built
            with _site_reads(store) as reads:
                built = app.compare(repo.path, base, head, options, store=store)
            assert (built.base_source, built.head_source) == ("built" if head == first else "store", "built")
            assert _json(built) == expected
            # the stored base and the recorded head compared by file: identical files read light
            assert any("CASE" in statement.upper() for statement, _ in reads) == (head == second)
            with _site_reads(store) as reads:
                again = app.compare(repo.path, base, head, options, store=store)
            assert (again.base_source, again.head_source) == ("store", "store")
            assert _json(again) == expected
            assert any("CASE" in statement.upper() for statement, _ in reads)  # identical files read light
        assert expected["counts"]["new"] >= 1
