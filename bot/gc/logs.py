"""`collect --from-log`: a saved compiler log, checked before it is believed.

A file that is empty, binary, a directory, has no compiler line, or is the log of a failed build
is refused (ParseError, exit 3): each of these used to read as "0 heap escapes", which passes a
gate. A log without `# package` lines (a bare `go tool compile -m`, as Bazel's rules_go runs it)
gets one here, before the parser: `--package`, else the directory its files are in.
"""

from __future__ import annotations

import io
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from bot.errors import ParseError
from bot.gc.model import MAX_ERROR_LINES, Escape, ParseStats, record_order
from bot.gc.parse import LogParser, parse_lines
from bot.memory import gc_paused

_PEEK = 64 * 1024
_POSITION = re.compile(r"^(?P<file>[^\s:][^:]*\.go):\d+(?::\d+)?: ")
# What the go command and the compiler print when a build fails (never at -m=2 on success).
_ERROR = re.compile(
    r"^go: (?!downloading |finding |extracting |warning: )"
    r"|: (?:undefined: |syntax error|cannot use |missing return|invalid operation|too many |not enough )"
    r"|\S\.go:\d+(?::\d+)?: .*(?:undefined \(type|declared and not used|imported and not used"
    r"|is not used|mismatched types|cannot find package|could not import|no required module"
    r"|missing go\.sum entry|redeclared in this block)"
    r"|^package \S+ is not in (?:GOROOT|std)|build constraints exclude all Go files|\[setup failed\]"
)
EMPTY_HINT = (
    "`go build` writes the compiler's diagnostics to stderr, so `go build -gcflags=-m=2 ./... > build.log` "
    "leaves the file empty: use `2> build.log`"
)


@dataclass(slots=True)
class LogResult:
    """What a log held, and what was said about it (notes go to stderr)."""

    escapes: list[Escape]
    stats: ParseStats
    notes: list[str] = field(default_factory=list)


def _open(source: str) -> tuple[BinaryIO, str]:
    if source == "-":
        return sys.stdin.buffer, "standard input"
    path = Path(source)
    if path.is_dir():
        raise ParseError(f"{source} is a directory, not a compiler log")
    try:
        return path.open("rb"), source
    except OSError as exc:
        raise ParseError(f"cannot read {source}: {exc.strerror}") from None


def _lines(first: bytes, rest: BinaryIO) -> Iterator[str]:
    raw = io.BufferedReader(_Prefixed(first, rest))
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=None)
    yield from stream


class _Prefixed(io.RawIOBase):
    """The bytes already peeked at, then the rest of the stream."""

    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        self._first = first
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._first[: len(buffer)] if self._first else self._rest.read(len(buffer))
        self._first = self._first[len(data) :] if self._first else b""
        buffer[: len(data)] = data
        return len(data)


def _package_of(file: str, fallback: str) -> str:
    directory = file.rpartition("/")[0].removeprefix("./")
    return directory if directory and directory != "." else fallback


def headerless(lines: Iterable[str]) -> bool:
    """True when the first compiler line comes before any `# package` line or JSON event."""
    for line in lines:
        if line.startswith(("# ", "{")):
            return False
        if _POSITION.match(line):
            return True
    return False


def log_package(lines: Iterable[str], fallback: str) -> str:
    """The package of a header-less log: the directory most of its compiler lines name (one
    `go tool compile` is one package; lines in other directories are code inlined into it)."""
    counts = Counter(_package_of(m.group("file"), fallback) for line in lines if (m := _POSITION.match(line)))
    return counts.most_common(1)[0][0] if counts else fallback


def with_header(lines: Iterable[str], package: str) -> Iterator[str]:
    """`# package`, then the lines."""
    yield f"# {package}\n"
    yield from lines


class _Census:
    """Counts the lines the parser understood and keeps those that read like build errors."""

    def __init__(self, parser: LogParser) -> None:
        self.parser = parser
        self.understood = 0
        self.errors: list[str] = []
        self.failed = False

    def watch(self, lines: Iterable[str]) -> Iterator[str]:
        previous: str | None = None
        before = self.parser.unknown
        for line in lines:
            if previous is not None:
                self._note(previous, self.parser.unknown != before)
            before = self.parser.unknown
            previous = line
            yield line
        if previous is not None:
            self._note(previous, self.parser.unknown != before)

    def _note(self, line: str, unknown: bool) -> None:
        text = line.rstrip("\r\n")
        if line.startswith("{"):
            self.failed = self.failed or '"Action":"build-fail"' in line
            if '"Action":"build-output"' in line:
                self.understood += 1
                if unknown:
                    self._errors_in_event(line)
            return
        if not text.strip() or text.startswith("# "):
            return
        if not unknown:
            self.understood += 1
        elif _ERROR.search(text):
            self._error(text)

    def _errors_in_event(self, line: str) -> None:
        import json

        try:
            output = str(json.loads(line).get("Output", ""))
        except (ValueError, AttributeError):
            return
        for text in output.splitlines():
            if _ERROR.search(text):
                self._error(text)

    def _error(self, text: str) -> None:
        self.failed = True
        if len(self.errors) < MAX_ERROR_LINES:
            self.errors.append(text)


def read_log(source: str, package: str | None = None) -> LogResult:
    """Parse a saved `-m=2` log (text or `-json`; "-" for stdin), refusing what is not one."""
    stream, name = _open(source)
    try:
        first = stream.read(_PEEK)
        if b"\x00" in first:
            raise ParseError(f"{name} is a binary file, not a compiler log")
        if not first.strip():
            raise ParseError(f"{name} is empty: {EMPTY_HINT}")
        peek = first.decode("utf-8", errors="replace").splitlines(keepends=True)
        lines: Iterable[str] = _lines(first, stream)
        notes = []
        if headerless(peek):
            fallback = Path(source).resolve().parent.name if source != "-" else ""
            chosen = package or log_package(peek, fallback or "command-line-arguments")
            lines = with_header(lines, chosen)
            how = "--package" if package else "the directory of its files; --package names it"
            notes.append(f"{name} has no `# package` line: package {chosen!r} ({how})")
        parser = LogParser()
        census = _Census(parser)
        with gc_paused():
            records = list(parse_lines(census.watch(lines), parser))
            records.sort(key=record_order)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if census.failed:
        first_error = census.errors[0] if census.errors else "the log says the build failed"
        raise ParseError(
            f"{name} is the log of a failed build: {first_error}", details="\n".join(census.errors)
        )
    if not census.understood:
        raise ParseError(f"{name} has no compiler line: it is not a `go build -gcflags=-m=2` log")
    return LogResult(records, parser.stats(), notes)
