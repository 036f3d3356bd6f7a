"""The Markdown report: golden files from real compiler logs, the size limit, the template guards.

Golden files are in tests/report/golden/; regenerate with ESCAPE_BOT_REGOLD=1 and review the diff.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from bot.diff import DiffResult
from bot.gate import GatePolicy, evaluate
from bot.report.markdown import comparison_markdown
from bot.report.render import (
    CHECK_SUMMARY_LIMIT,
    COMMENT_LIMIT,
    MAX_CONSTANT_ROWS,
    Flavour,
    Limit,
    Report,
    UnsafeOutputError,
    environment,
    render,
)
from bot.report.safe import Md
from tests.report.conftest import BASE_SHA, HEAD_SHA, corpus_report, corpus_snapshot

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ESCAPE_BOT_REGOLD") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with ESCAPE_BOT_REGOLD=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: rerun with ESCAPE_BOT_REGOLD=1, review"


def _upgrade_report() -> Report:
    """Go 1.21 -> 1.27 on the corpus: new, fixed, unchanged, and a toolchain warning."""
    return corpus_report(
        corpus_snapshot("go1.21.13", BASE_SHA), corpus_snapshot("go1.27.3", HEAD_SHA), name="linux"
    )


def _same_toolchain_report() -> Report:
    """One toolchain; head drops package basic (fixed) and base lacks package flows (new)."""
    return corpus_report(
        corpus_snapshot("go1.27.3", BASE_SHA, drop_packages=("flows",)),
        corpus_snapshot("go1.27.3", HEAD_SHA, drop_packages=("basic",)),
    )


def test_golden_comment_across_toolchains() -> None:
    text = render(_upgrade_report(), Flavour.COMMENT)
    check_golden("toolchains-differ.comment.md", text)
    assert text.startswith("<!-- escape-bot:linux -->\n**:x: ")
    assert "> [!WARNING]\n> Base and head were built by different toolchains" in text


def test_golden_summary_same_toolchain() -> None:
    report = _same_toolchain_report()
    text = render(report, Flavour.SUMMARY)
    check_golden("same-toolchain.summary.md", text)
    assert "<!--" not in text and "[!WARNING]" not in text
    n_new = sum(e.count for e in report.result.new if e.kind.allocates)
    n_fixed = sum(e.count for e in report.result.fixed if e.kind.allocates)
    assert text.startswith(f"**:x: {n_new} new heap escapes, {n_fixed} fixed**\n")


def test_golden_truncated_comment() -> None:
    text = render(_upgrade_report(), Flavour.COMMENT, limit=Limit(6_000))
    check_golden("truncated.comment.md", text)
    assert len(text) <= 6_000


def test_golden_plain_markdown_for_the_cli() -> None:
    r = _same_toolchain_report()
    text = comparison_markdown(r.base, r.head, r.result)
    check_golden("same-toolchain.plain.md", text)
    assert text.startswith("**") and "](http" not in text  # no icon, no links without a repository


def _left_out(text: str) -> tuple[int, int, int]:
    m = re.search(
        r"Left out to stay within [\d,]+ \w+: (\d+) explanations?, (\d+) fixed escapes?, (\d+) new", text
    )
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)


def test_limits_cut_explanations_then_fixed_then_rows() -> None:
    report = _upgrade_report()
    full = render(report, Flavour.COMMENT, limit=None)
    assert _left_out(full) == (0, 0, 0)
    seen: list[tuple[int, int, int]] = []
    for size in (len(full) - 1, 9_000, 7_000, 5_000, 4_000, 3_500):
        text = render(report, Flavour.COMMENT, limit=Limit(size))
        assert len(text) <= size
        assert text.startswith("<!-- escape-bot:linux -->\n")
        assert "| returned to the caller (`returned`) | 3 |" in text  # the counts always stay
        seen.append(_left_out(text))
    explanations, fixed, new = zip(*seen, strict=True)
    assert seen[0][0] > 0 and seen[0][1:] == (0, 0)  # explanations go first
    assert list(explanations) == sorted(explanations) and list(fixed) == sorted(fixed)
    assert list(new) == sorted(new) and new[-1] > 0
    # a row is only dropped once every explanation and every fixed row is gone
    for e, f, n in seen:
        assert n == 0 or (e == 14 and f == 11)


def test_byte_limits_count_bytes() -> None:
    report = _upgrade_report()
    text = render(report, Flavour.SUMMARY, limit=Limit(5_000, "bytes"))
    assert len(text.encode()) <= 5_000
    assert "Left out to stay within 5,000 bytes" in text
    assert "The JSON report (output `report-path`) has everything." in text


def test_flavours_and_their_limits() -> None:
    report = _upgrade_report()
    assert (COMMENT_LIMIT.size, CHECK_SUMMARY_LIMIT.size) == (65_536, 65_535)
    check = render(report, Flavour.CHECK, limit=CHECK_SUMMARY_LIMIT)
    assert check.startswith("**:x: ") and "<!--" not in check
    assert render(report, Flavour.PLAIN, limit=None).startswith("**14 new heap escapes, 11 fixed**")


def test_the_template_cannot_print_unescaped_text() -> None:
    env = environment()
    with pytest.raises(UnsafeOutputError):
        env.from_string("{{ x }}").render(x="@octocat")
    with pytest.raises(UnsafeOutputError):
        env.from_string("{{ x }}").render(x=True)
    assert env.from_string("{{ x|text }} {{ n }}").render(x="@octocat", n=3) == "@\u200boctocat 3"
    assert isinstance(env.filters["cell"]("a|b"), Md)


def test_the_template_is_strict_and_sandboxed() -> None:
    env = environment()
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing|text }}").render()
    with pytest.raises(SecurityError):
        env.from_string("{{ x.__class__.__mro__|text }}").render(x="")


def test_constants_are_a_capped_sample_and_not_counted() -> None:
    head = corpus_snapshot("go1.27.3", HEAD_SHA)
    boxed = next(e for e in head.escapes if e.kind.allocates)
    constants = tuple(
        replace(boxed, line=i, expression=f'"c{i}"', static="constant")
        for i in range(1, MAX_CONSTANT_ROWS + 11)
    )
    result = DiffResult(new=constants, fixed=(), unchanged=())
    report = Report(base=head, head=head, result=result, decision=evaluate(result, GatePolicy()))
    text = render(report, Flavour.PLAIN, limit=None)
    assert text.startswith("**No change in heap escapes**")  # constants count for nothing
    assert f"{MAX_CONSTANT_ROWS + 10} constants converted to an interface: no allocation, not gated" in text
    assert "10 more constants in the JSON report." in text
    assert text.count('`"c') == MAX_CONSTANT_ROWS
