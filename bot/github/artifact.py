"""The results artifact of the fork-safe pair of workflows (docs/action.md, "Fork pull requests").

`escape-bot ci --mode analyze` runs on `pull_request` with a read-only token and writes the
results here; `actions/upload-artifact` uploads the directory. `--mode publish` runs on
`workflow_run` with a write token, after `actions/download-artifact`, and reads it back.

In the publish job the file is **untrusted data**: a fork's pull_request run executes the PR's
own code and workflow files, so it can write anything into the artifact. `read_artifact`
therefore reads at most `MAX_BYTES` of one regular file, decodes strict JSON (no NaN, no
duplicate keys, UTF-8 only) straight into typed records that check types, enums, lengths and
counts (`ArtifactData`, closed to unknown fields where one could mean something) and turns
them into the same records the analysis produces, so the report is rendered, and escaped,
by the same code. Nothing in it is executed, and nothing it claims is believed without a
check: it carries data only (escapes, source comments), never a policy or a verdict; the
publish job takes the gate policy from the base branch and confirms the PR's head commit, its
repository and its labels with the API (bot/ci/publish.py, docs/security.md).

The format (the typed records, limits, encoder, strict decoder, JSON Schema) is
bot/github/artifact_format.py; the
`workflow_run` payload is parsed in bot/github/context.py. This module writes the artifact and
decides which of its suppressions the publish job may count; the pull request as it is now is
read by the one GitHub client (`GitHubClient.pull_request`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.annotations import Annotations
from bot.diff import DiffResult
from bot.gc.model import Escape, Kind, Snapshot
from bot.github.artifact_format import (
    ARTIFACT_FILE,
    FLOW_ARROW,
    MAX_STEPS,
    ArtifactData,
    CountsData,
    EscapeData,
    FailedModuleData,
    FileAnnotationsData,
    OriginData,
    PullRequestData,
    Results,
    ResultsData,
    SideData,
    SkippedData,
    Source,
    StepData,
    SuppressionData,
    encode_artifact,
)
from bot.memory import gc_paused

# ---- writing (the analyze job) ----------------------------------------------------------------


def _escape_data(e: Escape) -> EscapeData:
    return EscapeData(
        package=e.package,
        file=e.file,
        line=e.line,
        column=e.column,
        function=e.function,
        kind=e.kind,
        expression=e.expression,
        message=e.message,
        cause=e.cause,
        count=e.count,
        # what publish accepts: a leaking parameter of go/types explains itself in 7,227 steps
        explanation=tuple(
            itertools.islice(
                (
                    StepData(
                        flow=f"{flow.dst}{FLOW_ARROW}{flow.src}",
                        where=step.where,
                        why=step.why,
                        at=str(step.at) if step.at else None,
                    )
                    for flow in e.explanation
                    for step in flow.steps
                ),
                MAX_STEPS,
            )
        ),
        no_allocation_reason=e.static or None,
        origin=OriginData(function=e.origin, at=e.origin_at or None) if e.origin else None,
        generated=e.generated,
        appends=e.appends,
    )


def _side_data(s: Snapshot) -> SideData:
    tc = s.toolchain
    return SideData(
        revision=s.revision,
        commit=s.commit,
        go_version=tc.go_version,
        goos=tc.goos,
        goarch=tc.goarch,
        tags=tc.tags,
    )


def results_data(
    base: Snapshot, head: Snapshot, result: DiffResult, base_source: Source, head_source: Source
) -> ResultsData:
    """The comparison as the artifact carries it: heap escapes and leaks in separate lists."""
    skipped = {s.reason: SkippedData(head=s.head, new=s.new, fixed=s.fixed) for s in result.skipped}
    if head.stats.generated_skipped:
        skipped["generated-by-go"] = SkippedData(head=head.stats.generated_skipped)
    return ResultsData(
        schema=1,
        base=_side_data(base),
        head=_side_data(head),
        new=tuple(_escape_data(e) for e in result.new if e.kind.allocates),
        fixed=tuple(_escape_data(e) for e in result.fixed if e.kind.allocates),
        new_leaks=tuple(_escape_data(e) for e in result.new if not e.kind.allocates),
        fixed_leaks=tuple(_escape_data(e) for e in result.fixed if not e.kind.allocates),
        counts=CountsData(unchanged=result.counts([Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP])["unchanged"]),
        base_source=base_source,
        head_source=head_source,
        failed_modules=tuple(
            FailedModuleData(module=f.module, directory=f.directory, side=f.side, errors=f.errors)
            for f in result.failed_modules
        ),
        skipped=dict(sorted(skipped.items())),
    )


SourceReader = Callable[[str], str | None]  # a file of the analysed commit, None when absent


def annotations_data(
    annotations: Mapping[str, Annotations], source: SourceReader | None
) -> dict[str, FileAnnotationsData]:
    """The source comments as artifact data; each suppression with its line and the next."""
    out: dict[str, FileAnnotationsData] = {}
    for file, a in sorted(annotations.items()):
        text = source(file) if source is not None and a.suppressions else None
        lines = text.splitlines() if text is not None else []
        out[file] = FileAnnotationsData(
            suppressions=tuple(
                SuppressionData(line=s.line, reason=s.reason, lines=tuple(lines[s.line - 1 : s.line + 1]))
                for s in a.suppressions
            ),
            noescape_lines=tuple(sorted(a.noescape_lines)),
            noescape_functions=tuple(sorted(a.noescape_functions)),
        )
    return out


def write_artifact(
    directory: Path,
    *,
    name: str,
    repository: str,
    number: int,
    head_sha: str,
    base: Snapshot,
    head: Snapshot,
    result: DiffResult,
    annotations: Mapping[str, Annotations] | None = None,
    source: SourceReader | None = None,
    base_source: Source = "built",
    head_source: Source = "built",
) -> Path:
    """Write the results file into `directory` (created); returns the directory to upload.

    `source` reads the analysed commit's files, for the text of suppressed lines."""
    with gc_paused():  # one record per escape and explanation step (bot/memory.py)
        data = ArtifactData(
            format="escape-bot-results",
            schema=2,
            name=name,
            repository=repository,
            pull_request=PullRequestData(number=number, head_sha=head_sha, base_sha=base.commit),
            annotations=annotations_data(annotations or {}, source),
            results=results_data(base, head, result, base_source, head_source),
        )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ARTIFACT_FILE).write_bytes(encode_artifact(data))
    return directory


# ---- reading (the publish job): untrusted ------------------------------------------------------


# ---- the publish job: which inline suppressions it may count -------------------------------------

MAX_BASE_FILES = 100  # base-branch files read to check suppressions; beyond, they do not count


@dataclass(frozen=True, slots=True)
class TrustedSuppressions:
    """The artifact's source comments, with only the suppressions the publish job may count."""

    annotations: Mapping[str, Annotations]
    added: frozenset[tuple[str, int]]  # counted, though the pull request added them (file, line)
    ignored: tuple[tuple[str, int], ...]  # added by the pull request, not counted


def _stripped(lines: list[str] | tuple[str, ...]) -> list[str]:
    return [line.strip() for line in lines]


def trusted_suppressions(
    results: Results, base_file: Callable[[str], str | None], count_added: bool
) -> TrustedSuppressions:
    """Keep the `//escape-bot:allow` comments that cover a new escape and are unchanged from the
    base: the comment's line and the line below (the lines it covers) appear, in that order, in
    the base branch's version of the file (`base_file`, read through the API). The pull request's
    own suppressions count only when `count_added` (the trusted `gate.pr-suppressions`).
    Suppressions that cover no new escape cannot change the verdict and are dropped unread."""
    new_lines: dict[str, set[int]] = {}
    for e in results.result.new:
        new_lines.setdefault(e.file, set()).add(e.line)
    out: dict[str, Annotations] = {}
    added: set[tuple[str, int]] = set()
    ignored: list[tuple[str, int]] = []
    reads = 0
    for file, found in results.annotations.items():
        relevant = [s for s in found.suppressions if new_lines.get(file, set()) & {s.line, s.line + 1}]
        kept = []
        pairs: set[tuple[str, ...]] | None = None
        for s in relevant:
            lines = tuple(_stripped(results.suppressed_lines.get(file, {}).get(s.line, ())))
            if lines and pairs is None and reads < MAX_BASE_FILES:
                reads += 1
                base = _stripped((base_file(file) or "").splitlines())
                pairs = {(a,) for a in base} | set(itertools.pairwise(base))
            if lines and pairs is not None and lines in pairs:
                kept.append(s)
            elif count_added:
                kept.append(s)
                added.add((file, s.line))
            else:
                ignored.append((file, s.line))
        out[file] = Annotations(tuple(kept), found.noescape_lines, found.noescape_functions)
    return TrustedSuppressions(out, frozenset(added), tuple(ignored))
