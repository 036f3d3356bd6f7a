"""Modules that did not build, in every report: the gate's reason, the comment, JSON, text.

The error lines come from the real compiler on a module whose source carries Markdown attacks
(the compiler quotes the offending literal in its error), so escaping is tested on what go prints.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from bot.diff import diff
from bot.failures import failed_modules, module_of, without_modules
from bot.gate import GatePolicy, Verdict, evaluate
from bot.gc.model import ModuleFailure, Snapshot, Toolchain
from bot.gc.run import BuildOptions, collect
from bot.report.render import Flavour, Report, render
from bot.report.serialize import comparison_dict
from bot.report.text import comparison_text
from tests.conftest import go_mod, write_files
from tests.report.conftest import corpus_snapshot

HOSTILE = 'package p\n\nvar X int = "<!-- escape-bot:default --> @octocat ``` <script>alert(1)</script>"\n'


@pytest.fixture(scope="module")
def failure(tmp_path_factory: pytest.TempPathFactory) -> ModuleFailure:
    root = tmp_path_factory.mktemp("hostile")
    write_files(root, {"go.mod": go_mod(), "p/p.go": "package p\n", "bad/go.mod": go_mod("example.com/bad"),
                       "bad/b.go": HOSTILE})  # fmt: skip
    built = collect(root, BuildOptions())
    [failed] = built.failed
    return failed


def test_the_error_line_is_the_compilers(failure: ModuleFailure) -> None:
    assert failure.module == "example.com/bad" and failure.directory == "bad"
    assert failure.reason.startswith('bad/b.go:3:13: cannot use "<!-- escape-bot:default --> @octocat ```')


def _report(base_failed: tuple[ModuleFailure, ...], head_failed: tuple[ModuleFailure, ...]) -> Report:
    base = replace(corpus_snapshot("go1.27.3", "1" * 40), failed_modules=base_failed)
    head = replace(corpus_snapshot("go1.27.3", "2" * 40), failed_modules=head_failed)
    result = replace(diff(base.escapes, head.escapes), failed_modules=failed_modules(base, head))
    return Report(base=base, head=head, result=result, decision=evaluate(result, GatePolicy()))


@pytest.mark.parametrize("flavour", [Flavour.COMMENT, Flavour.CHECK, Flavour.SUMMARY])
def test_the_comment_and_check_summary_quote_it_safely(failure: ModuleFailure, flavour: Flavour) -> None:
    text = render(_report((), (failure,)), flavour)
    assert "> [!CAUTION]\n> 1 module did not build: its escapes are not compared." in text
    assert "builds at base 111111111111 but not at head 222222222222: the change broke it" in text
    tokens = MarkdownIt("commonmark").parse(text)
    fences = [t.content for t in tokens if t.type == "fence"]
    assert any("cannot use" in f and "<script>" in f for f in fences)  # inside a code block, whole
    assert text.count("<!--") == (1 if flavour is Flavour.COMMENT else 0)  # only our marker
    assert all("<script>" not in t.content for t in tokens if t.type in ("html_block", "inline"))


def test_sides_decide_the_gate(failure: ModuleFailure) -> None:
    both = _report((failure,), (failure,))
    assert both.decision.verdict is Verdict.PASS and both.result.failed_modules[0].side == "both"
    assert "the environment, not the change" in render(both, Flavour.PLAIN, limit=None)
    broke = _report((), (failure,))
    assert broke.decision.verdict is Verdict.FAIL
    assert (
        broke.decision.reason
        == f"module example.com/bad (bad/) builds at base but not at head: {failure.reason}"
    )
    mended = _report((failure,), ())
    assert mended.decision.verdict is Verdict.PASS and mended.result.failed_modules[0].side == "base"
    data = comparison_dict(broke.base, broke.head, broke.result)
    assert data["failed_modules"] == [
        {"module": "example.com/bad", "directory": "bad", "side": "head", "errors": list(failure.errors)}
    ]
    assert "the change broke it; not compared:" in comparison_text(broke.base, broke.head, broke.result)


def test_escapes_of_a_failed_module_are_compared_on_neither_side() -> None:
    base = corpus_snapshot("go1.27.3", "1" * 40)
    dirs = ["", "tests/data/corpus", "tests/data/corpus/basic"]
    assert module_of("tests/data/corpus/basic/basic.go", dirs) == "tests/data/corpus/basic"
    assert module_of("tests/data/corpus/flows/f.go", dirs) == "tests/data/corpus"
    assert module_of("main.go", dirs) == ""
    kept = without_modules(base.escapes, ["tests/data/corpus"], dirs)
    assert kept and {e.package for e in kept} == {"example.com/corpus/basic"}
    assert without_modules(base.escapes, [], dirs) == base.escapes
    empty = Snapshot("x", "3" * 40, Toolchain("go1.27.3", "linux", "amd64"), ())
    assert failed_modules(empty, empty) == ()


def test_collect_reports_them_too(failure: ModuleFailure, tmp_path: Path) -> None:
    from bot.report.serialize import snapshot_dict
    from bot.report.text import snapshot_text

    s = Snapshot("", "", Toolchain("go1.27.3", "linux", "amd64"), (), failed_modules=(failure,))
    assert snapshot_dict(s)["failed_modules"] == [
        {"module": "example.com/bad", "directory": "bad", "errors": list(failure.errors)}
    ]
    assert "module example.com/bad (bad/) did not build (its escapes are missing):" in snapshot_text(s)
