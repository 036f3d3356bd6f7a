"""The results artifact of the fork-safe pair of workflows (docs/action.md, "Fork pull requests").

`escape-bot ci --mode analyze` runs on `pull_request` with a read-only token and writes the
results here; `actions/upload-artifact` uploads the directory. `--mode publish` runs on
`workflow_run` with a write token, after `actions/download-artifact`, and reads it back.

In the publish job the file is **untrusted data**: a fork's pull_request run executes the PR's
own code and workflow files, so it can write anything into the artifact. `read_artifact`
therefore reads at most `MAX_BYTES` of one regular file, parses strict JSON (no NaN, no
duplicate keys, UTF-8 only), validates it against `SCHEMA` (types, enums, lengths, counts) and
turns it into the same records the analysis produces, so the report is rendered, and escaped,
by the same code. Nothing in it is executed, and nothing it claims is believed without a
check: it carries data only (escapes, source comments), never a policy or a verdict; the
publish job takes the gate policy from the base branch and confirms the PR's head commit, its
repository and its labels with the API (bot/ci.py, docs/security.md).

This module also parses the `workflow_run` payload (which bot.github.context does not model)
and adds to the client the read the publish path needs: the pull request as it is now.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.annotations import Annotations, Suppression
from bot.diff import DiffResult, Skipped
from bot.errors import EXIT_FAILURE, BotError, UsageError
from bot.gc.model import Cause, Escape, FailedModule, Flow, Kind, Position, Snapshot, Step, Toolchain
from bot.github.client import GitHubClient
from bot.github.context import ActionsEnvironment
from bot.report.safe import visible
from bot.report.serialize import SCHEMA_VERSION as RESULTS_SCHEMA
from bot.report.serialize import comparison_dict

ARTIFACT_FILE = "escape-bot-results.json"
FORMAT = "escape-bot-results"
VERSION = 2  # 2: data only; the gate policy is no longer carried (issue #13)
# a std-library-sized change with explanations is a few MB; far above that is not ours
MAX_BYTES = 32 * 1024 * 1024
MAX_ESCAPES = 100_000  # per list (new, fixed)
MAX_STRING = 65_536  # a compiler message or expression; Go abbreviates long expressions itself

Source = Literal["built", "store"]


class ArtifactError(BotError):
    """The results artifact is missing, malformed, or does not belong to this pull request."""

    exit_code = EXIT_FAILURE


# ---- the schema: what a results artifact may contain ------------------------------------------

_SHA = {"type": "string", "pattern": "^[0-9a-f]{40}(?:[0-9a-f]{24})?$"}
_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"}


def _text(limit: int = MAX_STRING) -> dict[str, Any]:
    return {"type": "string", "maxLength": limit}


def _int(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"type": "null"}, schema]}


def _object(
    properties: dict[str, Any], *, optional: tuple[str, ...] = (), closed: bool = True
) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [k for k in properties if k not in optional],
        "properties": properties,
        "additionalProperties": not closed,
    }


_KIND = {"enum": [k.value for k in Kind]}
_CAUSE = {"enum": [c.value for c in Cause]}
_STEP = _object(
    {"flow": _text(), "where": _text(), "why": _text(), "at": _nullable(_text(8192))}, closed=False
)
_ESCAPE = _object(
    {
        "package": _text(4096),
        "file": {"type": "string", "minLength": 1, "maxLength": 4096},
        "line": _int(0, 100_000_000),
        "column": _int(0, 100_000_000),
        "function": _text(4096),
        "kind": _KIND,
        "expression": _text(),
        "message": _text(),
        "cause": _CAUSE,
        "count": _int(1, 1_000_000),
        "explanation": {"type": "array", "maxItems": 1000, "items": _STEP},
        "no_allocation_reason": _nullable(_text(4096)),
        "origin": _nullable(_object({"function": _text(4096), "at": _nullable(_text(8192))})),
        "generated": {"type": "boolean"},
        "appends": _int(0, 1_000_000),
    },
    optional=("no_allocation_reason", "origin", "generated", "appends"),
    closed=False,  # derived fields (fingerprint, cause_label) are ignored, never shown
)
_SIDE = _object(
    {
        "revision": _text(256),
        "commit": _SHA,
        "go_version": _text(64),
        "goos": {"type": "string", "pattern": "^[a-z0-9]{0,32}$"},
        "goarch": {"type": "string", "pattern": "^[a-z0-9]{0,32}$"},
        "tags": {"type": "array", "maxItems": 100, "items": _text(256)},
    },
    closed=False,
)
_ESCAPES = {"type": "array", "maxItems": MAX_ESCAPES, "items": _ESCAPE}
_RESULTS = _object(
    {
        "schema": {"const": RESULTS_SCHEMA},
        "base": _SIDE,
        "head": _SIDE,
        "new": _ESCAPES,
        "fixed": _ESCAPES,
        "new_leaks": _ESCAPES,
        "fixed_leaks": _ESCAPES,
        "counts": _object({"unchanged": _int(0, 1_000_000_000)}, closed=False),
        "base_source": {"enum": ["built", "store"]},
        "head_source": {"enum": ["built", "store"]},
        # modules that did not build: data like the escapes (a module broken at head fails the gate)
        "failed_modules": {
            "type": "array",
            "maxItems": 1000,
            "items": _object(
                {
                    "module": _text(1024),
                    "directory": _text(4096),
                    "side": {"enum": ["base", "head", "both"]},
                    "errors": {"type": "array", "maxItems": 100, "items": _text(4096)},
                }
            ),
        },
        # escapes neither listed nor gated, per reason (generated files, excludes)
        "skipped": {
            "type": "object",
            "maxProperties": 16,
            "propertyNames": {"maxLength": 64},
            "additionalProperties": _object(
                {
                    "head": _int(0, 1_000_000_000),
                    "new": _int(0, 1_000_000_000),
                    "fixed": _int(0, 1_000_000_000),
                },
                optional=("new", "fixed"),
            ),
        },
    },
    optional=("base_source", "head_source", "new_leaks", "fixed_leaks", "failed_modules", "skipped"),
    closed=False,  # `escape-bot diff --format json` may grow; what is not read is not shown
)
# the head's `//escape-bot:allow` and `//gcassert:noescape` comments of the files with new escapes:
# data, like the escapes. A suppression carries the text of its line and of the line below, so
# that the publish job can tell one the pull request added from one the base branch has.
_ANNOTATIONS = {
    "type": "object",
    "maxProperties": 10_000,
    "propertyNames": {"maxLength": 4096},
    "additionalProperties": _object(
        {
            "suppressions": {
                "type": "array",
                "maxItems": 10_000,
                "items": _object(
                    {
                        "line": _int(1, 100_000_000),
                        "reason": _text(4096),
                        "lines": {"type": "array", "maxItems": 2, "items": _text()},
                    }
                ),
            },
            "noescape_lines": {"type": "array", "maxItems": 100_000, "items": _int(1, 100_000_000)},
            "noescape_functions": {"type": "array", "maxItems": 10_000, "items": _text(4096)},
        }
    ),
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "escape-bot results artifact",
    **_object(
        {
            "format": {"const": FORMAT},
            "schema": {"const": VERSION},
            "name": _NAME,
            "repository": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"},
            "pull_request": _object(
                {"number": _int(1, 2**31 - 1), "head_sha": _SHA, "base_sha": _SHA},
            ),
            "annotations": _ANNOTATIONS,
            "results": _RESULTS,
        }
    ),
}


# ---- the records ------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowRun:
    """The parts of a `workflow_run` payload the publish path checks against.

    GitHub writes these (not the PR's run), so they are trusted: the artifact must be for
    `head_sha`, and when GitHub lists the run's PRs (it does not for forks), for one of them.
    """

    id: int
    event: str  # the triggering run's event: `pull_request`, `push`, ...
    head_sha: str
    head_repository: str
    pull_requests: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequestHead:
    """A pull request as the API shows it now: the publish job's trusted view of it."""

    number: int
    head_sha: str
    head_repository: str  # empty when the fork was deleted (`head.repo: null`)
    state: str
    base_sha: str = ""  # the base branch's commit: its configuration is the policy
    base_ref: str = ""
    labels: tuple[str, ...] = ()


# ---- writing (the analyze job) ----------------------------------------------------------------


SourceReader = Callable[[str], str | None]  # a file of the analysed commit, None when absent


def annotations_dict(annotations: Mapping[str, Annotations], source: SourceReader | None) -> dict[str, Any]:
    """The source comments as artifact data; each suppression with its line and the next."""
    out: dict[str, Any] = {}
    for file, a in sorted(annotations.items()):
        text = source(file) if source is not None and a.suppressions else None
        lines = text.splitlines() if text is not None else []
        out[file] = {
            "suppressions": [
                {"line": s.line, "reason": s.reason, "lines": lines[s.line - 1 : s.line + 1]}
                for s in a.suppressions
            ],
            "noescape_lines": sorted(a.noescape_lines),
            "noescape_functions": sorted(a.noescape_functions),
        }
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
    data = {
        "format": FORMAT,
        "schema": VERSION,
        "name": name,
        "repository": repository,
        "pull_request": {"number": number, "head_sha": head_sha, "base_sha": base.commit},
        "annotations": annotations_dict(annotations or {}, source),
        "results": comparison_dict(base, head, result, base_source=base_source, head_source=head_source),
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ARTIFACT_FILE).write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    return directory


# ---- reading (the publish job): untrusted ------------------------------------------------------


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


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key[:40]!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_artifact(data: bytes, where: str = "the results artifact") -> Results:
    """Strict JSON, then the schema, then records; ArtifactError with one line otherwise."""
    try:
        text = data.decode("utf-8")
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        # a lone surrogate (\ud800) decodes fine and fails much later, when a request is encoded
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise ArtifactError(f"{where} is not valid JSON: {_short(str(exc) or type(exc).__name__)}") from None
    import jsonschema  # only the publish job reads artifacts: the other paths skip the import

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document))
    if error is not None:
        raise ArtifactError(f"{where} is malformed at {error.json_path}: {_short(error.message)}")
    try:
        return _records(document)
    except (ValueError, UsageError) as exc:  # a glob that does not compile, inconsistent fields
        raise ArtifactError(f"{where} is malformed: {_short(str(exc))}") from None


def read_artifact(directory: Path) -> Results:
    """The validated contents of the results artifact downloaded to `directory`."""
    path = directory / ARTIFACT_FILE
    return parse_artifact(_read_bounded(path), f"the results artifact {path}")


def _short(text: str, limit: int = 200) -> str:
    """Validation messages quote the offending value: one line, bounded."""
    text = visible(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


_FLOW = " ← "
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


def _explanation(steps: list[dict[str, Any]]) -> tuple[Flow, ...]:
    """The flat step list of the JSON back into flows (consecutive steps of one flow)."""
    flows: list[tuple[str, list[Step]]] = []
    for s in steps:
        step = Step(s["where"], s["why"], _position(s["at"]))
        if flows and flows[-1][0] == s["flow"]:
            flows[-1][1].append(step)
        else:
            flows.append((s["flow"], [step]))
    out = []
    for text, flow_steps in flows:
        # like positions, `DST ← SRC` splits at the first arrow: the same text when shown
        dst, _, src = text.partition(_FLOW)
        out.append(Flow(dst, src, tuple(flow_steps)))
    return tuple(out)


def _escape(d: dict[str, Any]) -> Escape:
    return Escape(
        package=d["package"],
        file=d["file"],
        line=d["line"],
        column=d["column"],
        function=d["function"],
        kind=Kind(d["kind"]),
        expression=d["expression"],
        message=d["message"],
        cause=Cause(d["cause"]),
        explanation=_explanation(d["explanation"]),
        count=d["count"],
        static=d.get("no_allocation_reason") or "",
        origin=(d.get("origin") or {}).get("function", ""),
        origin_at=(d.get("origin") or {}).get("at") or "",
        generated=d.get("generated", False),
        appends=d.get("appends", 0),
    )


def _snapshot(side: dict[str, Any], escapes: tuple[Escape, ...] = ()) -> Snapshot:
    toolchain = Toolchain(side["go_version"], side["goos"], side["goarch"], tuple(side["tags"]))
    return Snapshot(side["revision"], side["commit"], toolchain, escapes)


def _annotations(data: dict[str, Any]) -> dict[str, Annotations]:
    return {
        file: Annotations(
            suppressions=tuple(Suppression(s["line"], s["reason"]) for s in a["suppressions"]),
            noescape_lines=frozenset(a["noescape_lines"]),
            noescape_functions=frozenset(a["noescape_functions"]),
        )
        for file, a in data.items()
    }


def _records(doc: dict[str, Any]) -> Results:
    results = doc["results"]
    pr = doc["pull_request"]
    if results["base"]["commit"] != pr["base_sha"]:
        raise ValueError("results.base.commit is not pull_request.base_sha")
    # heap escapes and leaking parameters travel in separate lists (docs/json-output.md)
    new = tuple(_escape(e) for e in [*results["new"], *results.get("new_leaks", [])])
    fixed = tuple(_escape(e) for e in [*results["fixed"], *results.get("fixed_leaks", [])])
    # only the number of unchanged escapes is reported; one record carries it
    unchanged_units = results["counts"]["unchanged"]
    unchanged: tuple[Escape, ...] = ()
    if unchanged_units:
        unchanged = (
            Escape("", "", 0, 0, "", Kind.MOVED_TO_HEAP, "", "", Cause.UNKNOWN, count=unchanged_units),
        )
    return Results(
        name=doc["name"],
        repository=doc["repository"],
        number=pr["number"],
        head_sha=pr["head_sha"],
        base_sha=pr["base_sha"],
        base=_snapshot(results["base"]),
        head=_snapshot(results["head"]),
        result=DiffResult(
            new=new,
            fixed=fixed,
            unchanged=unchanged,
            skipped=tuple(
                Skipped(reason, n["head"], n.get("new", 0), n.get("fixed", 0))
                for reason, n in results.get("skipped", {}).items()
                if reason != "generated-by-go"  # a parse statistic, not a skip rule
            ),
            failed_modules=tuple(
                FailedModule(f["module"], f["directory"], f["side"], tuple(f["errors"]))
                for f in results.get("failed_modules", [])
            ),
        ),
        annotations=_annotations(doc["annotations"]),
        suppressed_lines={
            file: {sup["line"]: tuple(sup["lines"]) for sup in a["suppressions"]}
            for file, a in doc["annotations"].items()
        },
        base_source=results.get("base_source", "built"),
        head_source=results.get("head_source", "built"),
    )


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


# ---- the workflow_run event and the PR's head ---------------------------------------------------


def parse_workflow_run(payload: Any) -> WorkflowRun:
    """The `workflow_run` record; UsageError when a field we check is missing."""
    try:
        run = payload["workflow_run"]
        head_repo = run.get("head_repository") or {}
        return WorkflowRun(
            id=int(run["id"]),
            event=str(run["event"]),
            head_sha=str(run["head_sha"]),
            head_repository=str(head_repo.get("full_name") or ""),
            pull_requests=tuple(int(p["number"]) for p in run.get("pull_requests") or ()),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        field = exc.args[0] if isinstance(exc, KeyError) and exc.args else "field"
        raise UsageError(f"the workflow_run event payload has no usable {field}") from exc


def load_workflow_run(environment: ActionsEnvironment) -> WorkflowRun:
    """Read GITHUB_EVENT_PATH of a `workflow_run` event."""
    if environment.event_name != "workflow_run":
        raise UsageError(
            f"--mode publish runs on workflow_run events, not {environment.event_name!r} "
            "(the pull_request run uses --mode analyze; docs/action.md)"
        )
    try:
        payload = json.loads(environment.event_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the event payload {environment.event_path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"the event payload {environment.event_path} is not JSON") from exc
    return parse_workflow_run(payload)


class PublishClient(GitHubClient):
    """The client of the publish job: it also reads the pull request, to confirm its head."""

    def pull_request(self, number: int) -> PullRequestHead:
        """`GET /repos/{owner}/{repo}/pulls/{number}`."""
        with self._api(f"read pull request #{number}", "pull-requests: read"):
            pull = self._repo.get_pull(number)
            repo = pull.head.repo
            return PullRequestHead(
                number=pull.number,
                head_sha=pull.head.sha,
                head_repository=repo.full_name if repo is not None else "",
                state=pull.state,
                base_sha=pull.base.sha,
                base_ref=pull.base.ref,
                labels=tuple(label.name for label in pull.labels),
            )
