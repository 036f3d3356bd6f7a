"""The `ci` use case: what `escape-bot ci` does in a GitHub Actions job.

- `pull_request`: build the PR's base (`pull_request.base.sha`, fetched when the checkout is
  shallow) and the checked-out merge commit (`GITHUB_SHA`), diff them, gate, write the reports
  (JSON, SARIF, job summary, step outputs), then publish: the sticky comment and a check run or
  commit status on the PR's head commit. Without permission to publish (fork PRs), the job
  summary and at most 10 annotations carry the result; the exit code still follows the gate.
- `merge_group` (a merge queue asks for the required checks): build `merge_group.base_sha` and
  `merge_group.head_sha`, diff, gate, write the reports, and post the check run or status on
  `merge_group.head_sha`; no comment (there is no pull request to comment on).
- `push` to the default branch: build the commit and record it in the store; nothing is posted.

A required check must never be left waiting: on `pull_request` and `merge_group` the check run is
opened `in_progress` (a `pending` status) before anything is built, and completed whatever
happens: with the gate's verdict, or `failure` with the reason (the compiler's error lines for a
broken build), which the job summary shows too. A store that cannot be written does not stop the
result: it is reported and published first, then a warning says the snapshot was not recorded.

Modes (`Settings.mode`, docs/action.md): `auto` does the above in one job. The fork-safe pair
splits a pull request in two: `analyze` (on `pull_request`, read-only token) builds, gates and
writes the reports plus a results artifact, and posts nothing; `publish` (on `workflow_run`,
write token) reads that artifact as untrusted data (bot/github/artifact.py), confirms with the
API that the PR's head is still the commit it was made for, recomputes the gate from it and
posts exactly what `auto` would have posted.

Adapters come in as parameters (`publisher`, `store`, `commands`), so this module is tested with
the real compiler and git, a fake GitHub server on loopback, and an in-memory store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from bot import app, git
from bot.commit import CommitInfo
from bot.config import CONFIG_FILE, Config, parse_config
from bot.diff import DiffResult
from bot.errors import EXIT_GATE, EXIT_OK, BotError, BuildError, GitError, StoreError, UsageError
from bot.gate import GateDecision, GatePolicy, Verdict, Waived, evaluate
from bot.gc.model import Escape, Snapshot, Toolchain
from bot.gc.parse import in_goroot
from bot.gc.run import BuildOptions, toolchain
from bot.github.actions import WorkflowCommands, append_summary, write_outputs
from bot.github.artifact import (
    ArtifactError,
    PullRequestHead,
    Results,
    TrustedSuppressions,
    WorkflowRun,
    read_artifact,
    trusted_suppressions,
    write_artifact,
)
from bot.github.client import (
    MAX_ANNOTATIONS,
    Annotation,
    AppRequiredError,
    CheckRunRef,
    CommentRef,
    GitHubError,
    PartialCheckRunError,
    PermissionDeniedError,
    TooLargeError,
)
from bot.github.context import ActionsEnvironment, Event, MergeGroup, PullRequest, Push
from bot.github.labels import Acceptance
from bot.github.positions import Positions, locate, positions
from bot.report import limits, safe
from bot.report.limits import Limit
from bot.report.render import (
    COMMENT_LIMIT,
    DEFAULT_NAME,
    Flavour,
    Links,
    Report,
    explanation_lines,
    failure_markdown,
    headline,
    render,
)
from bot.report.sarif import sarif_log, snapshot_log
from bot.report.serialize import by_cause, comparison_dict, snapshot_dict

CheckMode = Literal["check-run", "status", "none"]
Mode = Literal["auto", "analyze", "publish"]
DEFAULT_AUTHOR = "github-actions[bot]"
MAX_COMMAND_ANNOTATIONS = 10  # the runner shows 10 errors + 10 warnings per step
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything `escape-bot ci` was told, besides the Actions environment."""

    repo: Path
    name: str = DEFAULT_NAME  # configuration name: matrix jobs get one comment and check each
    comment: bool = True
    check: CheckMode = "check-run"
    author_login: str = DEFAULT_AUTHOR
    build: BuildOptions = field(default_factory=BuildOptions)
    gate: GatePolicy = field(default_factory=GatePolicy)
    report_dir: Path | None = (
        None  # default: $RUNNER_TEMP/escape-bot/NAME, else REPO/.escape-bot/reports/NAME
    )
    token: str | None = field(default=None, repr=False)
    mode: Mode = "auto"
    artifact: Path | None = None  # analyze: where the results go (default REPORT_DIR/artifact); publish: read
    config: Config = field(default_factory=Config)  # include/exclude globs (the gate is in `gate`)
    acceptance: Acceptance | None = None  # the PR carries the acceptance label
    profiles: tuple[Path, ...] = ()  # --profile: rank new escapes (default: [rank] of the configuration)
    # publish: the configuration of the workflow's own checkout of the default branch (--config);
    # None: the base branch's `.escape-bot.toml`, read through the API. Never the artifact's.
    trusted_config: Config | None = None
    summary_share: int = 1  # build configurations still to write the step's job summary, this one included

    def __post_init__(self) -> None:
        if not safe.valid_name(self.name):
            raise UsageError(f"invalid --name {self.name!r}: use letters, digits, '.', '_' and '-' (max 100)")

    @property
    def publishes(self) -> bool:
        """True when the run talks to the GitHub API (and so needs a token)."""
        if self.mode == "analyze":
            return False
        return self.mode == "publish" or self.comment or self.check != "none"

    @property
    def check_name(self) -> str:
        """The check run's name: one per configuration."""
        return "escape-bot" if self.name == DEFAULT_NAME else f"escape-bot ({self.name})"

    @property
    def status_context(self) -> str:
        """The commit status context: one per configuration."""
        return "escape-bot" if self.name == DEFAULT_NAME else f"escape-bot/{self.name}"


class Publisher(Protocol):
    """What the use case needs from GitHub (bot/github/client.py)."""

    def upsert_comment(
        self,
        number: int,
        marker: str,
        author: str,
        body: str,
        *,
        create: bool = True,
        outdated: Literal["edit", "minimize-and-repost"] = "edit",
    ) -> CommentRef | None:
        """Create or edit the sticky comment (None: none to edit, and `create` was False)."""

    def label_actor(self, number: int, label: str) -> str | None:
        """Who added `label` to the PR."""

    def create_check_run(
        self,
        *,
        name: str,
        head_sha: str,
        conclusion: str,
        title: str,
        summary: str,
        annotations: Sequence[Annotation] = (),
        details_url: str | None = None,
    ) -> CheckRunRef:
        """A completed check run with annotations."""

    def create_status(
        self, *, sha: str, state: str, description: str, context: str, target_url: str | None = None
    ) -> None:
        """A commit status."""

    def start_check_run(self, *, name: str, head_sha: str, details_url: str | None = None) -> CheckRunRef:
        """An in-progress check run."""

    def complete_check_run(
        self,
        run_id: int,
        *,
        conclusion: str,
        title: str,
        summary: str,
        annotations: Sequence[Annotation] = (),
        details_url: str | None = None,
    ) -> CheckRunRef:
        """Complete a check run opened by `start_check_run`."""


@runtime_checkable
class ArtifactPublisher(Publisher, Protocol):
    """The publish job also reads the pull request (its head, base and labels) and the base
    branch's files (the configuration, the lines inline suppressions cover)."""

    def pull_request(self, number: int) -> PullRequestHead:
        """The pull request as it is now."""

    def file_at(self, path: str, ref: str) -> str | None:
        """The text of `path` at commit `ref`; None when there is no such file."""


class SnapshotRecorder(Protocol):
    """The part of the store a push needs (bot/store/repo.py)."""

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        """Store a snapshot once; True when it was new."""


@runtime_checkable
class _SnapshotLookup(Protocol):
    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None: ...

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool: ...

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened; `exit_code` is 0 or 1 (failures raise)."""

    exit_code: int
    event: str
    decision: GateDecision | None = None
    comparison: app.Comparison | None = None
    snapshot: Snapshot | None = None
    report_path: Path | None = None
    sarif_path: Path | None = None
    recorded: bool | None = None
    degraded: tuple[str, ...] = ()  # permissions that were missing
    comment: CommentRef | None = None
    check_run: CheckRunRef | None = None
    artifact_path: Path | None = None  # --mode analyze: the directory to upload
    store_error: str | None = None  # the snapshot could not be recorded (the result stands)


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a pull request's result goes: its comment thread and its head commit."""

    number: int | None  # None: a merge group, which has no comment thread
    head_sha: str
    from_fork: bool
    # where the built commit's lines are in head_sha (annotations are placed by head_sha's lines)
    positions: Positions = field(default_factory=dict)
    closed: bool = False  # a closed pull request gets no comment


@dataclass(frozen=True, slots=True)
class _Published:
    comment: CommentRef | None
    check_run: CheckRunRef | None
    denied: tuple[str, ...]


def _quiet(_: str) -> None:
    pass


def report_directory(settings: Settings, environment: ActionsEnvironment, root: Path) -> Path:
    """Where report.json and report.sarif go (absolute: the path is a step output)."""
    if settings.report_dir is not None:
        return settings.report_dir.resolve()
    if environment.runner_temp is not None:
        return environment.runner_temp.resolve() / "escape-bot" / settings.name
    return root / ".escape-bot" / "reports" / settings.name


def status_description(report: Report) -> str:
    """`3 new heap escapes, 1 fixed (returned 2, global 1)`, at most 140 characters."""
    new = report.result.counted(report.result.new)  # constants boxed into interfaces do not count
    fixed = report.result.counted(report.result.fixed)
    text = headline(sum(e.count for e in new), sum(e.count for e in fixed), report.decision.verdict)
    causes = ", ".join(f"{c} {n}" for c, n in by_cause(new).items())
    text = f"{text} ({causes})" if causes else text
    return text if len(text) <= 140 else text[:139] + "…"


def check_annotations(report: Report, where: Positions | None = None) -> list[Annotation]:
    """One check-run annotation per new heap escape, on its line in the commit the check run is on.

    `where` maps the built commit's lines to that commit's (a merge commit's lines differ from the
    PR head's when the base changed the file above them); an escape on a line the base changed
    has no place there and gets no annotation (the summary still lists it). Escapes that block the
    gate are failures (warnings when the gate does not fail); allowed ones are notices that say
    why they were allowed.
    """
    blocking_level: Literal["failure", "warning"] = (
        "failure" if report.decision.verdict is Verdict.FAIL else "warning"
    )
    allowed = {id(w.escape): w.reason for w in report.decision.waived}
    out = []
    for e in report.result.counted(report.result.new):
        times = f" ({e.count} allocations)" if e.count > 1 else ""
        reason = allowed.get(id(e))
        # a line the base changed has no place in the PR head; a `$GOROOT/` file is not the repository's
        at = None if in_goroot(e.file) else locate(where or {}, e.file, max(e.line, 1))
        if at is None:
            continue
        # data for the API, never Markdown, but shown: controls escaped (a bidi override in a
        # file name reorders what the reader sees; a newline fakes a second line)
        out.append(
            Annotation(
                path=safe.visible(e.file),
                line=at,
                level="notice" if reason is not None else blocking_level,
                title=f"New heap escape: {e.cause.label}" + (" (allowed)" if reason is not None else ""),
                message=safe.visible(
                    f"{e.message}{times} in {e.function} [{e.cause.value}]"
                    + (f"; {reason}" if reason is not None else "")
                ),
                raw_details="\n".join(safe.visible(line) for line in explanation_lines(e)),
            )
        )
    return out


def _write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _degrade(
    commands: WorkflowCommands,
    report: Report,
    denied: list[PermissionDeniedError],
    target: _Target,
    annotate: bool,
) -> None:
    """No permission to publish: a warning naming it, and (unless a check run carries them) the
    first 10 new escapes as annotations."""
    for exc in denied:
        why = (
            "pull requests from forks get a read-only token"
            if target.from_fork
            else f"add `{exc.permission}` to the workflow's `permissions:`"
        )
        commands.annotate(
            "warning",
            f"escape-bot could not {exc.action}: the token lacks `{exc.permission}` ({why}). "
            "The result is in the job summary.",
        )
    if not annotate:
        return
    level: Literal["error", "warning"] = "error" if report.decision.verdict is Verdict.FAIL else "warning"
    new = report.result.counted(report.result.new)
    for e in new[:MAX_COMMAND_ANNOTATIONS]:
        line = locate(target.positions, e.file, max(e.line, 1))  # the job's annotations: head's lines
        commands.annotate(
            level,
            safe.visible(f"{e.message} in {e.function} [{e.cause.value}]"),
            file=safe.visible(e.file) if line is not None else None,
            line=line,
            title=f"New heap escape: {e.cause.label}",
        )
    if len(new) > MAX_COMMAND_ANNOTATIONS:
        commands.annotate(
            "notice", f"{len(new) - MAX_COMMAND_ANNOTATIONS} more new heap escapes: see the job summary"
        )


class TolerantStore:
    """The store as a pull request or merge group uses it: a cache of snapshots whose failures
    (unreachable, read-only) never stop the result; they are kept and reported afterwards."""

    def __init__(self, inner: _SnapshotLookup) -> None:
        self.inner = inner
        self.errors: list[str] = []

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        try:
            return self.inner.find_snapshot(repository, sha, toolchain_key)
        except StoreError as exc:
            self.errors.append(exc.message)
            return None  # built instead

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        try:
            return self.inner.record_snapshot(repository, commit, snapshot)
        except StoreError as exc:
            self.errors.append(exc.message)
            return False

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        try:
            return self.inner.other_toolchain_key(repository, sha, toolchain)
        except StoreError as exc:
            self.errors.append(exc.message)
            return None


class UnavailableStore:
    """A store that could not be opened: nothing is found, and recording fails with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        return None

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        raise StoreError(self.reason)

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        return None


class _Check:
    """The check run (or commit status) a required check waits for: opened before the build and
    completed whatever happens. A personal access token cannot create check runs: a status then."""

    def __init__(
        self,
        settings: Settings,
        environment: ActionsEnvironment,
        sha: str,
        commands: WorkflowCommands,
        publisher: Publisher | None,
    ) -> None:
        self.settings = settings
        self.environment = environment
        self.sha = sha
        self.commands = commands
        self.publisher = publisher if settings.mode == "auto" else None
        self.mode: CheckMode = settings.check if self.publisher is not None else "none"
        self.run: CheckRunRef | None = None
        self.completed = False
        self.note: str | None = None  # Markdown for the job summary: how the result was reported instead

    def open(self) -> None:
        """`in_progress` check run or `pending` status; problems wait for the final publish."""
        if self.publisher is None:
            return
        try:
            if self.mode == "check-run":
                self.run = self.publisher.start_check_run(
                    name=self.settings.check_name, head_sha=self.sha, details_url=self.environment.run_url
                )
            elif self.mode == "status":
                self._status("pending", "escape-bot is building the base and the head")
        except AppRequiredError:
            self.use_status()
            self.open()
        except GitHubError:
            pass  # the final publish tries again, and reports what fails then

    def use_status(self) -> None:
        """Check runs need a GitHub App token (a PAT gets 403): report with a commit status."""
        self.mode = "status"
        why = (
            "check runs can only be created with a GitHub App token (GITHUB_TOKEN is one; this token is not)"
        )
        context = self.settings.status_context
        self.note = f"{safe.plain(why)}: the result is the commit status {safe.code_span(context)} instead"
        self.commands.annotate(
            "warning", f"escape-bot: {why}: the result is the commit status {context} instead"
        )

    def _status(self, state: str, description: str) -> None:
        assert self.publisher is not None
        self.publisher.create_status(
            sha=self.sha,
            state=state,
            description=description,
            context=self.settings.status_context,
            target_url=self.environment.run_url,
        )

    def fail(self, exc: BaseException) -> None:
        """Complete the check as `failure` with the reason; the job summary says the same."""
        reason = (
            exc.message if isinstance(exc, BotError) else f"unexpected error: {type(exc).__name__}: {exc}"
        )
        details = exc.details if isinstance(exc, BotError) else ""
        if self.environment.step_summary is not None:
            budget = _summary_budget(self.environment.step_summary, self.settings.summary_share)
            append_summary(
                self.environment.step_summary, failure_markdown(self.settings.name, reason, details, budget)
            )
        if self.publisher is None or self.completed:
            return
        if isinstance(exc, GitHubError) and exc.unavailable:
            return  # GitHub itself is failing: asking it again at once is pointless
        title = limits.STATUS_DESCRIPTION.cut(f"Failed: {safe.one_line(reason)}")
        try:
            if self.mode == "check-run":
                summary = failure_markdown(self.settings.name, reason, details, limits.CHECK_SUMMARY)
                if self.run is not None:
                    self.publisher.complete_check_run(
                        self.run.id, conclusion="failure", title=title, summary=summary
                    )
                else:
                    self.publisher.create_check_run(
                        name=self.settings.check_name,
                        head_sha=self.sha,
                        conclusion="failure",
                        title=title,
                        summary=summary,
                        details_url=self.environment.run_url,
                    )
            elif self.mode == "status":
                self._status("failure", title)
            self.completed = True
        except GitHubError as github:
            self.commands.annotate("warning", f"escape-bot could not report the failure: {github.message}")


def _summary_budget(path: Path, share: int) -> Limit:
    """This configuration's part of the 1 MiB the step's job summary may hold: what is left, shared
    with the configurations still to come, less room for a failure note."""
    used = path.stat().st_size if path.exists() else 0
    left = max(limits.STEP_SUMMARY.size - used - 4096, 0)
    return Limit(max(left // max(share, 1) - 1, 0), "bytes")  # -1: append_summary's newline


def _report_store_errors(
    store: TolerantStore | None, environment: ActionsEnvironment, commands: WorkflowCommands
) -> str | None:
    """After the result is out: say that the snapshots could not be recorded, and why."""
    if store is None or not store.errors:
        return None
    reason = store.errors[0]
    line = f"the snapshot could not be recorded (the result above stands): {reason}"
    commands.annotate("warning", f"escape-bot: {line}")
    if environment.step_summary is not None:
        append_summary(environment.step_summary, f"\n**escape-bot**: {safe.plain(line)}\n")
    return reason


def run_ci(
    settings: Settings,
    environment: ActionsEnvironment,
    event: Event | WorkflowRun,
    *,
    commands: WorkflowCommands,
    publisher: Publisher | None = None,
    store: SnapshotRecorder | None = None,
    progress: Progress = _quiet,
) -> Outcome:
    """Handle one workflow event; raises BotError for failures (GitHubError after the reports)."""
    if settings.mode == "publish":
        if not isinstance(event, WorkflowRun):
            raise UsageError("--mode publish runs on workflow_run events (docs/action.md)")
        return _publish_artifact(settings, environment, event, commands, publisher)
    if isinstance(event, PullRequest | MergeGroup):
        return _checked(settings, environment, event, commands, publisher, store, progress)
    if isinstance(event, Push):
        return _push(settings, environment, event, commands, store, progress)
    name = "workflow_run" if isinstance(event, WorkflowRun) else event.name
    hint = (
        "--mode publish posts a pull_request run's results from workflow_run"
        if name == "workflow_run"
        else "for pull_request_target use the pull_request + workflow_run pattern, docs/action.md"
    )
    raise UsageError(
        f"escape-bot ci handles pull_request, merge_group and push events, not {name!r} ({hint})"
    )


def _checked(
    settings: Settings,
    environment: ActionsEnvironment,
    event: PullRequest | MergeGroup,
    commands: WorkflowCommands,
    publisher: Publisher | None,
    store: SnapshotRecorder | None,
    progress: Progress,
) -> Outcome:
    """A pull request or merge group whose check is opened first and always completed."""
    if settings.publishes and publisher is None:
        raise UsageError(
            "no GitHub token: set GITHUB_TOKEN (env: GITHUB_TOKEN: ${{ github.token }}) or pass --token, "
            "or turn publishing off with --no-comment --check none"
        )
    tolerant = TolerantStore(store) if isinstance(store, _SnapshotLookup) else None
    check = _Check(settings, environment, event.head_sha, commands, publisher)
    check.open()
    try:
        if isinstance(event, MergeGroup):
            outcome = _merge_group(
                settings, environment, event, commands, publisher, tolerant, progress, check
            )
        else:
            outcome = _pull_request(
                settings, environment, event, commands, publisher, tolerant, progress, check
            )
    except BaseException as exc:
        check.fail(exc)
        raise
    store_error = _report_store_errors(tolerant, environment, commands)
    return replace(outcome, store_error=store_error) if store_error else outcome


def _accepted_by(settings: Settings, pr: PullRequest, publisher: Publisher | None) -> str | None:
    """Who accepted a failing gate with the PR's label: the labelling event's sender, else the
    timeline's last `labeled` event (asked only when there is a token)."""
    acceptance = settings.acceptance
    if acceptance is None:
        return None
    if acceptance.by:
        return f"@{acceptance.by}"
    if publisher is not None:
        actor = publisher.label_actor(pr.number, acceptance.label)
        if actor:
            return f"@{actor}"
    return "an unknown user"


def _pull_request(
    settings: Settings,
    environment: ActionsEnvironment,
    pr: PullRequest,
    commands: WorkflowCommands,
    publisher: Publisher | None,
    store: SnapshotRecorder | None,
    progress: Progress,
    check: _Check | None = None,
) -> Outcome:
    repo = git.repo_root(settings.repo)
    git.ensure_commit(repo, environment.sha, "checked-out")
    git.ensure_commit(repo, pr.base_sha, "base")
    lookup = store if isinstance(store, _SnapshotLookup) else None
    with (
        commands.group(f"escape-bot: build {pr.base_sha[:12]} and {environment.sha[:12]}"),
        commands.untrusted(),
    ):
        gated = app.compare_and_gate(
            repo,
            pr.base_sha,
            environment.sha,
            settings.build,
            config=settings.config,
            policy=settings.gate,
            store=lookup,
            progress=progress,
            accepted_by=_accepted_by(settings, pr, publisher),
            profiles=settings.profiles,
        )
    comparison, annotations, decision = gated.comparison, gated.annotations, gated.decision
    report = Report(
        base=comparison.base,
        head=comparison.head,
        result=comparison.result,
        decision=decision,
        name=settings.name,
        links=Links(server_url=environment.server_url, repository=environment.repository),
        insight=comparison.insight,
    )
    target = _Target(
        pr.number,
        pr.head_sha,
        pr.from_fork,
        _head_positions(repo, environment.sha, pr, comparison),
        closed=pr.state == "closed",
    )
    directory = report_directory(settings, environment, repo)
    artifact_path = None
    extra: dict[str, str | int] = {}
    if settings.mode == "analyze":
        artifact_path = write_artifact(
            settings.artifact.resolve() if settings.artifact else directory / "artifact",
            name=settings.name,
            repository=environment.repository,
            number=pr.number,
            head_sha=pr.head_sha,
            base=comparison.base,
            head=comparison.head,
            result=comparison.result,
            annotations=annotations,
            source=lambda file: git.file_at(repo, comparison.head.commit, file),
            base_source=comparison.base_source,
            head_source=comparison.head_source,
        )
        extra["artifact-path"] = str(artifact_path)
    report_path, sarif_path = _write_reports(
        environment,
        directory,
        report,
        target,
        (comparison.base_source, comparison.head_source),
        extra,
        settings.summary_share,
    )
    published = _Published(None, None, ())
    if settings.mode != "analyze":
        published = _publish(settings, environment, report, target, commands, publisher, check)
    return Outcome(
        exit_code=EXIT_OK if decision.passed else EXIT_GATE,
        event="pull_request",
        decision=decision,
        comparison=comparison,
        report_path=report_path,
        sarif_path=sarif_path,
        degraded=published.denied,
        comment=published.comment,
        check_run=published.check_run,
        artifact_path=artifact_path,
    )


def _merge_group(
    settings: Settings,
    environment: ActionsEnvironment,
    group: MergeGroup,
    commands: WorkflowCommands,
    publisher: Publisher | None,
    store: SnapshotRecorder | None,
    progress: Progress,
    check: _Check,
) -> Outcome:
    """A merge queue's group: its head against the target branch, gated; no comment."""
    repo = git.repo_root(settings.repo)
    git.ensure_commit(repo, group.head_sha, "merge group's")
    git.ensure_commit(repo, group.base_sha, "base")
    lookup = store if isinstance(store, _SnapshotLookup) else None
    with (
        commands.group(f"escape-bot: build {group.base_sha[:12]} and {group.head_sha[:12]}"),
        commands.untrusted(),
    ):
        gated = app.compare_and_gate(  # no pull request: no acceptance label
            repo,
            group.base_sha,
            group.head_sha,
            settings.build,
            config=settings.config,
            policy=settings.gate,
            store=lookup,
            progress=progress,
            profiles=settings.profiles,
        )
    comparison, decision = gated.comparison, gated.decision
    report = Report(
        base=comparison.base,
        head=comparison.head,
        result=comparison.result,
        decision=decision,
        name=settings.name,
        links=Links(server_url=environment.server_url, repository=environment.repository),
        insight=comparison.insight,
    )
    target = _Target(None, group.head_sha, from_fork=False)
    directory = report_directory(settings, environment, repo)
    sources = (comparison.base_source, comparison.head_source)
    report_path, sarif_path = _write_reports(
        environment, directory, report, target, sources, {}, settings.summary_share
    )
    published = _Published(None, None, ())
    if settings.mode != "analyze":
        published = _publish(settings, environment, report, target, commands, publisher, check)
    return Outcome(
        exit_code=EXIT_OK if decision.passed else EXIT_GATE,
        event="merge_group",
        decision=decision,
        comparison=comparison,
        report_path=report_path,
        sarif_path=sarif_path,
        degraded=published.denied,
        check_run=published.check_run,
    )


def _head_positions(repo: Path, built: str, pr: PullRequest, comparison: app.Comparison) -> Positions:
    """How the merge commit's lines map to the PR head's, for the check run's annotations; without
    the head commit (a shallow clone that cannot fetch it) the merge commit's lines are used."""
    try:
        git.ensure_commit(repo, pr.head_sha, "head")
        return positions(repo, built, pr.head_sha, [e.file for e in comparison.result.new])
    except GitError:
        return {}


def _write_reports(
    environment: ActionsEnvironment,
    directory: Path,
    report: Report,
    target: _Target,
    sources: tuple[str, str],
    extra_outputs: dict[str, str | int],
    summary_share: int = 1,
) -> tuple[Path, Path]:
    """report.json, report.sarif, the step outputs and the job summary."""
    data = comparison_dict(
        report.base,
        report.head,
        report.result,
        insight=report.insight,
        base_source=sources[0],
        head_source=sources[1],
        name=report.name,
        pull_request={"number": target.number, "head_sha": target.head_sha}
        if target.number is not None
        else None,
        gate={"verdict": report.decision.verdict.value, "reason": report.decision.reason},
    )
    report_path = _write_json(directory / "report.json", data)
    sarif_path = _write_json(directory / "report.sarif", sarif_log(report))
    if environment.output is not None:
        write_outputs(
            environment.output,
            {
                "new-count": _units(report.result, report.result.new),
                "fixed-count": _units(report.result, report.result.fixed),
                "verdict": report.decision.verdict.value,
                "report-path": str(report_path),
                "sarif-path": str(sarif_path),
                **extra_outputs,
            },
        )
    if environment.step_summary is not None:
        # the step's 1 MiB (STEP_SUMMARY_LIMIT) is shared with the configurations still to come
        budget = _summary_budget(environment.step_summary, summary_share)
        append_summary(environment.step_summary, render(report, Flavour.SUMMARY, limit=budget))
    return report_path, sarif_path


def _units(result: DiffResult, records: tuple[Escape, ...]) -> int:
    """Heap-allocation units that count (leaking-param records are contracts, constants boxed
    into interfaces allocate nothing unless `[gate] constants`)."""
    return sum(e.count for e in result.counted(records))


def _publish(
    settings: Settings,
    environment: ActionsEnvironment,
    report: Report,
    target: _Target,
    commands: WorkflowCommands,
    publisher: Publisher | None,
    check: _Check | None = None,
) -> _Published:
    """The sticky comment and the check run (or status) on the PR's head commit; the check run
    opened by `check` is completed."""
    denied: list[PermissionDeniedError] = []
    failed: list[GitHubError] = []
    comment: CommentRef | None = None
    check_run: CheckRunRef | None = None
    decision = report.decision
    policy = settings.config.comment
    if target.closed and settings.comment and policy.when != "never":
        commands.annotate("notice", f"escape-bot: pull request #{target.number} is closed: no comment")
    elif publisher is not None and settings.comment and target.number is not None and policy.when != "never":
        # `changes` / `failure`: post only then, but keep an earlier comment up to date
        create = {
            "always": True,
            "changes": bool(
                _units(report.result, report.result.new) or _units(report.result, report.result.fixed)
            ),
            "failure": decision.verdict is Verdict.FAIL,
        }[policy.when]
        try:
            body = render(report, Flavour.COMMENT, limit=COMMENT_LIMIT)
            comment = publisher.upsert_comment(
                target.number,
                safe.marker(settings.name),
                settings.author_login,
                body,
                create=create,
                outdated=policy.outdated,
            )
        except PermissionDeniedError as exc:
            denied.append(exc)
        except GitHubError as exc:
            failed.append(exc)
        if (
            comment is not None
            and comment.posted_as
            and comment.posted_as.lower() != settings.author_login.lower()
        ):
            commands.annotate(
                "warning",
                f"escape-bot: the comment was posted as {comment.posted_as}, but --author-login is "
                f"{settings.author_login}: the next run will not find it and will post another; "
                f"set --author-login {comment.posted_as} (the action's author-login input)",
            )
    # details_url is ignored for GITHUB_TOKEN's check runs: the summary links the comment itself
    link = (comment.url if comment else None) or environment.run_url
    mode = check.mode if check is not None else settings.check
    if publisher is not None and mode == "check-run":
        try:
            check_run = _post_check_run(
                settings, report, target, publisher, check, comment, link, environment
            )
        except AppRequiredError:
            if check is None:
                check = _Check(settings, environment, target.head_sha, commands, publisher)
            check.use_status()
            mode = "status"
        except PartialCheckRunError as exc:
            check_run = exc.run  # completed, with fewer annotations than it should have
            failed.append(exc)
        except PermissionDeniedError as exc:
            denied.append(exc)
        except GitHubError as exc:
            failed.append(exc)
        if check is not None and check_run is not None:
            check.completed = True
    if publisher is not None and mode == "status":
        try:
            publisher.create_status(
                sha=target.head_sha,
                state=decision.verdict.state,
                description=status_description(report),
                context=settings.status_context,
                target_url=link,
            )
            if check is not None:
                check.completed = True
        except PermissionDeniedError as exc:
            denied.append(exc)
        except GitHubError as exc:
            failed.append(exc)
    if check is not None and check.note and environment.step_summary is not None:
        append_summary(environment.step_summary, f"\n**escape-bot**: {check.note}\n")
    if denied:
        _degrade(commands, report, denied, target, annotate=check_run is None)
    if failed:
        raise failed[0]
    return _Published(comment, check_run, tuple(exc.permission for exc in denied))


def _post_check_run(
    settings: Settings,
    report: Report,
    target: _Target,
    publisher: Publisher,
    check: _Check | None,
    comment: CommentRef | None,
    link: str | None,
    environment: ActionsEnvironment,
) -> CheckRunRef:
    """Complete the opened check run with the verdict (or create it completed)."""
    decision = report.decision
    where = []
    if comment is not None and comment.url:
        where.append(f"[the pull request comment]({safe.url(comment.url)})")
    if environment.run_url:
        where.append(f"[the job summary]({safe.url(environment.run_url)})")
    intro = f"The full report: {' and '.join(where)}.\n\n" if where else ""
    annotations = check_annotations(report, target.positions)
    escapes = len(report.result.counted(report.result.new))
    unplaced = escapes - len(annotations)
    if unplaced:
        intro += (
            f"{unplaced:,} new heap escape{'s are' if unplaced != 1 else ' is'} not annotated: on "
            "lines the base branch changed, which the pull request's head does not have.\n\n"
        )
    if len(annotations) > MAX_ANNOTATIONS:
        intro += (
            f"Annotations on the first {MAX_ANNOTATIONS:,} of {len(annotations):,} new heap escapes "
            "only (each request adds 50); the report below and the JSON report list all of them.\n\n"
        )
    room = Limit(limits.CHECK_SUMMARY.size - limits.CHECK_SUMMARY.measure(intro), "bytes")
    conclusion = decision.verdict.conclusion
    title = headline(
        _units(report.result, report.result.new), _units(report.result, report.result.fixed), decision.verdict
    )
    summary = intro + render(report, Flavour.CHECK, limit=room)
    if check is not None and check.run is not None:
        return publisher.complete_check_run(
            check.run.id,
            conclusion=conclusion,
            title=title,
            summary=summary,
            annotations=annotations,
            details_url=link,
        )
    return publisher.create_check_run(
        name=settings.check_name,
        head_sha=target.head_sha,  # not the merge commit: checks must attach to the PR
        conclusion=conclusion,
        title=title,
        summary=summary,
        annotations=annotations,
        details_url=link,
    )


def _publish_artifact(
    settings: Settings,
    environment: ActionsEnvironment,
    run: WorkflowRun,
    commands: WorkflowCommands,
    publisher: Publisher | None,
) -> Outcome:
    """`--mode publish`: post the results a pull_request run left in its artifact.

    The artifact is data (escapes, source comments); everything that decides is trusted: the
    policy is the base branch's configuration (or the workflow's own, `--config`), the head,
    its repository and the labels are what the API says about the pull request now.
    """
    if run.event != "pull_request":
        commands.annotate(
            "notice",
            f"escape-bot publishes the results of pull_request runs; this run was triggered by "
            f"{run.event}: nothing to publish",
        )
        return Outcome(exit_code=EXIT_OK, event="workflow_run")
    if settings.artifact is None:
        raise UsageError("--mode publish needs --artifact DIR: where download-artifact put the results")
    if not isinstance(publisher, ArtifactPublisher):
        raise UsageError(
            "no GitHub token: --mode publish reads the pull request and posts to it; "
            "set GITHUB_TOKEN (env: GITHUB_TOKEN: ${{ github.token }}) or pass --token"
        )
    results = read_artifact(settings.artifact)
    _check_artifact(settings, environment, run, results)
    current = publisher.pull_request(results.number)
    _confirm_head(run, results, current)
    config = settings.trusted_config or _base_config(publisher, current)
    policy = GatePolicy.from_config(config)
    if not settings.gate.fail_on_new:  # the publish step's own `fail-on: never`
        policy = replace(policy, fail_on_new=False)
    # the trusted include/exclude apply again: the PR's own configuration chose what was analysed
    # and what counts ([gate] constants) is the trusted policy's too; what the analyze run skipped
    # (generated files, its excludes) stays counted in `skipped`
    result = replace(
        results.result,
        new=tuple(config.filter(results.result.new)),
        fixed=tuple(config.filter(results.result.fixed)),
        counting=policy.counting,
    )
    trusted = trusted_suppressions(
        results, lambda file: _base_file(publisher, file, current.base_sha), config.gate.pr_suppressions
    )
    if trusted.ignored:
        commands.annotate(
            "notice",
            f"{len(trusted.ignored)} //escape-bot:allow comment(s) added by the pull request were not "
            "counted: in fork-safe mode only those on lines unchanged from the base branch count "
            "(gate.pr-suppressions = true counts them too)",
        )
    accepted_by = _label_acceptance(publisher, current, config.accept_label)
    decision = _mark_added(evaluate(result, policy, trusted.annotations, accepted_by), trusted, policy)
    report = Report(
        base=results.base,
        head=results.head,
        result=result,
        decision=decision,
        name=settings.name,
        links=Links(server_url=environment.server_url, repository=environment.repository),
    )
    target = _Target(results.number, results.head_sha, from_fork=False)
    directory = report_directory(settings, environment, settings.repo.resolve())
    sources = (results.base_source, results.head_source)
    report_path, sarif_path = _write_reports(environment, directory, report, target, sources, {})
    published = _publish(settings, environment, report, target, commands, publisher)
    return Outcome(
        exit_code=EXIT_OK if decision.passed else EXIT_GATE,
        event="workflow_run",
        decision=decision,
        comparison=app.Comparison(
            results.base, results.head, result, results.base_source, results.head_source, {}
        ),
        report_path=report_path,
        sarif_path=sarif_path,
        degraded=published.denied,
        comment=published.comment,
        check_run=published.check_run,
    )


def _confirm_head(run: WorkflowRun, results: Results, current: PullRequestHead) -> None:
    """The pull request must be at the commit the run built, from the repository the run ran
    for: both sides must say so (a deleted fork, `head.repo: null`, confirms nothing)."""
    if current.head_sha != results.head_sha:
        raise ArtifactError(
            f"not published: pull request #{results.number} is at {current.head_sha[:12]} now and the "
            f"results are for {results.head_sha[:12]}; the run for the newer commit publishes its own"
        )
    if not current.head_repository:
        raise ArtifactError(
            f"not published: GitHub names no head repository for pull request #{results.number} "
            "(its fork was deleted), so nothing confirms that the workflow run built it"
        )
    if not run.head_repository:
        raise ArtifactError(
            f"not published: the workflow run names no head repository, so nothing confirms that it "
            f"built pull request #{results.number} (from {current.head_repository})"
        )
    if run.head_repository.lower() != current.head_repository.lower():
        raise ArtifactError(
            f"not published: pull request #{results.number} comes from {current.head_repository}, "
            f"the workflow run from {run.head_repository}"
        )


def _base_config(publisher: ArtifactPublisher, current: PullRequestHead) -> Config:
    """`.escape-bot.toml` of the pull request's base commit (as the API names it), else the defaults."""
    if not current.base_sha:
        raise ArtifactError(f"not published: GitHub names no base commit for pull request #{current.number}")
    text = publisher.file_at(CONFIG_FILE, current.base_sha)
    if text is None:
        return Config()
    return parse_config(
        text, f"{CONFIG_FILE} of {current.base_ref or 'the base branch'} ({current.base_sha[:12]})"
    )


def _base_file(publisher: ArtifactPublisher, file: str, base_sha: str) -> str | None:
    """A base-branch file for suppression checks; one over the API's 1 MB counts as absent."""
    try:
        return publisher.file_at(file, base_sha)
    except TooLargeError:
        return None


def _label_acceptance(
    publisher: ArtifactPublisher, current: PullRequestHead, label: str | None
) -> str | None:
    """Who accepted a failing gate: the label must be on the pull request now (the API's labels),
    and the issue's events say who added it. Nothing of it comes from the artifact."""
    if not label or label not in current.labels:
        return None
    actor = publisher.label_actor(current.number, label)
    return f"@{actor}" if actor else "an unknown user"


def _mark_added(decision: GateDecision, trusted: TrustedSuppressions, policy: GatePolicy) -> GateDecision:
    """Escapes allowed by a suppression the pull request added say so in the comment."""
    if not trusted.added:
        return decision
    waived = []
    for w in decision.waived:
        e = w.escape
        comments = trusted.annotations.get(e.file)
        found = comments.suppression_for(e.line) if comments is not None else None
        # the allow-list comes first in the gate: only escapes no entry matched were allowed inline
        inline = found is not None and not any(a.matches(e) for a in policy.allow)
        if found is not None and inline and (e.file, found.line) in trusted.added:
            reason = f"allowed inline by a comment this pull request adds (line {found.line}): {found.reason}"
            waived.append(Waived(e, reason))
        else:
            waived.append(w)
    return replace(decision, waived=tuple(waived))


def _check_artifact(
    settings: Settings, environment: ActionsEnvironment, run: WorkflowRun, results: Results
) -> None:
    """The artifact must be for this repository, this configuration and the run's own commit."""
    if results.repository.lower() != environment.repository.lower():
        raise ArtifactError(
            f"not published: the results are for {results.repository}, this is {environment.repository}"
        )
    if results.name != settings.name:
        raise ArtifactError(
            f"not published: the results are for configuration {results.name!r}, this step publishes "
            f"{settings.name!r} (--name)"
        )
    # GitHub wrote run.head_sha: an artifact cannot claim another PR's commit
    if results.head_sha != run.head_sha:
        raise ArtifactError(
            f"not published: the results are for {results.head_sha[:12]}, the workflow run that "
            f"uploaded them built {run.head_sha[:12]}"
        )
    if run.pull_requests and results.number not in run.pull_requests:
        raise ArtifactError(
            f"not published: the results name pull request #{results.number}, the workflow run "
            f"belongs to {', '.join(f'#{n}' for n in run.pull_requests)}"
        )


def _push(
    settings: Settings,
    environment: ActionsEnvironment,
    push: Push,
    commands: WorkflowCommands,
    store: SnapshotRecorder | None,
    progress: Progress,
) -> Outcome:
    if not push.to_default_branch:
        commands.annotate(
            "notice",
            f"escape-bot records pushes to the default branch ({push.default_branch}) only; "
            f"{push.ref} was skipped",
        )
        return Outcome(exit_code=EXIT_OK, event="push")
    repo = git.repo_root(settings.repo)
    git.ensure_commit(repo, environment.sha, "pushed")
    try:
        with commands.group(f"escape-bot: build {environment.sha[:12]}"), commands.untrusted():
            snapshot = app.build_snapshot(repo, environment.sha, settings.build, progress)
    except BuildError as exc:
        # the history keeps the commit as failed, with the compiler's error, and goes on
        record_failure = getattr(store, "record_failure", None)
        if callable(record_failure):
            commit = git.commit_info(repo, environment.sha, branch=push.branch)
            tc = toolchain(settings.build, repo)
            record_failure(environment.repository, commit, tc, f"{exc.message}\n{exc.details}")
        raise
    recorded: bool | None = None
    store_error: StoreError | None = None
    if store is not None:
        commit = git.commit_info(repo, environment.sha, branch=push.branch)
        try:
            recorded = store.record_snapshot(environment.repository, commit, snapshot)
        except StoreError as exc:
            store_error = exc  # the report and the job summary first, then the failure
    else:
        commands.annotate("notice", "escape-bot has no store (--db): the snapshot was not recorded")
    directory = report_directory(settings, environment, repo)
    report_path = _write_json(directory / "report.json", snapshot_dict(snapshot))
    # the default branch's code-scanning baseline, which pull requests' alerts are compared with
    links = Links(server_url=environment.server_url, repository=environment.repository)
    sarif_path = _write_json(directory / "report.sarif", snapshot_log(snapshot, settings.name, links))
    heap = sum(e.count for e in snapshot.escapes if e.kind.allocates)
    if environment.output is not None:
        write_outputs(
            environment.output,
            {"escape-count": heap, "report-path": str(report_path), "sarif-path": str(sarif_path)},
        )
    if environment.step_summary is not None:
        what = {True: "recorded", False: "already recorded", None: "not recorded (no store)"}[recorded]
        if store_error is not None:
            what = f"NOT recorded: {store_error.message}"
        append_summary(
            environment.step_summary,
            f"**escape-bot**: {heap:,} heap escapes in {safe.code_span(environment.sha[:12])} "
            f"with {safe.plain(snapshot.toolchain.go_version)}, {safe.plain(what)}.\n",
        )
    if store_error is not None:
        raise StoreError(
            f"the snapshot of {environment.sha[:12]} could not be recorded: {store_error.message}"
        )
    return Outcome(
        exit_code=EXIT_OK,
        event="push",
        snapshot=snapshot,
        report_path=report_path,
        sarif_path=sarif_path,
        recorded=recorded,
    )
