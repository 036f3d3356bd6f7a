"""The go command's own complaints in a `-m=2` build: the lines the parser does not know, kept
under their `# package`, and the BuildError that quotes them when the build failed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from bot.errors import BuildError
from bot.gc.events import text_of
from bot.gc.model import MAX_ERROR_LINES
from bot.gc.parse import LogParser


class BuildErrors:
    """The compiler's own complaints in a `-m=2` log: every line that is not an escape-analysis
    diagnostic (the parser does not know it) nor `go: downloading`, each under its `# package`."""

    def __init__(self, rewrite: Callable[[str], str]) -> None:
        self.lines: list[str] = []
        self.more = 0
        self.no_packages: list[str] = []  # `go: warning: "./x/..." matched no packages`
        self._rewrite = rewrite
        self._package = ""
        self._shown_package = ""
        self.failed = False
        self.status = 0
        self.stderr = ""  # with -json: the go command's own output

    def package(self, name: str) -> None:
        self._package = name

    def add(self, line: str) -> None:
        text = line.rstrip()
        if not text.strip() or text.startswith(("go: downloading ", "# ")) or text.startswith("{"):
            return
        if "matched no packages" in text:
            self.no_packages.append(text)
            return
        text = self._rewrite(text)
        if len(self.lines) >= MAX_ERROR_LINES:
            self.more += 1
            return
        if self._package and self._package != self._shown_package and len(self.lines) < MAX_ERROR_LINES - 1:
            self.lines.append(f"# {self._package}")
            self._shown_package = self._package
        self.lines.append(text)

    def quoted(self) -> tuple[str, ...]:
        more = (f"... ({self.more} more lines)",) if self.more else ()
        return (*self.lines, *more)

    def check(self) -> None:
        """BuildError quoting go when the build failed (call once the whole log was read)."""
        self.package("")
        for line in self.stderr.splitlines():
            self.add(line)
        self.stderr = ""
        if not self.failed:
            return
        quoted = self.quoted()
        first = next((e for e in quoted if not e.startswith("# ")), f"go exited with status {self.status}")
        raise BuildError(first, details="\n".join(quoted))


def _is_explanation(text: str) -> bool:
    """`POS:   flow: ...` / `POS:     from ...`: part of an explanation, never an error."""
    idx = text.find(": ")
    return idx > 0 and text[idx + 2 : idx + 3] == " "


def _classify_event(line: str, errors: BuildErrors) -> None:
    """The lines of one `-json` event that a fresh parser does not know (only events in which
    the real parser met unknown lines come here)."""
    try:
        event = json.loads(line)
    except ValueError:
        errors.add(line)
        return
    if not isinstance(event, dict):
        return
    errors.package(str(event.get("ImportPath", "")))
    probe = LogParser()
    probe.feed("# probe")
    for text in str(event.get("Output", "")).splitlines():
        before = probe.unknown
        probe.feed(text)
        if probe.unknown != before and not _is_explanation(text):
            errors.add(text)


def watch(lines: Iterator[str | bytes], parser: LogParser, errors: BuildErrors) -> Iterator[str | bytes]:
    """Pass lines to the parser and note those it does not understand.

    `parse_lines` has fed a line to the parser by the time it asks for the next one, so the
    parser's unknown-line counter, read then, says whether that line was a diagnostic.
    """
    previous: str | bytes | None = None
    before = parser.unknown
    for line in lines:
        # most lines are known and no `# package` header: nothing to note, no call (1.4 M for std)
        if previous is not None and (parser.unknown != before or previous[:2] == "# "):
            _note(previous, parser.unknown != before, errors)
        before = parser.unknown
        previous = line
        yield line
    if previous is not None:
        _note(previous, parser.unknown != before, errors)


def _note(line: str | bytes, unknown: bool, errors: BuildErrors) -> None:
    if isinstance(line, bytes):  # a big event (bot/gc/events.py)
        if unknown:
            _classify_event(text_of(line), errors)
        return
    if line.startswith("# "):
        errors.package(line[2:].split(" [", 1)[0].strip())
    elif unknown and line.startswith("{"):
        _classify_event(line, errors)
    elif unknown and not _is_explanation(line):
        errors.add(line)
