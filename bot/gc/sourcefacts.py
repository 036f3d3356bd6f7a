"""What the parser reads from the source files of a log, each read once and cached: line text,
generated-file headers, `const` and struct type names, function spans and their named results.
A standard-library file (`$GOROOT/...`) is never read from the repository. Pure (the reader is
passed in)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from bot.gc.goroot import in_goroot
from bot.gc.lines import (
    CONST_BLOCK,
    CONST_LINE,
    INTERNAL_RESULT,
    SPEC_NAME,
    STRUCT_LINE,
    STRUCT_SPEC,
    TYPE_BLOCK,
    SourceLookup,
    call_at,
)
from bot.gc.names import enclosing_names
from bot.gc.signature import named_results
from bot.gc.source import FuncSpan, function_spans, is_generated


class SourceFacts:
    """Facts about the files of one log, from `read` (None: no sources, every fact empty);
    `files` maps a printed name to the repository path."""

    def __init__(self, read: SourceLookup | None, files: Callable[[str], str]) -> None:
        self._read = read
        self._files = files
        self._spans: dict[str, list[FuncSpan] | None] = {}
        self._lines_cache: dict[str, list[str] | None] = {}
        self._generated: dict[str, bool] = {}
        self._results: dict[tuple[str, str], frozenset[str]] = {}
        self._const_names: dict[str, frozenset[str]] = {}
        self._structs: dict[str, frozenset[str]] = {}
        self._digests: dict[str, bytes] = {}
        self._texts: dict[str, str | None] = {}  # until `release`: several facts read a file

    def source(self, file: str) -> str | None:
        return self._text(file)

    def _text(self, file: str) -> str | None:
        if self._read is None:
            return None
        if file in self._texts:
            return self._texts[file]
        # a standard-library file is never read from the repository
        text = self._texts[file] = None if in_goroot(self._files(file)) else self._read(file)
        return text

    def release(self) -> None:
        """Forget the texts read so far (each fact keeps what it needs): called when a package
        ends, as a file's facts are asked by the records of its package, one after another."""
        self._texts.clear()

    def digest(self, file: str) -> bytes:
        """content_digest of the file's text (b"-" when it cannot be read), computed once; reading
        it is not asking a fact of it (bot/gc/reuse.py keys a block's inputs by these)."""
        found = self._digests.get(file)
        if found is None:
            text = self._text(file)
            found = b"-" if text is None else self._digest_of(file, text)
        return found

    def _digest_of(self, file: str, text: str) -> bytes:
        found = self._digests.get(file)
        if found is None:
            found = self._digests[file] = content_digest(text)
        return found

    def is_generated(self, file: str) -> bool:
        """A `// Code generated ... DO NOT EDIT.` header (kept, marked, gated only on request)."""
        if file not in self._generated:
            text = self.source(file)
            self._generated[file] = bool(text) and is_generated(text or "")
        return self._generated[file]

    def lines(self, file: str) -> list[str] | None:
        if file not in self._lines_cache:
            text = self.source(file)
            self._lines_cache[file] = text.splitlines() if text is not None else None
        return self._lines_cache[file]

    def line_text(self, file: str, line: int) -> str:
        lines = self.lines(file)
        if lines is None or not 0 < line <= len(lines):
            return ""
        return lines[line - 1].strip()

    def source_at(self, file: str, line: int, column: int) -> str:
        """The source text from a position to the end of its line ('' when unknown)."""
        lines = self.lines(file)
        if lines is None or not 0 < line <= len(lines) or column <= 0:
            return ""
        return lines[line - 1].encode()[column - 1 :].decode(errors="ignore")

    def constants(self, file: str) -> frozenset[str]:
        """Names the file declares `const` (Go ≤ 1.21 prints a named constant by its name)."""
        return self._declared(self._const_names, file, "const", CONST_LINE, CONST_BLOCK, SPEC_NAME)

    def struct_types(self, file: str) -> frozenset[str]:
        """Names the file declares as struct types (`T{}` boxed is then read-only static data)."""
        return self._declared(self._structs, file, "type", STRUCT_LINE, TYPE_BLOCK, STRUCT_SPEC)

    def _declared(
        self,
        cache: dict[str, frozenset[str]],
        file: str,
        keyword: str,
        single: re.Pattern[str],
        block: re.Pattern[str],
        spec: re.Pattern[str],
    ) -> frozenset[str]:
        found = cache.get(file)
        if found is None:
            found = cache[file] = declared(self.source(file) or "", keyword, single, block, spec)
        return found

    def file_spans(self, file: str) -> list[FuncSpan] | None:
        if file not in self._spans:
            text = self.source(file)
            self._spans[file] = None if text is None else spans_of(text, self._digest_of(file, text))
        return self._spans[file]

    def named_results(self, file: str, function: str) -> frozenset[str]:
        """Named results of `function` and of the functions around it (a closure can assign
        its enclosing function's result), from the source: a flow into `r` means returned."""
        spans = self.file_spans(file)
        if not spans:
            return frozenset()
        found: frozenset[str] = frozenset()
        for name in enclosing_names(function):
            key = (file, name)
            if key not in self._results:
                span = next((sp for sp in spans if sp.name == name), None)
                self._results[key] = self.results_of(file, span) if span is not None else frozenset()
            found |= self._results[key]
        return found

    def results_of(self, file: str, span: FuncSpan) -> frozenset[str]:
        lines = self.lines(file) or []
        head = lines[span.start_line - 1 : span.start_line + 20]
        if not head:
            return frozenset()
        head[0] = head[0].encode()[span.start_col - 1 :].decode(errors="ignore")
        return named_results("\n".join(head))

    def readable(self, subject: str, file: str, line: int, column: int) -> str:
        """The subject without compiler-internal result names: `~r0` (the result of an inlined
        call) is that call as the source writes it (`fieldVal.Kind()`), else `result 0`."""
        if "~r" not in subject:
            return subject
        if INTERNAL_RESULT.fullmatch(subject):
            lines = self.lines(file)
            if lines is not None and 0 < line <= len(lines):
                call = call_at(lines[line - 1], column)
                if call is not None:
                    return call
        return INTERNAL_RESULT.sub(lambda m: f"result {m.group(1)}", subject)


def declared(
    text: str, keyword: str, single: re.Pattern[str], block: re.Pattern[str], spec: re.Pattern[str]
) -> frozenset[str]:
    """Names declared one per line (`single.findall(text)`) or in parenthesised blocks (`spec`
    in `block.findall(text)`), both patterns `^[ \\t]*KEYWORD...` in MULTILINE mode.

    The same matches as `findall`, tried only at the lines that start with `keyword`: `findall`
    tries every position of the file, 3-9x slower over the Go distribution's files. A block's
    match hides the lines inside it from other blocks, as it does in `findall`.
    """
    names: set[str] = set()
    block_end = 0
    at = text.find(keyword)
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        if not text[start:at].strip(" \t"):  # `keyword` starts its line: `^` matches at `start`
            one = single.match(text, start)
            if one is not None:
                names.add(one.group(1))
            if start >= block_end:
                many = block.match(text, start)
                if many is not None:
                    names.update(spec.findall(many.group(1)))
                    block_end = many.end()
        at = text.find(keyword, at + len(keyword))
    return frozenset(names)


_SPANS: dict[bytes, list[FuncSpan]] = {}
_SPANS_MAX = 50_000  # files; a standard library's worth (~10,000 files) fits several times


def content_digest(text: str) -> bytes:
    """The key of what is derived from a file's text: its spans here, a reused block's inputs."""
    return hashlib.blake2b(text.encode(errors="surrogatepass"), digest_size=20).digest()


def spans_of(text: str, key: bytes) -> list[FuncSpan]:
    """`function_spans(text, by_variable=True)`, computed once per file content (`key`, its
    content_digest) in a process: a diff's base and head share most files (2.6 s of the standard
    library's build otherwise). The lists are shared: callers only read them."""
    spans = _SPANS.get(key)
    if spans is None:
        if len(_SPANS) >= _SPANS_MAX:
            _SPANS.clear()
        spans = _SPANS[key] = function_spans(text, by_variable=True)
    return spans
