"""The results artifact's format: typed records (msgspec Structs) from which the encoder, the
strict decoder and the published JSON Schema (docs/results-artifact.schema.json) all derive,
and the decoded records turned into the analysis's own (Escape, Snapshot, DiffResult); the
analyze job's side, records into wire records, is bot/github/artifact.py.

The rules of reading it are in bot/github/artifact.py's docstring and docs/security.md.

The wire records are `msgspec.Struct`s, frozen like every record, because msgspec can refuse
unknown fields only on Structs (not on dataclasses): the objects where an unknown field could
carry meaning (the top level, where an older artifact had its `gate` policy, the pull request,
the source comments, failed modules, skipped counts) are closed; the escape lists and the sides
stay open because artifacts of the same version written by older releases carry derived fields
(`fingerprint`, `hint`...) there, which are ignored, never shown.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from bot.annotations import Annotations, Suppression
from bot.diff import DiffResult, Skipped
from bot.errors import EXIT_FAILURE, BotError, UsageError
from bot.gc.model import Cause, Escape, FailedModule, Flow, Kind, Position, Snapshot, Step, Toolchain
from bot.memory import gc_paused
from bot.report.safe import visible

ARTIFACT_FILE = "escape-bot-results.json"


FORMAT = "escape-bot-results"


VERSION = 2  # 2: data only; the gate policy is no longer carried (issue #13)


# ~31,000 of the standard library's escapes with their explanations; far above that is not ours
MAX_BYTES = 32 * 1024 * 1024


MAX_ESCAPES = 100_000  # per list (new, fixed)


MAX_STEPS = 1000  # explanation steps per escape: the writer keeps the first ones (std has 7,227)


MAX_STRING = 65_536  # a compiler message or expression; Go abbreviates long expressions itself


Source = Literal["built", "store"]


class ArtifactError(BotError):
    """The results artifact is missing, malformed, or does not belong to this pull request."""

    exit_code = EXIT_FAILURE


# ---- the wire records: constraints as the type says them ----------------------------------------


def _pattern(body: str) -> str:
    # Python's `$` also matches before a final newline: `(?!\n)` keeps "<sha>\n" out
    # (in the published schema's ECMA dialect, `$` is the end and the lookahead always holds)
    return f"^{body}$(?!\\n)"


Meta = msgspec.Meta
Text = Annotated[str, Meta(max_length=MAX_STRING)]  # a message, an expression, an explanation step
Name = Annotated[str, Meta(max_length=4096)]  # a package, file, function, reason
At = Annotated[str, Meta(max_length=8192)]  # a position as printed: FILE:LINE[:COLUMN]
Short = Annotated[str, Meta(max_length=256)]
Sha = Annotated[str, Meta(pattern=_pattern("[0-9a-f]{40}(?:[0-9a-f]{24})?"))]
Platform = Annotated[str, Meta(pattern=_pattern("[a-z0-9]{0,32}"))]
LineNumber = Annotated[int, Meta(ge=0, le=100_000_000)]
CommentLine = Annotated[int, Meta(ge=1, le=100_000_000)]
Units = Annotated[int, Meta(ge=0, le=1_000_000_000)]


class StepData(msgspec.Struct, frozen=True, kw_only=True):
    """One step of an escape's explanation; `flow` names the flow edge (`DST ← SRC`)."""

    flow: Text
    where: Text
    why: Text
    at: At | None


class OriginData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The function inlined at this call site."""

    function: Name
    at: At | None


class EscapeData(msgspec.Struct, frozen=True, kw_only=True):
    """One escape, as `escape-bot diff --format json` writes it (docs/json-output.md)."""

    package: Name
    file: Annotated[str, Meta(min_length=1, max_length=4096)]
    line: LineNumber
    column: LineNumber
    function: Name
    kind: Kind
    expression: Text
    message: Text
    cause: Cause
    count: Annotated[int, Meta(ge=1, le=1_000_000)]
    explanation: Annotated[tuple[StepData, ...], Meta(max_length=MAX_STEPS)]
    no_allocation_reason: Name | None = None
    origin: OriginData | None = None
    generated: bool = False
    appends: Annotated[int, Meta(ge=0, le=1_000_000)] = 0


class SideData(msgspec.Struct, frozen=True, kw_only=True):
    """Which revision, which commit, which toolchain."""

    revision: Short
    commit: Sha
    go_version: Annotated[str, Meta(max_length=64)]
    goos: Platform
    goarch: Platform
    tags: Annotated[tuple[Short, ...], Meta(max_length=100)]


class CountsData(msgspec.Struct, frozen=True, kw_only=True):
    """Only the number of unchanged heap-escape units is read."""

    unchanged: Units


class FailedModuleData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A module that did not build, and on which side."""

    module: Annotated[str, Meta(max_length=1024)]
    directory: Name
    side: Literal["base", "head", "both"]
    errors: Annotated[tuple[Name, ...], Meta(max_length=100)]


class SkippedData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Heap-escape units of one reason neither listed nor gated."""

    head: Units
    new: Units = 0
    fixed: Units = 0


Escapes = Annotated[tuple[EscapeData, ...], Meta(max_length=MAX_ESCAPES)]
SkippedByReason = Annotated[dict[Annotated[str, Meta(max_length=64)], SkippedData], Meta(max_length=16)]


class ResultsData(msgspec.Struct, frozen=True, kw_only=True):
    """The comparison: the fields of `escape-bot diff --format json` that publish reads."""

    schema: Literal[1]  # bot.report.serialize.SCHEMA_VERSION
    base: SideData
    head: SideData
    new: Escapes
    fixed: Escapes
    new_leaks: Escapes = ()
    fixed_leaks: Escapes = ()
    counts: CountsData
    base_source: Source = "built"
    head_source: Source = "built"
    failed_modules: Annotated[tuple[FailedModuleData, ...], Meta(max_length=1000)] = ()
    skipped: SkippedByReason = {}


class SuppressionData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An `//escape-bot:allow` comment with the text of its line and of the line below, so that
    publish can tell one the pull request added from one the base branch has."""

    line: CommentLine
    reason: Name
    lines: Annotated[tuple[Text, ...], Meta(max_length=2)]


class FileAnnotationsData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The head's source comments of one file with new escapes."""

    suppressions: Annotated[tuple[SuppressionData, ...], Meta(max_length=10_000)]
    noescape_lines: Annotated[tuple[CommentLine, ...], Meta(max_length=100_000)]
    noescape_functions: Annotated[tuple[Name, ...], Meta(max_length=10_000)]


class PullRequestData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The pull request and the commits the analyze run was for."""

    number: Annotated[int, Meta(ge=1, le=2**31 - 1)]
    head_sha: Sha
    base_sha: Sha


class ArtifactData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """escape-bot results artifact: what a pull_request run analysed, data only."""

    format: Literal["escape-bot-results"]  # FORMAT
    schema: Literal[2]  # VERSION
    name: Annotated[str, Meta(pattern=_pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,99}"))]
    repository: Annotated[str, Meta(pattern=_pattern("[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}"))]
    pull_request: PullRequestData
    annotations: Annotated[dict[Name, FileAnnotationsData], Meta(max_length=10_000)]
    results: ResultsData


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the artifact, derived from the records (docs/results-artifact.schema.json)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "escape-bot results artifact",
        **msgspec.json.schema(ArtifactData),
    }


# ---- the records of the analysis -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Results:
    """A results artifact after validation: the analysis of one pull request."""

    name: str  # configuration name
    repository: str  # owner/name the pull_request run ran in
    number: int
    head_sha: str  # pull_request.head.sha when it was analysed
    base_sha: str
    base: Snapshot
    head: Snapshot  # the test merge commit that was built
    result: DiffResult
    annotations: Mapping[str, Annotations]
    # file -> suppression line -> the text of that line and of the line below, as analysed
    suppressed_lines: Mapping[str, Mapping[int, tuple[str, ...]]]
    base_source: Source = "built"
    head_source: Source = "built"


# ---- encoding and decoding ------------------------------------------------------------------------


def encode_artifact(data: ArtifactData) -> bytes:
    """The file's bytes: compact UTF-8 JSON, one line."""
    return msgspec.json.encode(data) + b"\n"


_DECODER = msgspec.json.Decoder(ArtifactData, strict=True)


def _read_bounded(path: Path) -> bytes:
    """At most MAX_BYTES of a regular file, never through a symlink."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ArtifactError(
            f"no escape-bot results at {path}: did the analyze job upload the artifact, and did "
            "download-artifact put it there?"
        ) from None
    except OSError as exc:
        raise ArtifactError(f"cannot read the results artifact {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ArtifactError(f"the results artifact {path} is not a regular file")
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ArtifactError(f"the results artifact {path} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> None:
    if len(pairs) > 1 and len({key for key, _ in pairs}) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key[:40]!r}")
            seen.add(key)


def _check_duplicate_keys(data: bytes) -> None:
    """msgspec keeps the last of repeated keys (msgspec issue #648); the artifact has none. Run on
    a document msgspec accepted, so its depth is bounded by the types."""
    json.loads(data, object_pairs_hook=_no_duplicates)


_AT_PATH = re.compile(r"(?s)(.*) - at `(.*)`")


def parse_artifact(data: bytes, where: str = "the results artifact") -> Results:
    """Strict JSON decoded into the typed records, then the analysis's records; ArtifactError
    with one line naming the bad field otherwise."""
    try:
        with gc_paused():  # tens of thousands of acyclic records (bot/memory.py)
            document = _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        m = _AT_PATH.fullmatch(str(exc))
        path, message = (m.group(2), m.group(1)) if m else ("$", str(exc))
        version = (
            f" (this escape-bot reads results artifacts of schema {VERSION})" if path == "$.schema" else ""
        )
        raise ArtifactError(
            f"{where} is malformed at {_short(path, 80)}: {_short(message)}{version}"
        ) from None
    except msgspec.DecodeError as exc:
        raise ArtifactError(f"{where} is not valid JSON: {_short(str(exc))}") from None
    try:
        _check_duplicate_keys(data)
    except ValueError as exc:
        raise ArtifactError(f"{where} is not valid JSON: {_short(str(exc))}") from None
    try:
        with gc_paused():
            return _records(document)
    except (ValueError, UsageError) as exc:  # inconsistent fields, a position that does not parse
        raise ArtifactError(f"{where} is malformed: {_short(str(exc))}") from None


def read_artifact(directory: Path) -> Results:
    """The validated contents of the results artifact downloaded to `directory`."""
    path = directory / ARTIFACT_FILE
    return parse_artifact(_read_bounded(path), f"the results artifact {path}")


def _short(text: str, limit: int = 200) -> str:
    """Validation messages quote the offending value: one line, bounded."""
    text = visible(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


_AT = (re.compile(r"(.+):(\d+):(\d+)"), re.compile(r"(.+):(\d+)"))


def _position(at: str | None) -> Position | None:
    """`FILE:LINE:COL` or `FILE:LINE` (`str(Position)`). A file name with `:N` in it may split
    elsewhere than it was joined; the text shown, all that a position is used for, is the same."""
    if at is None:
        return None
    for pattern in _AT:
        m = pattern.fullmatch(at)
        if m is not None:
            return Position(m.group(1), int(m.group(2)), int(m.group(3)) if m.lastindex == 3 else 0)
    raise ValueError(f"explanation position {at[:80]!r} is not FILE:LINE[:COLUMN]")


FLOW_ARROW = " ← "  # a flow edge is written `DST ← SRC`


def _explanation(steps: tuple[StepData, ...]) -> tuple[Flow, ...]:
    """The flat step list of the JSON back into flows (consecutive steps of one flow)."""
    flows: list[tuple[str, list[Step]]] = []
    for s in steps:
        step = Step(s.where, s.why, _position(s.at))
        if flows and flows[-1][0] == s.flow:
            flows[-1][1].append(step)
        else:
            flows.append((s.flow, [step]))
    out = []
    for text, flow_steps in flows:
        # like positions, `DST ← SRC` splits at the first arrow: the same text when shown
        dst, _, src = text.partition(FLOW_ARROW)
        out.append(Flow(dst, src, tuple(flow_steps)))
    return tuple(out)


def _escape(d: EscapeData) -> Escape:
    return Escape(
        package=d.package,
        file=d.file,
        line=d.line,
        column=d.column,
        function=d.function,
        kind=d.kind,
        expression=d.expression,
        message=d.message,
        cause=d.cause,
        explanation=_explanation(d.explanation),
        count=d.count,
        static=d.no_allocation_reason or "",
        origin=d.origin.function if d.origin else "",
        origin_at=(d.origin.at or "") if d.origin else "",
        generated=d.generated,
        appends=d.appends,
    )


def _snapshot(side: SideData) -> Snapshot:
    toolchain = Toolchain(side.go_version, side.goos, side.goarch, side.tags)
    return Snapshot(side.revision, side.commit, toolchain, ())


def _annotations(data: Mapping[str, FileAnnotationsData]) -> dict[str, Annotations]:
    return {
        file: Annotations(
            suppressions=tuple(Suppression(s.line, s.reason) for s in a.suppressions),
            noescape_lines=frozenset(a.noescape_lines),
            noescape_functions=frozenset(a.noescape_functions),
        )
        for file, a in data.items()
    }


def _records(doc: ArtifactData) -> Results:
    results = doc.results
    pr = doc.pull_request
    if results.base.commit != pr.base_sha:
        raise ValueError("results.base.commit is not pull_request.base_sha")
    # heap escapes and leaking parameters travel in separate lists (docs/json-output.md)
    new = tuple(_escape(e) for e in (*results.new, *results.new_leaks))
    fixed = tuple(_escape(e) for e in (*results.fixed, *results.fixed_leaks))
    # only the number of unchanged escapes is reported; one record carries it
    unchanged_units = results.counts.unchanged
    unchanged: tuple[Escape, ...] = ()
    if unchanged_units:
        unchanged = (
            Escape("", "", 0, 0, "", Kind.MOVED_TO_HEAP, "", "", Cause.UNKNOWN, count=unchanged_units),
        )
    return Results(
        name=doc.name,
        repository=doc.repository,
        number=pr.number,
        head_sha=pr.head_sha,
        base_sha=pr.base_sha,
        base=_snapshot(results.base),
        head=_snapshot(results.head),
        result=DiffResult(
            new=new,
            fixed=fixed,
            unchanged=unchanged,
            skipped=tuple(
                Skipped(reason, n.head, n.new, n.fixed)
                for reason, n in results.skipped.items()
                if reason != "generated-by-go"  # a parse statistic, not a skip rule
            ),
            failed_modules=tuple(
                FailedModule(f.module, f.directory, f.side, f.errors) for f in results.failed_modules
            ),
        ),
        annotations=_annotations(doc.annotations),
        suppressed_lines={
            file: {sup.line: sup.lines for sup in a.suppressions} for file, a in doc.annotations.items()
        },
        base_source=results.base_source,
        head_source=results.head_source,
    )


if __name__ == "__main__":  # python -m bot.github.artifact_format > docs/results-artifact.schema.json
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
