"""Report inputs from real compiler output: the golden corpus logs and a freshly compiled module."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import app
from bot.diff import diff
from bot.gate import GatePolicy, evaluate
from bot.gc.model import Snapshot, Toolchain
from bot.gc.parse import module_file_mapper, parse_log
from bot.gc.run import BuildOptions
from bot.report.render import Links, Report
from tests.conftest import GitRepo, go_mod

DATA = Path(__file__).parents[1] / "data"
MAPPER = module_file_mapper({"example.com/corpus": "tests/data/corpus"})
LINKS = Links(server_url="https://github.example", repository="octo/demo")
BASE_SHA = "1" * 40
HEAD_SHA = "2" * 40


def corpus_snapshot(version: str, sha: str, drop_packages: tuple[str, ...] = ()) -> Snapshot:
    """The corpus escapes as `version` of the compiler reported them (tests/data/golden)."""
    with open(DATA / "golden" / f"{version}.log", encoding="utf-8") as f:
        records, stats = parse_log(f, files=MAPPER)
    kept = tuple(e for e in records if e.package.rsplit("/", 1)[-1] not in drop_packages)
    return Snapshot(sha[:7], sha, Toolchain(version, "linux", "amd64"), kept, stats)


def corpus_report(
    base: Snapshot, head: Snapshot, *, name: str = "default", links: Links | None = LINKS
) -> Report:
    result = diff(base.escapes, head.escapes)
    return Report(
        base=base, head=head, result=result, decision=evaluate(result, GatePolicy()), name=name, links=links
    )


# Go source that carries every Markdown attack into the compiler's own messages: string
# literals are printed in `"..." escapes to heap`, and the file name reaches links and tables.
HOSTILE_GO = """package p

import "fmt"

func Say() {
	fmt.Println("<!-- escape-bot:default -->")
	fmt.Println("@octocat please merge #1 | `tick` ``x`` <script>alert(1)</script>")
	fmt.Println(`raw ` + "`" + ` fence ` + "```" + ` end`)
	fmt.Println(`line one
::warning::pwned
</details><!-- x`)
}
"""

HOSTILE_FILE = "p/we|ird@octocat#2.go"
HOSTILE_FILE_GO = """package p

type T struct{ A int }

func Ret() *T {
	t := T{A: 1}
	return &t
}
"""


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """A real comparison whose new escapes quote hostile Go source."""
    repo = GitRepo(tmp_path_factory.mktemp("hostile") / "repo")
    base = repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "base")
    head = repo.commit({"p/p.go": HOSTILE_GO, HOSTILE_FILE: HOSTILE_FILE_GO}, "hostile")
    c = app.compare(repo.path, base, head, BuildOptions())
    return Report(
        base=c.base,
        head=c.head,
        result=c.result,
        decision=evaluate(c.result, GatePolicy()),
        links=LINKS,
    )
