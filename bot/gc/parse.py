"""The Go compiler's `-m=2` text (or `go build -json` events) -> Escape records. Pure, streaming.

The log is read one package block at a time (`# import/path` headers, or the `ImportPath` of
`build-output` events); a block is finished when the next one starts, so memory follows the
largest package, not the log. Within a block, explanations (`... escapes to heap in F:`,
`parameter p leaks to DST for F with derefs=N:` and their `flow:`/`from` lines) are linked to
summary lines (`moved to heap: x`, `EXPR escapes to heap`, `leaking param: p`) by position, not
by text: `x escapes to heap in F:` can pair with `1000 escapes to heap`.

Formats of Go 1.21-1.27 are read (tests/test_parse_golden.py reads a captured log of each).
"""

from __future__ import annotations

import dataclasses
import functools
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain
from typing import cast

from bot.gc import native
from bot.gc.causes import CONSTANT_REASON, LazyNames, classify, is_constant, runtime_static
from bot.gc.collapse import collapse_sites
from bot.gc.events import BadEvent, FramedPiece, Piece, is_event, read_event, text_of
from bot.gc.flows import FlowReader, compact
from bot.gc.goroot import GOROOT_PREFIX, in_goroot, module_file_mapper, std_package
from bot.gc.lines import (
    ESCAPES,
    LEAK,
    LEAK_CONTENT,
    MOVED,
    SKIP_INFIXES,
    SKIP_PREFIXES,
    SKIP_SUFFIXES,
    Block,
    Header,
    Linked,
    SourceLookup,
    Summary,
    append_destination,
    is_go_generated,
    orphans,
    parse_header,
    parse_pos,
    storage_lookup,
)
from bot.gc.model import Escape, Flow, Kind, ParseStats, record_order, replace
from bot.gc.names import collapse_generics, enclosing_names, strip_internal
from bot.gc.source import enclosing_function
from bot.gc.sourcefacts import SourceFacts
from bot.memory import gc_paused

# compared once per record: a module global is a cheaper `is` than an attribute of the enum
ESCAPES_TO_HEAP, MOVED_TO_HEAP = Kind.ESCAPES_TO_HEAP, Kind.MOVED_TO_HEAP


class LogParser:
    """Feed lines, collect Escape records. Use `parse_log` for the common case.

    `files` maps a printed file name (e.g. `example.com/m/p/x.go` under -trimpath) to the path
    relative to the repository root; `sources` returns a file's text (for enclosing functions
    with Go ≤ 1.24, generated-file headers and the line text used in identities).
    """

    def __init__(
        self,
        *,
        files: Callable[[str], str] | None = None,
        sources: SourceLookup | None = None,
        keep_leaks: bool = True,
    ) -> None:
        self._files = files or (lambda name: name.removeprefix("./"))
        self._facts = SourceFacts(sources, self._files)
        self._keep_leaks = keep_leaks
        self._block: Block | None = None
        self._json_key: str | None = None
        self._explanations = FlowReader(self._unknown)
        self._emitted: dict[str, set[tuple[object, ...]]] = {}  # sites per package, across variants
        self._wheres: dict[str, tuple[str, str | None, bool]] = {}  # printed file -> _where
        # per block (see _build): raw function name -> its name for names _stable_name keeps;
        # function -> its `{storage for X}` lookup; (file, function) -> its named results;
        # file -> its struct types
        self._names: dict[str, str] = {}
        self._storage: dict[str, Callable[[str], list[Flow] | None]] = {}
        self._results: dict[tuple[str, str], LazyNames] = {}
        self._structs: dict[str, LazyNames] = {}
        self._decls_of: Block | None = None  # the block `_decls` indexes: file -> sorted decls
        self._decls: dict[str, list[tuple[int, int, str]]] = {}
        self.ready: list[Escape] = []  # records finished while reading events (bot/gc/reuse.py)
        self.lines = 0
        self.packages = 0
        self.unknown = 0
        self.unknown_samples: list[str] = []
        self.generated_skipped = 0
        self.collapsed = 0

    # -- input ------------------------------------------------------------------------------
    def feed(self, line: str) -> list[Escape]:
        """Read one line of text or one `go build -json` event; returns records finished by it."""
        out: list[Escape] = []
        self._feed(line, out)
        return out

    def _feed(self, line: str, out: list[Escape]) -> None:
        """The hot loop's body: decide a line's kind with as few string operations as possible."""
        self.lines += 1
        first = line[:1]
        if first == "{":
            self._feed_event(line, out)
            return
        if first == "#" and line.startswith("# "):
            self._finish(out)
            self._start(line[2:].rstrip())
            return
        block = self._block
        if first == " ":  # an explanation line of a variable without position (`#next`)
            if block is not None and block.current is not None:
                block.current.raw.append(line)
            else:
                self._unknown(line)
            return
        idx = line.find(": ")
        if idx < 0 or block is None:
            self._positionless(block, line.rstrip("\r\n"))
            return
        if line[idx + 2 : idx + 3] == " ":  # `  flow: ...` / `    from ...`
            current = block.current
            if current is None:
                self._unknown(line)
            else:
                current.raw.append(line[idx + 2 :])
            return
        self._message(block, line[:idx], line[idx + 2 :].rstrip("\r\n"), line)

    def _feed_event(self, line: str, out: list[Escape]) -> None:
        self.lines -= 1  # counted by `events`
        for batch in self.events((line,)):
            for text in batch:
                self._feed(text, out)

    def events(self, lines: Iterable[str | bytes], *, pieces: bool = False) -> Iterator[list[str]]:
        """The text lines of `go build -json` events for `_feed`, in batches (the hot loop takes
        them with `chain.from_iterable`, not a generator step per line): a package's first event
        gives a `# ImportPath` line (the block's header); other lines pass unchanged.

        Each event is decoded once and its `Output` (one event per package: 69 MB for go/types)
        a megabyte at a time, so memory follows the event, not the number of its lines.
        `pieces`: each megabyte comes whole, as a Piece (for bot/gc/_scan.c, which reads its
        lines in place and drops the `# package` lines of a FramedPiece).
        """
        for line in lines:
            if not is_event(line):
                yield [text_of(line)]
                continue
            self.lines += 1
            try:
                action, key, chunks = read_event(line)
            except BadEvent:
                self._unknown(text_of(line))
                continue
            del line  # the event's lines are read from it a chunk at a time
            if action != "build-output":
                continue  # build-fail and friends are the runner's business
            self.lines -= 1  # count the event's lines, not the event
            if key != self._json_key:
                self._json_key = key
                self.lines -= 1  # the header is the framing's, not a line of the log
                yield ["# " + key]
            for piece in chunks:
                # rare: drop the `# package` lines the framing replaces (at a line's start: `# `
                # inside a line, a string literal's, is common and costs a pass over the lines)
                framed = piece.startswith("# ") or "\n# " in piece
                if pieces:
                    yield [FramedPiece(piece) if framed else Piece(piece)]
                    continue
                texts = list(filter(None, piece.splitlines()))
                if framed:
                    headers = sum(1 for text in texts if text.startswith("# "))
                    self.lines += headers  # the framing already named the package
                    texts = [text for text in texts if not text.startswith("# ")] if headers else texts
                yield texts

    def _start(self, header: str) -> None:
        # `# p [p.test]` -> `p`; `# p_test [p.test]` -> `p_test`
        package = header.split(" [", 1)[0].strip()
        self._block = Block(package)
        self.packages += 1

    def _positionless(self, block: Block | None, line: str) -> None:
        """Lines without `POS: `: headers of variables the compiler made up (`#next`)."""
        if not line:
            return
        if line.startswith(MOVED) or line.endswith(ESCAPES):
            # a variable the compiler made up (`#next` of range-over-func): no source site
            self.generated_skipped += 1
            return
        if block is not None and line.endswith(":"):
            header = parse_header(line)
            if header is not None:
                block.headers[""].append(header)  # no summary line can pair with it
                block.current = header
                return
        if block is not None and any(infix in line for infix in SKIP_INFIXES):
            return
        self._unknown(line)

    def _message(self, block: Block, pos: str, msg: str, line: str) -> None:
        block.current = None
        if msg.startswith("inlining call to "):
            block.inlined_at[pos].append(msg[17:])
            return
        if msg.endswith(":"):
            header = parse_header(msg)
            if header is None:
                self._unknown(line)
            else:
                block.headers[pos].append(header)
                block.current = header
            return
        kind: Kind | None = None
        if msg.startswith(LEAK):
            kind, subject = Kind.LEAKING_PARAM, msg[len(LEAK) :]
        elif msg.endswith(ESCAPES):
            kind, subject = Kind.ESCAPES_TO_HEAP, msg[: -len(ESCAPES)]
        elif msg.startswith(MOVED):
            kind, subject = Kind.MOVED_TO_HEAP, msg[len(MOVED) :]
        elif msg.startswith(LEAK_CONTENT):
            kind, subject = Kind.LEAKING_PARAM_CONTENT, msg[len(LEAK_CONTENT) :]
        if kind is not None:
            parsed = parse_pos(pos)
            if parsed is None:
                self._unknown(line)
            else:
                block.summaries.append(Summary(pos, kind, parsed[0], parsed[1], parsed[2], subject, msg))
            return
        if msg.startswith(("can inline ", "cannot inline ")):
            block.decls.append((pos, msg.split(" ", 3)[2].removesuffix(":")))
            return
        if msg.startswith(SKIP_PREFIXES) or msg.endswith(SKIP_SUFFIXES):
            return
        if any(infix in line for infix in SKIP_INFIXES):
            return
        if line.startswith(MOVED):  # `moved to heap: #next`: a made-up variable, no position
            self.generated_skipped += 1
            return
        self._unknown(line)

    def _unknown(self, line: str) -> None:
        self.unknown += 1
        if len(self.unknown_samples) < 20:
            self.unknown_samples.append(line[:300])

    def close(self) -> list[Escape]:
        """Finish the last block; returns its records."""
        out: list[Escape] = []
        self._finish(out)
        return out

    # -- linking and collapsing ---------------------------------------------------------------
    def _finish(self, out: list[Escape]) -> None:
        block, self._block = self._block, None
        if block is None:
            return
        # Building a package's records allocates hundreds of thousands of small acyclic
        # objects; the cyclic collector would rescan the growing heap over and over (it
        # tripled the time on the standard library's log). Nothing yields in here.
        with gc_paused():
            self._build(block, out)

    def _build(self, block: Block, out: list[Escape]) -> None:
        by_subject = block.by_subject
        flows_of = self._explanations.flows
        for headers in block.headers.values():
            for header in headers:
                header.flows = flows_of(header)
                header.raw, header.text = [], None
                if not header.leak:
                    by_subject.setdefault(header.subject, []).append(header)
        block.local_funcs.update(collapse_generics(name) for _pos, name in block.decls)
        link = self._link
        records: list[Linked] = []
        for s in block.summaries:
            linked = link(block, s)
            if linked is not None:
                records.append(linked)
        for s in orphans(block):  # after the summaries: an orphan is a header none of them used
            linked = link(block, s)
            if linked is not None:
                records.append(linked)
        sites, collapsed = collapse_sites(block, records)
        self.collapsed += collapsed
        out.extend(self._once_per_variant(block.package, sites))
        self._explanations.clear()  # positions repeat within a package, rarely across
        self._facts.release()
        # what the records of a block share, looked up once each: per block, as facts are asked
        # per block (bot/gc/reuse.py notes the files each block reads)
        self._names.clear()
        self._storage.clear()
        self._results.clear()
        self._structs.clear()
        self._decls_of, self._decls = None, {}

    def _once_per_variant(self, package: str, found: Iterable[Escape]) -> list[Escape]:
        """A package the go command compiles more than once prints its diagnostics once per
        variant: `# p [example.com/m/cmd/app]` is p built with cmd/app's `default.pgo` (PGO is on by
        default), next to `# p`. A site is reported once, from the first variant that has it;
        what only another variant has (PGO inlines differently) is kept too."""
        records = list(found)
        emitted = self._emitted.setdefault(package, set())
        if not emitted:
            emitted.update(map(_site_key, records))
            return records
        kept = []
        for e in records:
            key = _site_key(e)
            if key in emitted:
                self.collapsed += 1
            else:
                emitted.add(key)
                kept.append(e)
        return kept

    def _where(self, printed: str) -> tuple[str, str | None, bool]:
        """A printed file name's repository path, its standard-library package's `name.` prefix
        for functions (None outside $GOROOT) and whether the go command generated it."""
        where = self._wheres.get(printed)
        if where is None:
            file = self._files(printed)
            prefix = std_package(file) + "." if in_goroot(file) else None
            where = self._wheres[printed] = (file, prefix, is_go_generated(printed))
        return where

    def _link(self, block: Block, s: Summary) -> Linked | None:
        kind, printed, subject, line, column = s.kind, s.file, s.subject, s.line, s.column
        allocates = kind is ESCAPES_TO_HEAP or kind is MOVED_TO_HEAP
        file, prefix, go_generated = self._where(printed)
        if go_generated:
            self.generated_skipped += allocates  # heap escapes only: leaks are contracts
            return None
        if not self._keep_leaks and not allocates:
            return None
        candidates = block.headers.get(s.pos, ())  # a defaultdict: `get` adds no empty list
        flows: list[Flow] = []
        raw_function: str | None = None
        found = subject  # the explanation's subject: an append's destination is read from it
        if allocates:
            chosen = None  # the first unused explanation of this subject, else the first unused
            for h in candidates:
                if not h.leak and not h.used:
                    if h.subject == subject:
                        chosen = h
                        break
                    if chosen is None:
                        chosen = h
            if chosen is not None:
                chosen.used = True
                flows, raw_function, found = chosen.flows, chosen.function, chosen.subject
        else:
            param = subject.split(" ", 1)[0]
            dotted = "." + param
            for h in candidates:
                if h.leak and (h.subject == param or h.subject.endswith(dotted)):
                    h.used = True
                    flows.extend(h.flows)
                    raw_function = raw_function or h.function
        if raw_function is None:
            raw_function = self._function_from_source(block, printed, line, column)
        function = self._names.get(raw_function)
        if function is None:
            if _named_by_position(raw_function):  # not one name per raw name: not cached
                function = collapse_generics(self._stable_name(raw_function, printed, line, column))
            else:
                function = self._names[raw_function] = collapse_generics(raw_function)
        if prefix is not None and function != "?":
            function = prefix + function  # `slices.Concat`, `http.StripPrefix.1`
        facts = self._facts
        results = self._results.get((printed, function))
        if results is None:  # read from source if a rule asks, once per function
            results = LazyNames(partial(facts.named_results, printed, function))
            self._results[(printed, function)] = results
        storage = self._storage.get(raw_function)
        if storage is None:
            storage = self._storage[raw_function] = storage_lookup(block, raw_function)
        cause = classify(kind, subject, flows, storage, results)
        static = ""
        destination = None
        if kind is ESCAPES_TO_HEAP:
            if subject == "append" or subject.startswith("append("):
                destination = append_destination(found) or append_destination(
                    facts.source_at(printed, line, column)
                )
            else:
                source = facts.source_at(printed, line, column) or None
                if is_constant(subject, source) or subject in facts.constants(printed):
                    static = CONSTANT_REASON
                else:
                    structs = self._structs.get(printed)
                    if structs is None:  # most subjects never ask
                        structs = self._structs[printed] = LazyNames(partial(facts.struct_types, printed))
                    static = runtime_static(subject, source, structs)
        expression = facts.readable(subject, printed, line, column) if allocates else subject
        message = s.message if expression == subject else expression + s.message[len(subject) :]
        line_text, generated = facts.line_text(printed, line), facts.is_generated(printed)
        # by position, in the fields' order: matching 13 keywords costs about as much as the
        # record's own construction
        escape = Escape(
            block.package,
            file,
            line,
            column,
            function,
            kind,
            expression,
            message,
            cause,
            tuple(flows),  # explanation
            1,  # count
            line_text,
            static,
            "",  # origin
            "",  # origin_at
            generated,
        )
        if prefix is not None and allocates:
            escape = self._at_call_site(block, escape)
        return Linked(s, raw_function, destination, escape)

    def _at_call_site(self, block: Block, e: Escape) -> Escape:
        """A standard-library closure compiled in this package, moved to the repository call site.

        `http.StripPrefix` inlined at `middleware/strip.go:68:26` brings its func literal into the
        package; the compiler reports that literal's allocations at `net/http/server.go` lines in
        `StripPrefix.1`. They are the call site's: reported there, with the standard-library
        function as their origin. Anything else (a generic body instantiated in the package, a
        literal inlined at several sites) stays at its `$GOROOT/` file.
        """
        outer = enclosing_names(e.function)[-1]
        if outer == e.function:
            return e  # not a closure: the body itself, compiled here for an instantiation
        if block.call_sites is None:  # indexed once per block: every closure of std asks
            block.call_sites = self._call_sites(block)
        sites = block.call_sites.get(outer, ())
        if len(sites) != 1:
            return e
        printed, line, column = sites[0]
        return replace(
            e,
            file=self._files(printed),
            line=line,
            column=column,
            function=self._stable_name(
                self._function_from_source(block, printed, line, column), printed, line, column
            ),
            line_text=self._facts.line_text(printed, line),
            origin=outer,
            origin_at=f"{e.file}:{e.line}",
        )

    def _call_sites(self, block: Block) -> dict[str, list[tuple[str, int, int]]]:
        """Inlined function (generics collapsed) -> the positions outside $GOROOT it is inlined
        at, each once, in the log's order."""
        index: dict[str, list[tuple[str, int, int]]] = {}
        for pos, callees in block.inlined_at.items():
            parsed = parse_pos(pos)
            if parsed is None or in_goroot(self._files(parsed[0])):
                continue
            for callee in dict.fromkeys(collapse_generics(c) for c in callees):
                index.setdefault(callee, []).append(parsed)
        return index

    def _stable_name(self, raw: str, file: str, line: int, column: int) -> str:
        """The function's name as the user can see it in the source.

        Literals of package-level initialisers (`init.func3`) are named after their variable
        (`pool.func1`) from the source, and so are copies compiled under an internal name
        (`F.func1.func1#hash#` is `F.func1.1`); without the source the hash is only dropped.
        """
        if not _named_by_position(raw):
            return raw
        if self._facts.file_spans(file) is not None:
            return self._function_from_source(Block(""), file, line, column)
        return strip_internal(raw)

    # -- sources ----------------------------------------------------------------------------
    def _function_from_source(self, block: Block, file: str, line: int, column: int) -> str:
        spans = self._facts.file_spans(file)
        if spans is not None:
            return enclosing_function(spans, line, column) or "init"
        # no source: the nearest function declared above, from `can inline`/`cannot inline`
        if block.decl_positions is None:  # parsed once per block, when first needed
            parsed_decls = ((parse_pos(pos), name) for pos, name in block.decls)
            block.decl_positions = [(*p, name) for p, name in parsed_decls if p is not None]
        if self._decls_of is not block:  # and sorted per file: every record without a function asks
            self._decls_of, self._decls = block, {}
            for decl_file, decl_line, decl_column, name in block.decl_positions:
                self._decls.setdefault(decl_file, []).append((decl_line, decl_column, name))
            for decls in self._decls.values():
                decls.sort()
        decls = self._decls.get(file, [])
        # the greatest (line, column, name) at or before the position: the last one of the sorted
        # list that is not after it
        above = bisect_right(decls, (line, column or 10**6), key=lambda decl: (decl[0], decl[1]))
        return decls[above - 1][2] if above else "?"

    def stats(self) -> ParseStats:
        """Counters so far."""
        return ParseStats(
            lines=self.lines,
            packages=self.packages,
            unknown_lines=self.unknown,
            generated_skipped=self.generated_skipped,
            duplicates_collapsed=self.collapsed,
            unknown_samples=tuple(self.unknown_samples),
        )


def parse_lines(
    lines: Iterable[str | bytes], parser: LogParser | None = None, *, native_scan: bool = True
) -> Iterator[Escape]:
    """Stream records from lines of a `-m=2` log (text or `go build -json` events; an event may
    come as the bytes read, see bot/gc/events.py). The hot loop runs in C where bot/gc/_scan.c
    was built (`native_scan=False`: the pure-Python loop, which gives the same records)."""
    parser = parser or LogParser()
    it = iter(lines)
    head = next(it, None)
    if head is None:
        yield from parser.close()
        return
    in_c = native.scan is not None and native_scan
    if is_event(head):  # `go build -json`: events expanded to the lines of their output
        # the C scanner reads each megabyte's lines in place
        stream: Iterable[str] = chain.from_iterable(parser.events(chain((head,), it), pieces=in_c))
    else:  # a text log: only events come as bytes (the runner's big ones)
        stream = chain((text_of(head),), cast(Iterator[str], it))
    if in_c:
        yield from _scan_natively(stream, parser)
        return
    out = parser.ready
    feed = parser._feed
    fast = 0
    current: Header | None = None
    prefix = NEVER  # `POS:  ` of the current explanation's header
    for line in stream:
        # The hot loop. Four lines in five are `flow:`/`from` lines of the explanation being
        # read, with its header's position: appended as they are, with one test and no slice
        # (bot/gc/flows.py cuts `POS: ` off them all at once).
        if current is not None:
            if line.startswith(prefix):
                current.raw.append(line)
                fast += 1
                continue
            idx = line.find(": ")
            if idx > 0 and line[idx + 2 : idx + 3] == " ":
                current.raw.append(line[idx + 2 :])
                fast += 1
                continue
        feed(line, out)
        block = parser._block
        header = block.current if block is not None else None
        if header is not current:
            if current is not None:
                compact(current)  # one string instead of a line each while the block is read
            current = header
            # a line starting with `P:  `, P without `: `, is an explanation line (its first
            # `: ` followed by a space): P is the position of the line that made the header
            idx = line.find(": ")
            prefix = line[:idx] + ":  " if idx > 0 else NEVER
        if out:
            yield from out
            out.clear()
    parser.lines += fast
    yield from out
    out.clear()
    yield from parser.close()


NEVER = "\n\n"  # no line starts so: a prefix that matches none


# bot/gc/_scan.c's Scanner: the messages to skip, and the escape kinds in `_message`'s order
_SCAN_SKIPS = (tuple(p.encode() for p in SKIP_PREFIXES), tuple(p.encode() for p in SKIP_SUFFIXES))
_SCAN_KINDS = (
    (LEAK.encode(), False, Kind.LEAKING_PARAM),
    (ESCAPES.encode(), True, Kind.ESCAPES_TO_HEAP),
    (MOVED.encode(), False, Kind.MOVED_TO_HEAP),
    (LEAK_CONTENT.encode(), False, Kind.LEAKING_PARAM_CONTENT),
)


def _scan_natively(stream: Iterable[str], parser: LogParser) -> Iterator[Escape]:
    """`parse_lines`' loop with bot/gc/_scan.c reading the lines into the package's Block (as
    `_message` does) and explanations' lines into their header's text (as `compact` does):
    Python reads package headers and odd lines, with `_feed`."""
    assert native.scan is not None
    scanner = native.scan.Scanner(stream, *_SCAN_SKIPS, _SCAN_KINDS, _made(Header), _made(Summary))
    out = parser.ready
    feed = parser._feed
    block = parser._block
    current = block.current if block is not None else None
    while True:
        line = scanner.next(block, current)
        if line is None:
            break
        held = block.current if block is not None else None  # as the scanner left it
        feed(line, out)
        if held is not None and held.raw:  # explanation lines of a `{` event, fed by Python
            _absorb(held)
        block = parser._block
        current = block.current if block is not None else None
        if current is not None and current is not held and current.raw:
            _absorb(current)
        if out:
            yield from out
            out.clear()
    parser.lines += scanner.consumed
    yield from out
    out.clear()
    yield from parser.close()


@functools.cache
def _made(cls: type[object]) -> Callable[..., object]:
    """`cls`, or a constructor of its instances in C with the same fields and defaults
    (bot/gc/_scan.c's Maker) where its shape allows."""
    assert native.scan is not None
    given, value, factory = 0, 1, 2  # how Maker fills a field
    spec = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.default is not dataclasses.MISSING:
            spec.append((f.name, value, f.default))
        elif f.default_factory is not dataclasses.MISSING:
            spec.append((f.name, factory, f.default_factory))
        else:
            spec.append((f.name, given, None))
    try:
        maker: Callable[..., object] = native.scan.Maker(cls, tuple(spec))
    except TypeError:
        return cls
    return maker


def _absorb(header: Header) -> None:
    """Lines appended to `raw` by Python, after the text C collected: both as one text."""
    before, ended = header.text, header.ended
    header.text = None
    compact(header)
    if before is not None:
        header.text, header.ended = before + (header.text or ""), ended


def _named_by_position(raw: str) -> bool:
    """A compiler name `_stable_name` replaces by the source's name at the record's position."""
    return raw.startswith("init.func") or "#" in raw


def _site_key(e: Escape) -> tuple[object, ...]:
    return (e.file, e.line, e.column, e.kind, e.expression, e.function)


def parse_log(
    lines: Iterable[str],
    *,
    files: Callable[[str], str] | None = None,
    sources: SourceLookup | None = None,
) -> tuple[list[Escape], ParseStats]:
    """All records of a log, sorted by package, file and position, with the parser's stats."""
    parser = LogParser(files=files, sources=sources)
    with gc_paused():
        records = list(parse_lines(lines, parser))
        records.sort(key=record_order)
    return records, parser.stats()


# GOROOT_PREFIX, in_goroot and module_file_mapper live in bot/gc/goroot.py; importable from here too
__all__ = ["GOROOT_PREFIX", "LogParser", "in_goroot", "module_file_mapper", "parse_lines", "parse_log"]
