"""The comment says what to do (issue 14): read back as GitHub reads it (markdown-it, GFM tables).

The change adds every heap escape of the compiled corpus (tests/data/golden, the real compiler's
`-m=2` output): one or more of every cause the compiler produces. Attribution, hotness and the
toolchain's effect are the inputs the use case computes (bot/app.py, tested with the compiler in
tests/test_insight_cli.py); here they are given, to check how the comment says them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.attribution import Attribution, Reason
from bot.config import AllowEntry, Glob
from bot.diff import diff
from bot.gate import GatePolicy, evaluate
from bot.gc.model import Cause, Escape, Snapshot
from bot.insight import Insight, ToolchainEffect
from bot.profile.hotness import Hotness
from bot.report import hints
from bot.report.limits import Limit
from bot.report.render import VISIBLE_ROWS, Flavour, Report, render
from bot.report.serialize import comparison_dict
from tests.report.conftest import BASE_SHA, HEAD_SHA, LINKS, corpus_snapshot

DOCS = Path(__file__).parents[2] / "docs" / "causes.md"
BLOB = f"{LINKS.server_url}/octo/demo/blob/{HEAD_SHA}/"


def _parse(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def _every_cause() -> tuple[Snapshot, Snapshot]:
    head = corpus_snapshot("go1.27.3", HEAD_SHA)
    base = replace(corpus_snapshot("go1.27.3", BASE_SHA), escapes=())
    return base, head


def _report(insight: Insight | None = None, policy: GatePolicy | None = None) -> Report:
    base, head = _every_cause()
    result = diff(base.escapes, head.escapes)
    insight = insight or Insight()
    decision = evaluate(result, policy or GatePolicy(), hot=insight.is_hot)
    return Report(base=base, head=head, result=result, decision=decision, links=LINKS, insight=insight)


def _new(report: Report) -> list[Escape]:
    return [e for e in report.result.new if e.allocates]


def _items(tokens: list[Token]) -> list[tuple[str, bool]]:
    """Each escape's location line (the inline after a list item's paragraph that starts with a
    link to a line), and whether it stands inside a `<details>`."""
    out = []
    depth = 0
    for i, t in enumerate(tokens):
        if t.type == "html_block":
            depth += t.content.count("<details>") - t.content.count("</details>")
        if t.type == "inline" and i >= 2 and tokens[i - 2].type == "list_item_open":
            children = t.children or []
            if (children and children[0].type == "link_open") or t.content.startswith(":fire:"):
                out.append((t.content, depth > 0))
    return out


def test_the_change_adds_an_escape_of_every_cause() -> None:
    produced = {e.cause for e in _new(_report())}
    # `unknown` is what the parser says when it cannot tell: the corpus has none by design
    assert produced == set(Cause) - {Cause.UNKNOWN}


@pytest.mark.parametrize("flavour", [Flavour.COMMENT, Flavour.SUMMARY, Flavour.CHECK])
def test_locations_first_hints_links_and_the_accept_line(flavour: Flavour) -> None:
    report = _report()
    text = render(report, flavour, limit=None)
    tokens = _parse(text)
    items = _items(tokens)
    new = _new(report)
    assert len(items) == len(new) > VISIBLE_ROWS
    # the first 20 locations outside any <details>, the rest inside
    assert [inside for _, inside in items] == [False] * VISIBLE_ROWS + [True] * (len(new) - VISIBLE_ROWS)
    # every location is a link to its line at the head commit, repository-relative
    inline = [c for t in tokens if t.type == "inline" for c in (t.children or [])]
    hrefs = [str(c.attrs["href"]) for c in inline if c.type == "link_open"]
    for e in new:
        assert f"{BLOB}{e.file}#L{e.line}" in hrefs
    located = [c.content for c in inline if c.type == "code_inline" and re.match(r"^\S+\.go:\d+$", c.content)]
    assert located and all(loc.startswith("tests/data/corpus/") for loc in located)
    # a fix hint and a plain-language reason for each, the hint naming its function
    assert text.count("\n  Fix: ") == len(new)
    assert text.count("\n  Why: ") == len(new)
    for e in new:
        assert hints.hint(e).startswith(("`", e.expression))
    # no table repeats the compiler's line next to the expression
    headers = [c.content for i, t in enumerate(tokens) if t.type == "th_open" for c in [tokens[i + 1]]]
    assert "compiler" not in headers
    # the compiler's own explanation stays, collapsed
    assert "<details><summary>The compiler's explanation" in text
    assert "To accept this change, add the label `escape-bot/accept` to the pull request" in text
    assert "put `//escape-bot:allow <reason>` on its line" in text


def test_hints_are_specific_to_the_code() -> None:
    by_cause = {e.cause: e for e in _new(_report())}
    returned = by_cause[Cause.RETURNED]
    assert hints.hint(returned).startswith(
        f"`{returned.function}` returns `{returned.expression}`: return the"
    )
    boxed = [e for e in _new(_report()) if e.cause is Cause.INTERFACE_CONVERSION]
    assert any("is boxed for `fmt." in hints.hint(e) and "strconv.Append" in hints.hint(e) for e in boxed)
    for e in _new(_report()):
        assert f"`{e.function}`" in hints.hint(e)


def test_reason_chain_ends_with_the_cause_and_links_lines() -> None:
    report = _report()
    text = render(report, Flavour.COMMENT, limit=None)
    returned = next(e for e in _new(report) if e.cause is Cause.RETURNED and e.expression.startswith("&"))
    (why,) = [
        line for line in text.splitlines() if line.startswith("  Why: ") and f"#L{returned.line})" in line
    ][:1] or [""]
    assert why.endswith("returned") or "→ returned" in why, why


def test_allowed_escapes_are_not_new_and_a_warning_says_would_fail() -> None:
    report = _report()
    e = next(e for e in _new(report) if e.cause is Cause.GLOBAL)
    entry = AllowEntry(
        Glob("**", key="allow[0].package"),
        Glob(e.function, key="allow[0].function"),
        "a registry, built once",
        expression=e.expression,
        key="allow[0]",
    )
    allowed = _report(policy=GatePolicy(allow=(entry,), fail_on_new=False))
    text = render(allowed, Flavour.COMMENT, limit=None)
    waived = sum(w.escape.count for w in allowed.decision.waived)
    units = sum(x.count for x in _new(report)) - waived
    sites = len(_new(report)) - len(allowed.decision.waived)
    assert waived >= 1
    assert (
        f"**:warning: {units} new heap escapes \\({sites} sites\\) \\(not gated\\), {waived} allowed**"
        in text
    )
    assert "The gate would fail, but the configuration only warns" in text
    assert f"**Allowed** ({len(allowed.decision.waived)} escape" in text
    assert "a registry, built once" in text


def test_hot_first_flame_attribution_groups_and_the_toolchain_section() -> None:
    new = _new(_report())
    cold, hot, hotter = new[0], new[30], new[40]
    callee_a, callee_b = new[10], new[11]
    insight = Insight(
        hotness={
            hot: Hotness(cpu_share=0.25, source="cpu:default.pgo"),
            hotter: Hotness(cpu_share=0.1, alloc_bytes=4096, alloc_objects=8, source="memory:mem.pprof"),
            cold: Hotness(cpu_share=0.001, source="cpu:default.pgo"),
        },
        attributions={
            callee_a: Attribution(
                Reason.CALLEE_NOW_LEAKS, "tests/data/corpus/flows/util.go", 7, "sink", "leaking param: p"
            ),
            callee_b: Attribution(
                Reason.CALLEE_NOW_LEAKS, "tests/data/corpus/flows/util.go", 7, "sink", "leaking param: p"
            ),
            hot: Attribution(Reason.CHANGED_LINE, hot.file, hot.line, hot.function),
        },
        toolchain=ToolchainEffect("go1.26.6", "go1.27.3", diff(new[:3], new[1:5])),
        profiles=("cpu:default.pgo",),
    )
    text = render(_report(insight), Flavour.COMMENT, limit=None)
    items = [content for content, _ in _items(_parse(text))]
    # hottest first: bytes allocated, then CPU share; a flame on the hot ones only
    assert items[0].startswith(":fire: ") and f"{hotter.file}:{hotter.line}" in items[0]
    assert "4.0 kB allocated in 8 objects, 10.0 % CPU" in items[0]
    assert items[1].startswith(":fire: ") and "25.0 % CPU" in items[1]
    assert not any(i.startswith(":fire:") for i in items[2:])
    assert any("0.1 % CPU" in i for i in items[2:])
    # the two escapes caused by `sink` are listed together, under the change, in words
    header = (
        "- **2 new escapes because `sink` ([`tests/data/corpus/flows/util.go:7`]"
        f"({BLOB}tests/data/corpus/flows/util.go#L7), changed in this PR) now stores its parameter"
        " \\(leaking param: p\\):**"
    )
    assert header in text
    after = text.split(header, 1)[1].splitlines()
    assert after[1].startswith(f"  - [`{callee_a.file}:{callee_a.line}`]")
    assert after[4].startswith(f"  - [`{callee_b.file}:{callee_b.line}`]")
    # the toolchain's own effect in its own section, instead of the mixed-toolchain warning
    changed = diff(new[:3], new[1:5])
    n = sum(e.count for e in changed.new + changed.fixed if e.allocates)
    assert f"**go1.26.6 → go1.27.3: {n} escapes changed by the compiler alone**" in text
    assert "ranked" not in text or "hottest first (profiles: cpu:default.pgo)" in text
    unknown = replace(
        insight, toolchain=ToolchainEffect("go1.26.6", "go1.27.3", None, "go1.26.6 is not installed")
    )
    text = render(_report(unknown), Flavour.COMMENT, limit=None)
    assert "**go1.26.6 → go1.27.3**: go1.26.6 is not installed" in text


def test_the_comment_fits_its_limit_and_keeps_the_hints_first() -> None:
    comment = render(_report(), Flavour.COMMENT)  # 65,536 characters: explanations are cut first
    assert len(comment) <= 65_536
    assert comment.count("\n  Fix: ") == len(_new(_report()))
    cut = render(_report(), Flavour.CHECK, limit=Limit(8_000, "bytes"))
    assert len(cut.encode()) <= 8_000
    assert "\n  Fix: " in cut  # explanations go before the listed escapes


def test_json_carries_a_hint_on_every_escape() -> None:
    report = _report()
    data = comparison_dict(report.base, report.head, report.result)
    assert data["new"] and all(
        d["hint"] == hints.hint(e) for d, e in zip(data["new"], _new(report), strict=True)
    )


def test_every_cause_has_advice_and_a_documented_example() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for cause in Cause:
        assert hints.ADVICE[cause]
        section = docs.split(f"### `{cause.value}`", 1)
        assert len(section) == 2, f"docs/causes.md has no section for {cause.value}"
        body = section[1].split("\n### ", 1)[0]
        assert "Before:" in body and "After:" in body and body.count("```go") == 2, cause
        assert hints.ADVICE[cause].split(",")[0].split("`")[0] in body, cause


def test_attribution_and_hotness_text_stay_escaped() -> None:
    new = _new(_report())
    hostile = "@octocat `x` <!-- #1 https://evil.example"
    insight = Insight(
        attributions={
            new[0]: Attribution(
                Reason.CALLEE_NOW_LEAKS, "p/we|ird@x#2.go", 3, hostile, "leaking param: " + hostile
            ),
        },
        hotness={new[0]: Hotness(cpu_share=0.5, source=hostile)},
        toolchain=ToolchainEffect("go1.26.6", "go1.27.3 @octocat", None, hostile),
        profiles=(hostile,),
    )
    text = render(_report(insight), Flavour.COMMENT, limit=None)
    tokens = _parse(text)
    inline = [c for t in tokens if t.type == "inline" for c in (t.children or [])]
    assert [c.content for c in inline if c.type == "html_inline"] == []
    for c in inline:
        if c.type == "text":
            assert not re.search(r"@(?!\u200b)\w", c.content), c.content
            assert "https://evil" not in c.content, c.content  # `<` is an entity: shown, not parsed
    assert text.count("<!--") == 1  # our marker only
    # the callee's name is one code span, whole; the changed file is linked, percent-encoded
    assert hostile in [c.content for c in inline if c.type == "code_inline"] or any(
        "@octocat `x` <\u200b!-- #1" in c.content for c in inline if c.type == "code_inline"
    )
    assert f"{BLOB}p/we%7Cird%40x%232.go#L3" in [
        str(c.attrs.get("href")) for c in inline if c.type == "link_open"
    ]
