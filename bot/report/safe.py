"""Escaping of untrusted text (Go source, identifiers, string literals) for Markdown and HTML.

Compiler text comes from the pull request author's code: it can ping (`@user`), autolink
(`#123`), break tables (`|`, newlines), close code spans (backticks) and forge a hidden marker
(`<!--`). See shared/docs/github.md, "Markdown safety".

Every function here returns `Md`: text that may go into a Markdown document as it is. The
report templates refuse to output anything else (bot/report/render.py), so a value that was not
escaped fails the rendering instead of reaching a pull request.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_BACKTICKS = re.compile(r"`+")
_ZWSP = "\u200b"
# RFC 3986 unreserved characters and the path separator: everything else is percent-encoded
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
_URL_OK = re.compile(r"^https?://[A-Za-z0-9._~:/%#?=&+@!$,;*\[\]-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Md(str):
    """Markdown that is safe to emit as it is (escaped, or written by us)."""

    __slots__ = ()


def _defang(text: str) -> str:
    """Break `<!--` so untrusted text never opens an HTML comment, even in a code span that a
    renderer might read as raw HTML (e.g. inside a `<details>` block)."""
    return text.replace("<!--", "<" + _ZWSP + "!--")


def one_line(text: str) -> str:
    """CR and LF as spaces: table cells, code spans and annotations hold one line."""
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def code_span(text: str, *, in_table: bool = False) -> Md:
    """`text` as an inline code span that nothing inside can close.

    The fence is one backtick longer than the longest run inside; a space pads a value that
    starts or ends with a backtick. Newlines become spaces (a code span cannot hold them); in
    a table cell `|` is escaped, which GitHub honours even inside code spans.
    """
    text = _defang(one_line(text))
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return Md(f"{fence}{pad}{text}{pad}{fence}")


def plain(text: str, *, in_table: bool = False) -> Md:
    """Untrusted text outside code spans: HTML-escaped, no mentions, no autolinks, one line."""
    text = html.escape(one_line(text), quote=True)
    text = text.replace("@", "@" + _ZWSP).replace("#", "#" + _ZWSP)
    # Markdown punctuation that would change the rendering
    text = re.sub(r"([\\`*_\[\]()!~])", r"\\\1", text)
    if in_table:
        text = text.replace("|", "\\|")
    return Md(text)


def code_block(lines: Iterable[str], info: str = "text") -> Md:
    """Lines as a fenced code block whose fence no line can close (at least three backticks)."""
    body = [_defang(one_line(line)) for line in lines]
    longest = max((len(m) for line in body for m in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return Md("\n".join([fence + info, *body, fence]))


def html_text(text: str) -> str:
    """Untrusted text for HTML bodies and attributes."""
    return html.escape(text, quote=True)


def url_path(path: str) -> str:
    """A repository path percent-encoded for a URL (`/` kept)."""
    return "".join(ch if ch in _URL_SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in path)


def blob_url(server_url: str, repository: str, sha: str, file: str, line: int) -> str:
    """`{server}/{owner}/{repo}/blob/{sha}/{file}#L{line}`: the file at that commit."""
    return f"{server_url.rstrip('/')}/{url_path(repository)}/blob/{url_path(sha)}/{url_path(file)}#L{line}"


def url(value: str) -> Md:
    """A URL we built: checked to be http(s) with nothing that could end a Markdown link."""
    if not _URL_OK.match(value):
        raise ValueError(f"not a safe URL: {value!r}")
    return Md(value)


def valid_name(name: str) -> bool:
    """A configuration name for markers and check names: letters, digits, `.`, `_`, `-`."""
    return bool(_NAME.match(name))


def marker(name: str) -> Md:
    """The hidden first line that identifies our comment for configuration `name`."""
    if not valid_name(name):
        raise ValueError(f"invalid configuration name {name!r}")
    return Md(f"<!-- escape-bot:{name} -->")
