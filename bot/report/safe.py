"""Escaping of untrusted text (Go source, identifiers, string literals) for Markdown and HTML.

Compiler text comes from the pull request author's code: it can ping (`@user`), autolink
(`#123`), break tables (`|`, newlines), close code spans (backticks) and forge a hidden marker
(`<!--`). See shared/docs/github.md, "Markdown safety".
"""

from __future__ import annotations

import html
import re

_BACKTICKS = re.compile(r"`+")
_ZWSP = "\u200b"


def code_span(text: str, *, in_table: bool = False) -> str:
    """`text` as an inline code span that nothing inside can close.

    The fence is one backtick longer than the longest run inside; a space pads a value that
    starts or ends with a backtick. Newlines become spaces (a code span cannot hold them); in
    a table cell `|` is escaped, which GitHub honours even inside code spans.
    """
    text = text.replace("\r", " ").replace("\n", " ")
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text: str, *, in_table: bool = False) -> str:
    """Untrusted text outside code spans: HTML-escaped, no mentions, no autolinks, one line."""
    text = html.escape(text.replace("\r", " ").replace("\n", " "), quote=True)
    text = text.replace("@", "@" + _ZWSP).replace("#", "#" + _ZWSP)
    # Markdown punctuation that would change the rendering
    text = re.sub(r"([\\`*_\[\]()!~])", r"\\\1", text)
    if in_table:
        text = text.replace("|", "\\|")
    return text


def html_text(text: str) -> str:
    """Untrusted text for HTML bodies and attributes."""
    return html.escape(text, quote=True)
