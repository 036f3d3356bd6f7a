"""Canonical serialisation of escapes and the content digests the store addresses them by.

Pure: no database. The digest of a file's or a package's escapes depends only on their
content (never on the order the parser produced them, the backend or the Python run), so
identical results computed anywhere share one stored row.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring as _string  # the C escaper `_compact` uses
from typing import Any

from bot.gc.model import Cause, Escape, Flow, Kind, Position, Step

# Bumped whenever the serialisation changes, so old and new digests can never collide.
_FILE_PREFIX = b"escape-bot file-result v1\n"
_PACKAGE_PREFIX = b"escape-bot package-result v1\n"

# Everything about an escape except its package and file, in the stored column order.
SiteRow = tuple[int, int, str, str, str, str, str, int, str, str]


# One encoder, built once: json.dumps with options builds a new one per call.
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@functools.cache
def _compact_bytes() -> Callable[[Any], bytes]:
    """The same bytes as `_compact(...).encode()` for the strings, ints and tuples of a digest
    (string escaping included: tests/store/test_content.py), in less than half the time and
    without the copy. Imported when first written: readers (`trend`, `top`) start without msgspec."""
    import msgspec

    return msgspec.json.Encoder().encode


_KINDS = {kind.value: kind for kind in Kind}
_CAUSES = {cause.value: cause for cause in Cause}


def explanation_to_json(flows: Sequence[Flow]) -> str:
    """`[{"dst","src","steps":[{"where","why","at":[file,line,column]|null}]}]`, compact."""
    return ExplanationWriter().write(flows)


class ExplanationWriter:
    """Writes explanation columns, each distinct step and flow object once: the parser shares
    equal flows between records (the standard library's ~470,000 flows are ~80,000 objects), so
    most are looked up. The text is `_compact`'s byte for byte (its string escaping, `int`'s
    repr), which the content digests depend on. Holds the objects it wrote (their ids are keys)."""

    def __init__(self) -> None:
        self._texts: dict[int, str] = {}  # id of a step or flow -> its text
        self._kept: list[Step | Flow] = []  # what keeps those ids from being reused

    def _step(self, step: Step) -> str:
        text = self._texts.get(id(step))
        if text is None:
            at = step.at
            where = "null" if at is None else f"[{_string(at.file)},{int(at.line)!r},{int(at.column)!r}]"
            text = self._texts[id(step)] = (
                f'{{"where":{_string(step.where)},"why":{_string(step.why)},"at":{where}}}'
            )
            self._kept.append(step)
        return text

    def _flow(self, flow: Flow) -> str:
        steps = ",".join(map(self._step, flow.steps))
        text = self._texts[id(flow)] = (
            f'{{"dst":{_string(flow.dst)},"src":{_string(flow.src)},"steps":[{steps}]}}'
        )
        self._kept.append(flow)
        return text

    def write(self, flows: Sequence[Flow]) -> str:
        """`explanation_to_json(flows)`."""
        if not flows:
            return "[]"
        texts = self._texts
        return f"[{','.join([texts.get(id(flow)) or self._flow(flow) for flow in flows])}]"


def explanation_from_json(text: str) -> tuple[Flow, ...]:
    """The inverse of `explanation_to_json`."""
    if text == "[]":  # most escapes: skip the parser
        return ()
    return tuple(
        Flow(
            dst=flow["dst"],
            src=flow["src"],
            steps=tuple(
                Step(
                    where=step["where"],
                    why=step["why"],
                    at=None if step["at"] is None else Position(*step["at"]),
                )
                for step in flow["steps"]
            ),
        )
        for flow in json.loads(text)
    )


_EXTRAS = ("static", "origin", "origin_at", "generated", "appends")


def _explanation_column(escape: Escape, writer: ExplanationWriter | None = None) -> str:
    """The explanation, or `{"flows": [...], "origin": ...}` when the escape carries the
    accuracy fields (a constant, an inlined copy, a generated file, grouped appends): they
    ride in the same JSON column, so the schema does not change."""
    flows = (writer or ExplanationWriter()).write(escape.explanation)
    extras = {k: getattr(escape, k) for k in _EXTRAS if getattr(escape, k)}
    if not extras:
        return flows
    # `_compact({"flows": ..., **extras})` without decoding and encoding the flows again
    return f'{{"flows":{flows},{_compact(extras)[1:]}'


def _from_explanation_column(text: str) -> tuple[tuple[Flow, ...], dict[str, Any]]:
    if not text.startswith("{"):
        return explanation_from_json(text), {}
    data = json.loads(text)
    flows = _compact(data.pop("flows"))
    return explanation_from_json(flows), {k: v for k, v in data.items() if k in _EXTRAS}


def site_row(escape: Escape, writer: ExplanationWriter | None = None) -> SiteRow:
    """An escape's stored fields below its file; sorting these gives the canonical order. A batch
    passes one `writer`, which writes each shared flow once."""
    return (
        escape.line,
        escape.column,
        escape.function,
        escape.kind.value,
        escape.expression,
        escape.message,
        escape.cause.value,
        escape.count,
        escape.line_text,
        _explanation_column(escape, writer),
    )


def _extras_only(text: str) -> tuple[tuple[Flow, ...], dict[str, Any]]:
    if not text.startswith("{"):
        return (), {}
    return (), {k: v for k, v in json.loads(text).items() if k in _EXTRAS}


Column = tuple[tuple[Flow, ...], dict[str, Any]]
"""An explanation column read back: the flows and the accuracy fields."""


class ExplanationReader:
    """Reads many explanation columns, sharing equal steps and flows between the records: the
    standard library's ~480,000 flows are ~80,000 distinct ones, so most are looked up rather than
    built, and a loaded snapshot holds one copy of each (the records are immutable)."""

    def __init__(self) -> None:
        self._steps: dict[tuple[Any, ...], Step] = {}
        self._flows: dict[tuple[Any, ...], Flow] = {}
        self._decode = json.JSONDecoder(object_pairs_hook=self._object).decode

    def _object(self, pairs: list[tuple[str, Any]]) -> Any:
        keys = tuple(k for k, _ in pairs)
        if keys == ("where", "why", "at"):  # the order explanation_to_json writes
            (_, where), (_, why), (_, at) = pairs
            key = (where, why, None if at is None else tuple(at))
            step = self._steps.get(key)
            if step is None:
                step = self._steps[key] = Step(where, why, None if at is None else Position(*at))
            return step
        if keys == ("dst", "src", "steps"):
            (_, dst), (_, src), (_, steps) = pairs
            key = (dst, src, *map(id, steps))  # steps are the shared objects above
            flow = self._flows.get(key)
            if flow is None:
                flow = self._flows[key] = Flow(dst, src, tuple(steps))
            return flow
        return dict(pairs)

    def read(self, text: str) -> Column:
        """What `escape_from_row` reads from the column, as `explanation_from_json` would."""
        if text == "[]":
            return (), {}
        data = self._decode(text)
        if isinstance(data, dict):
            return tuple(data.pop("flows")), {k: v for k, v in data.items() if k in _EXTRAS}
        return tuple(data), {}


def escape_from_row(
    package: str,
    file: str,
    row: Sequence[Any],
    *,
    flows: bool = True,
    reader: ExplanationReader | None = None,
) -> Escape:
    """Rebuild an `Escape` from a `SiteRow`-shaped database row; without its explanation's flows
    when `flows` is False (the accuracy fields that share the column are always read). A batch
    passes one `reader`, which shares equal flows between its records."""
    line, column, function, kind, expression, message, cause, count, line_text, explanation = row
    plain = _from_explanation_column if flows else _extras_only
    decode = reader.read if flows and reader is not None else plain
    explanation_flows, extras = decode(explanation)
    return Escape(
        package=package,
        file=file,
        line=line,
        column=column,
        function=function,
        kind=_KINDS[kind],
        expression=expression,
        message=message,
        cause=_CAUSES[cause],
        explanation=explanation_flows,
        count=count,
        line_text=line_text,
        **extras,
    )


@dataclass(frozen=True, slots=True)
class FileContent:
    """One file's escapes in canonical order, with their digest."""

    file: str
    rows: tuple[SiteRow, ...]
    digest: str


@dataclass(frozen=True, slots=True)
class PackageContent:
    """One package's file results (sorted by file), with their digest."""

    package: str
    files: tuple[FileContent, ...]
    digest: str

    @property
    def escape_count(self) -> int:
        """Escape sites in the package."""
        return sum(len(f.rows) for f in self.files)


def file_content(file: str, rows: Iterable[SiteRow]) -> FileContent:
    """Sort a file's rows and digest them with the file path."""
    ordered = tuple(sorted(rows))
    digest = hashlib.sha256(_FILE_PREFIX + _compact_bytes()([file, ordered])).hexdigest()
    return FileContent(file, ordered, digest)


def package_content(package: str, files: Iterable[FileContent]) -> PackageContent:
    """Digest a package from its path and its files' digests (a Merkle node)."""
    ordered = tuple(sorted(files, key=lambda f: f.file))
    payload = _compact([package, [[f.file, f.digest] for f in ordered]])
    return PackageContent(package, ordered, hashlib.sha256(_PACKAGE_PREFIX + payload.encode()).hexdigest())


PackageMemo = dict[str, tuple[tuple[Escape, ...], PackageContent]]
"""The last content computed per package, with the very escape objects it was computed from."""


def split_escapes(
    escapes: Iterable[Escape], memo: PackageMemo | None = None, light: Container[int] = ()
) -> list[PackageContent]:
    """Group escapes by package and file into digested content, sorted by package.

    With `memo`, a package whose escapes are the same objects as last time (head's records that
    the parser took from base, bot/gc/reuse.py) gets last time's content without encoding or
    hashing anything again: escapes are immutable, so the same objects give the same content.
    `light` are the ids of records read without their explanations (bot/store/blocks.py): their
    content is only ever the memo's, and encoding one is refused (it would store them without).
    """
    grouped: dict[str, list[Escape]] = {}
    for escape in escapes:
        grouped.setdefault(escape.package, []).append(escape)
    writer = ExplanationWriter()
    contents = []
    for package, found in sorted(grouped.items()):
        seen = memo.get(package) if memo is not None else None
        if seen is not None and len(seen[0]) == len(found) and all(map(operator.is_, seen[0], found)):
            contents.append(seen[1])
            continue
        if light and any(id(e) in light for e in found):
            raise ValueError(f"package {package}: records read without their explanations cannot be encoded")
        files: dict[str, list[SiteRow]] = {}
        for escape in found:
            files.setdefault(escape.file, []).append(site_row(escape, writer))
        content = package_content(package, (file_content(file, rows) for file, rows in files.items()))
        if memo is not None:
            memo[package] = (tuple(found), content)
        contents.append(content)
    return contents


def canonical_order(escapes: Iterable[Escape]) -> tuple[Escape, ...]:
    """Escapes in the order the store returns them: package, file, then `site_row`."""
    return tuple(sorted(escapes, key=lambda e: (e.package, e.file, site_row(e))))
