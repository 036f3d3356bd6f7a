"""The report template's filters (pure): small, each returns `Md` (bot/report/safe.py); the
environment's `finalize` refuses any other value, so nothing reaches a pull request unescaped."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from bot import wording
from bot.report import hints, safe, text
from bot.report.safe import Md
from bot.report.view import (
    ChainLink,
    Culprit,
    Row,
)


class UnsafeOutputError(Exception):
    """A template tried to output a value that no escaping filter produced (a bug)."""


def _cell(value: object) -> Md:
    return safe.code_span(str(value), in_table=True)


def _code(value: object) -> Md:
    return safe.code_span(str(value))


def _text(value: object) -> Md:
    return safe.plain(str(value))


def _text_cell(value: object) -> Md:
    return safe.plain(str(value), in_table=True)


def _html(value: object) -> Md:
    """Text inside an HTML element (`<summary>`): entities, no mentions, no comment opener."""
    return Md(safe.html_text(safe.one_line(str(value))).replace("@", "@\u200b"))


def _where(row: Row, table: bool = True) -> Md:
    """`file:line` as a code span, linked to the line when there is a URL."""
    label = safe.code_span(f"{text.shown_file(row.file)}:{row.line}", in_table=table)
    return Md(f"[{label}]({safe.url(row.url)})") if row.url else label


def _link(label: Md, url: str | None) -> Md:
    return Md(f"[{label}]({safe.url(url)})") if url else label


def _hint(parts: Sequence[str]) -> Md:
    """A hint: names and code as code spans, our words as plain text."""
    return Md("".join(safe.code_span(p) if isinstance(p, hints.Code) else safe.plain(p) for p in parts))


def _chain_md(links: Sequence[ChainLink]) -> Md:
    """`i` → `&i` ([line 11](…)) → returned ([line 11](…))."""
    out = []
    for link in links:
        text = safe.plain(link.text) if link.ours else safe.code_span(link.text)
        if link.where:
            text = Md(f"{text} ({_link(safe.plain(link.where), link.url)})")
        out.append(text)
    return Md(" → ".join(out))


def _culprit_md(c: Culprit) -> Md:
    """`sink` ([util.go:7](…), changed in this PR) now stores its parameter."""
    name = f"{safe.code_span(c.function)} " if c.function else ""
    where = _link(safe.code_span(f"{text.shown_file(c.file)}:{c.line}"), c.url)
    return Md(f"{name}({where}, changed in this PR) {safe.plain(c.words)}")


def _url(value: str) -> Md:
    return safe.url(value)


def _codeblock(lines: Sequence[str]) -> Md:
    return safe.code_block(lines)


def plural(n: int, word: str) -> Md:
    return Md(wording.plural(n, word))


def _number(n: int) -> Md:
    return Md(f"{n:,}")


def _finalize(value: object) -> object:
    if isinstance(value, Md) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise UnsafeOutputError(f"the template printed a {type(value).__name__} without an escaping filter")


@functools.cache
def environment() -> SandboxedEnvironment:
    """The sandboxed, strict Jinja2 environment with the escaping filters."""
    env = SandboxedEnvironment(
        loader=PackageLoader("bot.report", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML: escaping is the filters' job, enforced by finalize
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        cell=_cell,
        code=_code,
        text=_text,
        textcell=_text_cell,
        html=_html,
        where=_where,
        url=_url,
        hint=_hint,
        chain=_chain_md,
        culprit=_culprit_md,
        codeblock=_codeblock,
        plural=plural,
        number=_number,
    )
    return env
