"""Markdown injection: Go source that attacks the comment, compiled by the real compiler.

The hostile strings reach the report the way they would in a PR: inside the compiler's own
messages (`"<!-- ... -->" escapes to heap`) and a file name. The rendered comment is read back
with a CommonMark + GFM-tables parser (markdown-it-py), and every attack is checked on what a
Markdown renderer sees, not on substrings alone.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.report import safe
from bot.report.render import Flavour, Report, render
from tests.report.conftest import HOSTILE_FILE, LINKS

ZWSP = "\u200b"
ALLOWED_HTML = re.compile(r"^(<!-- escape-bot:default -->|<details><summary>[^<>]*</summary>|</details>)$")


def _parse(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def _inline(tokens: list[Token]) -> list[Token]:
    return [child for t in tokens if t.type == "inline" for child in (t.children or [])]


@pytest.fixture(scope="module", params=[Flavour.COMMENT, Flavour.SUMMARY, Flavour.CHECK])
def rendered(request: Any, hostile_report: Report) -> str:
    return render(hostile_report, request.param)


def test_the_attacks_really_come_out_of_the_compiler(hostile_report: Report) -> None:
    messages = [e.message for e in hostile_report.result.new]
    assert '"<!-- escape-bot:default -->" escapes to heap' in messages
    assert any("@octocat please merge #1 | `tick` ``x`` <script>" in m for m in messages)
    assert any(e.file == HOSTILE_FILE for e in hostile_report.result.new)


def test_no_forged_marker_and_no_html(rendered: str) -> None:
    # the only HTML comment is our marker on the first line (comment flavour only)
    assert rendered.count("<!--") == (1 if rendered.startswith("<!--") else 0)
    for token in _parse(rendered):
        if token.type == "html_block":
            for line in token.content.strip().splitlines():
                assert ALLOWED_HTML.match(line), line
        if token.type == "html_block" and token.content.startswith("<!--"):
            assert token.map is not None and token.map[0] == 0
    assert [t.content for t in _inline(_parse(rendered)) if t.type == "html_inline"] == []


def test_no_mentions_or_autolinks_outside_code(rendered: str) -> None:
    for token in _inline(_parse(rendered)):
        if token.type == "text":
            assert not re.search(r"@(?!\u200b)\w", token.content), token.content
            assert not re.search(r"#(?!\u200b)\d", token.content), token.content
            assert "<" not in token.content, token.content


def test_tables_keep_their_shape(rendered: str) -> None:
    tokens = _parse(rendered)
    widths: list[int] = []
    cells = 0
    for token in tokens:
        if token.type == "tr_open":
            cells = 0
        elif token.type in ("td_open", "th_open"):
            cells += 1
        elif token.type == "tr_close":
            widths.append(cells)
        elif token.type == "table_open":
            widths.append(-1)  # a table boundary
    tables = " ".join(map(str, widths)).split("-1")
    for table in filter(str.strip, tables):
        assert len(set(table.split())) == 1, widths


def test_code_spans_hold_the_source_text_intact(rendered: str, hostile_report: Report) -> None:
    code = [t.content for t in _inline(_parse(rendered)) if t.type == "code_inline"]
    for e in hostile_report.result.new:
        if "@octocat" in e.message:
            # the whole literal, backticks and pipes included, is one code span
            assert e.expression in code
    # the forged marker is shown as code, with the comment opener broken
    assert '"<' + ZWSP + '!-- escape-bot:default -->"' in code
    assert "".join(code).count("<script>") >= 1  # shown, literally, as code


def test_links_are_percent_encoded(rendered: str) -> None:
    links = [t.attrs["href"] for t in _inline(_parse(rendered)) if t.type == "link_open"]
    hostile = [str(h) for h in links if "we" in str(h)]
    # the escape's own line and the lines of its flow (the reason chain), all in the hostile file
    assert hostile and all(re.search(r"/p/we%7Cird%40octocat%232\.go#L\d+$", h) for h in hostile), hostile
    assert any(h.endswith("p/we%7Cird%40octocat%232.go#L6") for h in hostile), hostile
    assert all(str(h).startswith(LINKS.server_url + "/") for h in links)


# ---- the escaping functions on their own ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("``x``", "``` ``x`` ```"),
        ("`start", "`` `start ``"),
        ("", "`  `"),
        ("a|b", "`a|b`"),
        ("two\nlines", "`two\\nlines`"),
        ("<!-- x -->", "`<\u200b!-- x -->`"),
    ],
)
def test_code_span(text: str, expected: str) -> None:
    assert safe.code_span(text) == expected


def test_code_span_in_a_table_escapes_pipes() -> None:
    assert safe.code_span("a|b", in_table=True) == "`a\\|b`"


def test_plain_text() -> None:
    assert safe.plain("@team/x <b>#12</b> *y* |") == "@\u200bteam/x &lt;b&gt;#\u200b12&lt;/b&gt; \\*y\\* |"
    assert safe.plain("a|b\nc", in_table=True) == "a\\|b\\\\nc"


def test_code_block_fence_outgrows_the_content() -> None:
    block = safe.code_block(["x ```` y", "<!-- z"])
    assert block.splitlines()[0] == "`````text" and block.splitlines()[-1] == "`````"
    assert "<!--" not in block
    assert safe.code_block([]).splitlines() == ["```text", "```"]


def test_urls_and_names() -> None:
    assert (
        safe.blob_url("https://h/", "o/r", "ab", "d ir/f(1).go", 3)
        == "https://h/o/r/blob/ab/d%20ir/f%281%29.go#L3"
    )
    for bad in ("javascript:alert(1)", "https://h/a b", "https://h/a)b", "https://h/<x>"):
        with pytest.raises(ValueError):
            safe.url(bad)
    assert safe.marker("linux-amd64_1.2") == "<!-- escape-bot:linux-amd64_1.2 -->"
    for bad in ("", "a b", "x-->", "-lead", "a" * 101, "né"):
        assert not safe.valid_name(bad)
