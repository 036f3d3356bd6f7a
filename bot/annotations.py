"""Comments in Go source that change the verdict (pure): `//escape-bot:allow <reason>` and
gcassert's `//gcassert:noescape`.

- `//escape-bot:allow <reason>` allows the escapes on its own line (a trailing comment) or on
  the line below (a comment line above the statement). The reason is required.
- `//gcassert:noescape` (jordanlewis/gcassert's directive list: comma-separated after
  `//gcassert:`, above the line or trailing it) asserts that nothing escapes: on a statement's
  lines it covers those lines; in the doc comment of a function declaration it covers the whole
  function. A new escape there is always gated, whatever the budget or allow-list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.gc.source import FuncSpan, function_spans

_ALLOW = re.compile(r"//\s*escape-bot:allow\b[ \t]*(?P<reason>[^\n]*)")
_GCASSERT = re.compile(r"//gcassert:(?P<directives>[\w,]+)")


@dataclass(frozen=True, slots=True)
class Suppression:
    """An inline allow comment."""

    line: int  # the comment's line
    reason: str  # empty: missing (a configuration error)


@dataclass(frozen=True, slots=True)
class Annotations:
    """What one file's comments say."""

    suppressions: tuple[Suppression, ...] = ()
    noescape_lines: frozenset[int] = frozenset()
    noescape_functions: frozenset[str] = frozenset()

    def suppression_for(self, line: int) -> Suppression | None:
        """The allow comment covering an escape on `line`, if any."""
        for s in self.suppressions:
            if s.line in (line, line - 1):
                return s
        return None

    def noescape(self, line: int, function: str) -> bool:
        """True when a gcassert:noescape directive covers this escape."""
        top = function.split(".func", maxsplit=1)[0]
        return (
            line in self.noescape_lines
            or function in self.noescape_functions
            or top in self.noescape_functions
        )


def _comment_only(text: str) -> bool:
    return text.lstrip().startswith("//")


def scan(source: str) -> Annotations:
    """Find the annotations of one Go file."""
    if "escape-bot:allow" not in source and "gcassert:" not in source:
        return Annotations()
    lines = source.splitlines()
    suppressions = []
    noescape_lines: set[int] = set()
    directive_lines: set[int] = set()
    for number, text in enumerate(lines, start=1):
        m = _ALLOW.search(text)
        if m:
            suppressions.append(Suppression(number, m.group("reason").strip()))
        g = _GCASSERT.search(text)
        if g and "noescape" in g.group("directives").split(","):
            directive_lines.add(number)
            if _comment_only(text):
                noescape_lines.add(number + 1)
            else:
                noescape_lines.add(number)
    functions = (
        _annotated_functions(lines, directive_lines, function_spans(source)) if directive_lines else set()
    )
    return Annotations(tuple(suppressions), frozenset(noescape_lines), frozenset(functions))


def _annotated_functions(lines: list[str], directives: set[int], spans: list[FuncSpan]) -> set[str]:
    """Functions whose doc comment (the comment lines right above `func`) holds a directive."""
    names = set()
    for span in spans:
        line = span.start_line - 1
        while line >= 1 and _comment_only(lines[line - 1]):
            if line in directives:
                names.add(span.name)
                break
            line -= 1
    return names
