"""Reading git's unified diffs: one reader (unidiff) for every diff escape-bot asks git for.

unidiff keeps git's quoting of unusual file names (`"b/q/\\317\\200 x.go"`): the names are
unquoted here. Callers run git with `-c core.quotePath=false` (`QUOTE_PATH_OFF`) so that only
names holding a quote, a backslash or a control character are quoted at all. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unidiff.patch import PatchedFile

QUOTE_PATH_OFF = ("-c", "core.quotePath=false")  # git options: non-ASCII names printed as UTF-8

_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(name: str) -> str:
    """A file name as git prints it: C-quoted (`"a/\\317\\200 x.go"`) when it holds a quote, a
    backslash, a control or (with core.quotePath) a non-ASCII character; else as is."""
    if not (len(name) >= 2 and name[0] == name[-1] == '"'):
        return name
    out = bytearray()
    body, i = name[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            octal = body[i + 1 : i + 4]
            if len(octal) == 3 and all(c in "01234567" for c in octal):
                out.append(int(octal, 8))
                i += 4
                continue
            out.append(_ESCAPES.get(body[i + 1], ord("?")))
            i += 2
            continue
        out += ch.encode("utf-8")
        i += 1
    return out.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file of a diff: its name on each side (None for /dev/null) and unidiff's hunks."""

    source: str | None  # the name in the old commit; None for an added file
    target: str | None  # the name in the new commit; None for a removed file
    patched: PatchedFile


def _name(raw: str, prefix: str) -> str | None:
    if raw == "/dev/null":
        return None
    return unquote(raw.rstrip("\t")).removeprefix(prefix)


def read_diff(text: str) -> Iterator[FileDiff]:
    """The files of `git diff` output (default `a/` and `b/` prefixes), names unquoted."""
    from unidiff.patch import PatchSet

    for patched in PatchSet(text):
        yield FileDiff(_name(patched.source_file, "a/"), _name(patched.target_file, "b/"), patched)
