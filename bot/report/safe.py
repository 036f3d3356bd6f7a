"""Escaping of untrusted text (Go source, identifiers, string literals) for Markdown and HTML.

Compiler text comes from the pull request author's code: it can ping (`@user`), autolink
(`#123`, `https://…`, `www.…`), break tables (`|`, newlines), close code spans (backticks), forge
a hidden marker (`<!--`), reorder what is shown with Unicode bidi controls (U+202E) or hide text
with zero-width characters, and name a file `a.go:99` or `a.go\nb.go` to fake a position or a
second record. See docs/security.md.

Control and format characters are shown escaped (`\u202e`, `\n`) by `visible`, which every
function here applies; file names that could be read as something else are quoted (`path`).

Every function here returns `Md`: text that may go into a Markdown document as it is. The
report templates refuse to output anything else (bot/report/render.py), so a value that was not
escaped fails the rendering instead of reaching a pull request.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
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


# Unicode categories never shown raw: controls (Cc: CR, LF, ESC...), format characters (Cf: the
# bidi controls U+202A-202E and U+2066-2069, zero-width spaces and joiners, U+FEFF), line and
# paragraph separators (Zl, Zp) and lone surrogates (Cs, from undecodable file names)
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_SHORT = {"\n": "\\n", "\r": "\\r"}
_INVISIBLE = re.compile(r"[^\t -~]")  # the characters worth a closer look: not printable ASCII
# a file name is shown as it is only when made of these; else quoted, so that `a.go:99` or a
# name with spaces cannot pass for a position or for two names
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9._+@~/-]+$")
# what GitHub autolinks outside code spans (GFM's extended autolinks, and GH-123)
_EMAIL_AT = re.compile(r"(?<=[A-Za-z0-9.+_-])@")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9+.-])(:)(?=//)|\b(www)(\.)|\b(gh)(-)(?=\d)")


def _escape_char(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` with every control, format and separator character written as an escape
    (`\u202e`, `\n`): what is shown is what is there, in the order it is there. Tabs stay."""
    if not _INVISIBLE.search(text):
        return text
    return "".join(
        _escape_char(ch) if ch != "\t" and unicodedata.category(ch) in _HIDDEN else ch for ch in text
    )


def one_line(text: str) -> str:
    """`visible`: newlines and other controls escaped, so that table cells, code spans and
    annotations hold one line and show every character that is there."""
    return visible(text)


def path(file: str) -> str:
    """A file name for display next to `:LINE`: as it is when made of ordinary characters, else
    JSON-quoted with controls escaped (`"a.go:99"`, `"\u202eog.a"`), never a fake position."""
    if _PLAIN_PATH.match(file):
        return file
    return visible(json.dumps(file, ensure_ascii=False))


def _no_autolink(match: re.Match[str]) -> str:
    """A zero-width space inside `https://`, `www.` and `GH-1`: GitHub links none of them then."""
    parts = [g for g in match.groups() if g is not None]
    return _ZWSP.join(parts) if len(parts) > 1 else parts[0] + _ZWSP


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
    """Untrusted text outside code spans: HTML-escaped, no mentions, no autolinks (`#1`, `@u`,
    `https://`, `www.`, `GH-1`, e-mail addresses), controls escaped, one line."""
    text = html.escape(one_line(text), quote=True)
    text = _EMAIL_AT.sub(_ZWSP + "@", text)  # `a@b.com`: GitHub links an address, not `a\u200b@`
    text = text.replace("@", "@" + _ZWSP).replace("#", "#" + _ZWSP)
    text = _AUTOLINK.sub(_no_autolink, text)
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
