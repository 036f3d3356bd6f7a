"""Reuse of one build's parsed package blocks when the next build prints them again. Pure.

`compare` builds base and head in one worktree with one build cache: the compiler's `-json` event
for a package whose sources did not change is byte-identical on both sides. A package's records
are a function of its event, of the source files the parser read facts from (function spans,
line text, ...: recorded per block with a digest of each file's text), of the parser's setup (the
caller's `context`: module paths and directories) and, for a package compiled more than once
(`# p [cmd/app]`, PGO), of what its earlier variants reported. A block is kept for reuse only when
all of these are known: exactly one event, no line the parser did not understand, the package's
first variant; it is reused only when the event's digest, the context and every file's digest
are equal. Anything else is parsed as usual, so records are the same with and without reuse.

The same keys, stored with a package's result (`BlockKey`), let a pull request's head reuse its
stored base's blocks across jobs: the context then also names the parser's own code
(`parser_fingerprint`), since a stored block is only as good as the code that parsed it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.gc.events import action_and_package, is_event, lines_in
from bot.gc.lines import SourceLookup
from bot.gc.model import RECORDS_VERSION, BlockKey, Escape
from bot.gc.parse import LogParser, _site_key
from bot.gc.source import FuncSpan
from bot.gc.sourcefacts import SourceFacts


@dataclass(frozen=True, slots=True)
class CachedBlock:
    """One package block's records and what they were derived from besides its event."""

    package: str
    records: tuple[Escape, ...]
    files: tuple[tuple[str, bytes], ...]  # printed name, digest of its text as the parser saw it
    lines: int
    generated_skipped: int
    collapsed: int


@dataclass
class BlockCache:
    """Blocks of earlier builds by digest of (context, event); `reused` counts hits."""

    blocks: dict[bytes, CachedBlock] = field(default_factory=dict)
    reused: int = 0

    def keys_for(self, escapes: Sequence[Escape]) -> tuple[BlockKey, ...]:
        """The key of each package of `escapes` whose records are exactly one block of the cache
        (the very objects: a package compiled twice, or filtered after the parse, has none)."""
        by_first = {id(b.records[0]): (key, b) for key, b in self.blocks.items() if b.records}
        grouped: dict[str, list[Escape]] = {}
        for escape in escapes:
            grouped.setdefault(escape.package, []).append(escape)
        keys = []
        for package, records in sorted(grouped.items()):
            found = next((by_first[id(e)] for e in records if id(e) in by_first), None)
            if found is None:
                continue
            key, block = found
            if block.package != package or len(block.records) != len(records):
                continue
            if {id(e) for e in block.records} != {id(e) for e in records}:
                continue
            keys.append(
                BlockKey(
                    package,
                    key.hex(),
                    tuple((name, digest.hex()) for name, digest in block.files),
                    block.lines,
                    block.generated_skipped,
                    block.collapsed,
                    len(records),
                )
            )
        return tuple(keys)

    def add_stored(self, key: BlockKey, records: tuple[Escape, ...]) -> None:
        """A stored package result as a block of an earlier build (its records as read back)."""
        files = tuple((name, bytes.fromhex(digest)) for name, digest in key.files)
        self.blocks[bytes.fromhex(key.key)] = CachedBlock(
            key.package, records, files, key.lines, key.generated_skipped, key.collapsed
        )


@functools.cache
def parser_fingerprint() -> str:
    """The records' version and a digest of the parser's sources (bot/gc: Python and C), for the
    keys of stored blocks: a block parsed by other code is never taken for this code's."""
    digest = hashlib.sha256(f"records={RECORDS_VERSION}\0".encode())
    here = Path(__file__).parent
    for path in sorted(here.iterdir()):
        if path.suffix in (".py", ".c", ".h"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _digest(context: bytes, event: bytes) -> bytes:
    """An event's key (a source file's is sourcefacts.content_digest). SHA-256: with the SHA
    extensions of current x86 and ARM CPUs it hashes twice as fast as BLAKE2b (0.13 against 0.27 s
    for the ~130 MB of events of a standard library build); the event is not copied to follow
    the context."""
    digest = hashlib.sha256(context)
    digest.update(event)
    return digest.digest()


class _TrackingFacts(SourceFacts):
    """SourceFacts noting every file a fact is asked of (the block's inputs besides its text)."""

    def __init__(self, read: SourceLookup | None, files: Callable[[str], str]) -> None:
        super().__init__(read, files)
        self.touched: set[str] = set()

    def source(self, file: str) -> str | None:
        self.touched.add(file)
        return super().source(file)

    def lines(self, file: str) -> list[str] | None:
        self.touched.add(file)
        return super().lines(file)

    def is_generated(self, file: str) -> bool:
        self.touched.add(file)
        return super().is_generated(file)

    def line_text(self, file: str, line: int) -> str:
        self.touched.add(file)
        return super().line_text(file, line)

    def source_at(self, file: str, line: int, column: int) -> str:
        self.touched.add(file)
        return super().source_at(file, line, column)

    def constants(self, file: str) -> frozenset[str]:
        self.touched.add(file)
        return super().constants(file)

    def struct_types(self, file: str) -> frozenset[str]:
        self.touched.add(file)
        return super().struct_types(file)

    def file_spans(self, file: str) -> list[FuncSpan] | None:
        self.touched.add(file)
        return super().file_spans(file)

    def named_results(self, file: str, function: str) -> frozenset[str]:
        self.touched.add(file)
        return super().named_results(file, function)

    def readable(self, subject: str, file: str, line: int, column: int) -> str:
        self.touched.add(file)
        return super().readable(subject, file, line, column)


class ReusingParser(LogParser):
    """A LogParser that takes blocks from `cache` when their inputs are unchanged and records
    its own blocks into it. `context` names everything of the parser's setup records depend on
    (the caller's module mapping); reuse happens for `go build -json` logs only."""

    def __init__(
        self,
        cache: BlockCache,
        context: str,
        *,
        files: Callable[[str], str] | None = None,
        sources: SourceLookup | None = None,
    ) -> None:
        super().__init__(files=files, sources=sources)
        self._tracking = _TrackingFacts(sources, self._files)
        self._facts = self._tracking
        self._cache = cache
        self._context = context.encode() + b"\0"
        # digest of the event of the block being read (None: not reusable), of the next one
        self._candidate: bytes | None = None
        self._next: bytes | None = None
        self._block_lines = 0
        self._at_start = (0, 0, 0)

    def events(self, lines: Iterable[str | bytes], *, pieces: bool = False) -> Iterator[list[str]]:
        """LogParser.events, except that a cached event waits for the next line: a build-output
        event of another package confirms it is a block of its own (its records are taken), any
        other line sends it to be parsed after all."""
        pending: tuple[str | bytes, str, CachedBlock] | None = None
        for line in lines:
            known = None  # the line's Action and package, read once whoever asks first
            if pending is not None:
                action, key = known = action_and_package(line)
                if action and action != "build-output":
                    yield from self._read(line, None, pieces)  # never part of a block: keep waiting
                    continue
                if not (action and key != pending[1] and self._commit(pending[1], pending[2])):
                    yield from self._read(pending[0], None, pieces)  # the block goes on: read it after all
                pending = None
            digest = None
            if is_event(line):
                digest = _digest(self._context, _bytes(line))
                pending = self._lookup(line, digest, known)
                if pending is not None:
                    continue
            yield from self._read(line, digest, pieces)
        if pending is not None and not self._commit(pending[1], pending[2]):
            yield from self._read(pending[0], None, pieces)

    def _read(self, line: str | bytes, digest: bytes | None, pieces: bool) -> Iterator[list[str]]:
        """The lines of `line` as LogParser reads them, noting whether it starts a block of one
        event (a candidate for the cache) or adds to the current block (which is then none), and
        the lines it counts (its own adjustments, made between batches, and each line fed)."""
        before, first = self._json_key, True
        batches = super().events((line,), pieces=pieces)
        while True:
            counted = self.lines
            batch = next(batches, None)
            self._block_lines += self.lines - counted
            if batch is None:
                break
            if first and self._json_key != before:  # this event's header: a block starts
                self._next = digest
            elif first:
                self._candidate = None  # a line of the current block from elsewhere
            self._block_lines += lines_in(batch)
            first = False
            yield batch
        if first:
            self._candidate = None  # an event of another kind, or a bad one

    def _lookup(
        self, line: str | bytes, digest: bytes, known: tuple[str, str] | None
    ) -> tuple[str | bytes, str, CachedBlock] | None:
        cached = self._cache.blocks.get(digest)
        if cached is None or self._emitted.get(cached.package):
            return None
        if any(self._tracking.digest(name) != seen for name, seen in cached.files):
            return None
        action, key = action_and_package(line) if known is None else known
        if action != "build-output" or key == self._json_key:
            return None  # the current block goes on: not a block of its own
        return line, key, cached

    def _commit(self, key: str, cached: CachedBlock) -> bool:
        """The cached block in place of its event; False when it cannot stand for it after all
        (the block that ends here was an earlier variant of the same package)."""
        self._finish(self.ready)  # the previous block ends here, as the block's header would end it
        if self._emitted.get(cached.package):
            return False
        self._json_key = key
        self.ready.extend(cached.records)
        self._emitted.setdefault(cached.package, set()).update(_site_key(e) for e in cached.records)
        self.packages += 1
        self.lines += cached.lines
        self.generated_skipped += cached.generated_skipped
        self.collapsed += cached.collapsed
        self._cache.reused += 1
        return True

    def _start(self, header: str) -> None:
        super()._start(header)
        self._candidate, self._next = self._next, None
        self._block_lines = 0
        self._tracking.touched = set()
        self._at_start = (self.unknown, self.generated_skipped, self.collapsed)
        package = self._block.package if self._block is not None else ""
        if self._emitted.get(package):
            self._candidate = None  # a later variant: its records depend on the earlier ones

    def _finish(self, out: list[Escape]) -> None:
        block, candidate = self._block, self._candidate
        before = len(out)
        super()._finish(out)
        self._candidate = None
        unknown, skipped, collapsed = self._at_start
        if block is None or candidate is None or self.unknown != unknown:
            return
        files = tuple((name, self._tracking.digest(name)) for name in sorted(self._tracking.touched))
        self._cache.blocks[candidate] = CachedBlock(
            block.package,
            tuple(out[before:]),
            files,
            self._block_lines,
            self.generated_skipped - skipped,
            self.collapsed - collapsed,
        )


def _bytes(line: str | bytes) -> bytes:
    return line.encode() if isinstance(line, str) else line


__all__ = ["BlockCache", "CachedBlock", "ReusingParser", "parser_fingerprint"]
