"""The event flows: pull_request, merge_group and push (`run_ci` dispatches; `publish` is in
bot/ci/publish.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot import app, git
from bot.ci.check import Check, publish_result
from bot.ci.outputs import (
    report_directory,
    report_store_errors,
    write_json,
    write_reports,
    write_snapshot_json,
)
from bot.ci.publish import publish_artifact
from bot.ci.settings import (
    ArtifactPublisher,
    Outcome,
    Progress,
    Publisher,
    Settings,
    Target,
    quiet,
)
from bot.ci.stores import TolerantStore
from bot.errors import EXIT_GATE, EXIT_OK, BuildError, GitError, StoreError, UsageError
from bot.gc.reuse import BlockCache
from bot.gc.run import toolchain
from bot.github.actions import WorkflowCommands, append_summary, write_outputs
from bot.github.artifact import write_artifact
from bot.github.context import ActionsEnvironment, Event, MergeGroup, PullRequest, Push, WorkflowRun
from bot.github.positions import Positions, positions
from bot.github.shards import write_shard_file
from bot.ports import SnapshotStore
from bot.report import safe
from bot.report.render import (
    Links,
    Report,
)
from bot.report.sarif import snapshot_log


def run_ci(
    settings: Settings,
    environment: ActionsEnvironment,
    event: Event | WorkflowRun,
    *,
    commands: WorkflowCommands,
    publisher: ArtifactPublisher | None = None,
    store: SnapshotStore | None = None,
    progress: Progress = quiet,
) -> Outcome:
    """Handle one workflow event; raises BotError for failures (GitHubError after the reports)."""
    if settings.mode == "publish":
        if not isinstance(event, WorkflowRun):
            raise UsageError("--mode publish runs on workflow_run events (docs/action.md)")
        return publish_artifact(settings, environment, event, commands, publisher)
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
    store: SnapshotStore | None,
    progress: Progress,
) -> Outcome:
    """A pull request or merge group whose check is opened first and always completed."""
    if settings.publishes and publisher is None:
        raise UsageError(
            "no GitHub token: set GITHUB_TOKEN (env: GITHUB_TOKEN: ${{ github.token }}) or pass --token, "
            "or turn publishing off with --no-comment --check none"
        )
    tolerant = TolerantStore(store) if store is not None else None
    check = Check(settings, environment, event.head_sha, commands, publisher)
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
    store_error = report_store_errors(tolerant, environment, commands)
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


def _gated_report(
    settings: Settings,
    environment: ActionsEnvironment,
    repo: Path,
    shas: tuple[str, str],
    commands: WorkflowCommands,
    store: SnapshotStore | None,
    progress: Progress,
    accepted_by: str | None,
) -> tuple[app.Gated, Report]:
    """Build, compare and gate base and head (the PR's code runs in the build: untrusted output),
    and the report every output of the run is made from."""
    base_sha, head_sha = shas
    with (
        commands.group(f"escape-bot: build {base_sha[:12]} and {head_sha[:12]}"),
        commands.untrusted(),
    ):
        gated = app.compare_and_gate(
            repo,
            base_sha,
            head_sha,
            settings.build,
            config=settings.config,
            policy=settings.gate,
            store=store,
            progress=progress,
            accepted_by=accepted_by,
            profiles=settings.profiles,
            repository=settings.repository or environment.repository,
        )
    comparison = gated.comparison
    report = Report(
        base=comparison.base,
        head=comparison.head,
        result=comparison.result,
        decision=gated.decision,
        name=settings.name,
        links=Links(server_url=environment.server_url, repository=environment.repository),
        insight=comparison.insight,
        accept_label=settings.config.accept_label,
    )
    return gated, report


def _pull_request(
    settings: Settings,
    environment: ActionsEnvironment,
    pr: PullRequest,
    commands: WorkflowCommands,
    publisher: Publisher | None,
    store: SnapshotStore | None,
    progress: Progress,
    check: Check | None = None,
) -> Outcome:
    repo = git.repo_root(settings.repo)
    git.ensure_commit(repo, environment.sha, "checked-out")
    git.ensure_commit(repo, pr.base_sha, "base")
    accepted_by = _accepted_by(settings, pr, publisher)
    gated, report = _gated_report(
        settings, environment, repo, (pr.base_sha, environment.sha), commands, store, progress, accepted_by
    )
    comparison, annotations, decision = gated.comparison, gated.annotations, gated.decision
    target = Target(
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
        if settings.build.shard is not None:
            modules = {
                *git.module_directories(repo, pr.base_sha),
                *git.module_directories(repo, environment.sha),
            }
            write_shard_file(artifact_path, settings.build.shard, modules, comparison.result)
        extra["artifact-path"] = str(artifact_path)
    report_path, sarif_path = write_reports(
        environment,
        directory,
        report,
        target,
        (comparison.base_source, comparison.head_source),
        extra,
        settings.summary_share,
    )
    published = publish_result(settings, environment, report, target, commands, publisher, check)
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
    store: SnapshotStore | None,
    progress: Progress,
    check: Check,
) -> Outcome:
    """A merge queue's group: its head against the target branch, gated; no comment."""
    repo = git.repo_root(settings.repo)
    git.ensure_commit(repo, group.head_sha, "merge group's")
    git.ensure_commit(repo, group.base_sha, "base")
    # no pull request: no acceptance label
    gated, report = _gated_report(
        settings, environment, repo, (group.base_sha, group.head_sha), commands, store, progress, None
    )
    comparison, decision = gated.comparison, gated.decision
    target = Target(None, group.head_sha, from_fork=False)
    directory = report_directory(settings, environment, repo)
    sources = (comparison.base_source, comparison.head_source)
    report_path, sarif_path = write_reports(
        environment, directory, report, target, sources, {}, settings.summary_share
    )
    published = publish_result(settings, environment, report, target, commands, publisher, check)
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


def _push(
    settings: Settings,
    environment: ActionsEnvironment,
    push: Push,
    commands: WorkflowCommands,
    store: SnapshotStore | None,
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
    repository = settings.repository or environment.repository  # its name in the database
    git.ensure_commit(repo, environment.sha, "pushed")
    try:
        with commands.group(f"escape-bot: build {environment.sha[:12]}"), commands.untrusted():
            # with a cache, the snapshot names its packages' blocks: stored, a pull request's
            # head takes them instead of parsing the packages it did not change again
            cache = BlockCache() if store is not None else None
            snapshot = app.build_snapshot(repo, environment.sha, settings.build, progress, reuse=cache)
    except BuildError as exc:
        # the history keeps the commit as failed, with the compiler's error, and goes on
        if store is not None:
            commit = git.commit_info(repo, environment.sha, branch=push.branch)
            tc = toolchain(settings.build, repo)
            store.record_failure(repository, commit, tc, f"{exc.message}\n{exc.details}")
        raise
    recorded: bool | None = None
    store_error: StoreError | None = None
    if store is not None:
        commit = git.commit_info(repo, environment.sha, branch=push.branch)
        try:
            recorded = store.record_snapshot(repository, commit, snapshot)
        except StoreError as exc:
            store_error = exc  # the report and the job summary first, then the failure
    else:
        commands.annotate("notice", "escape-bot has no store (--db): the snapshot was not recorded")
    directory = report_directory(settings, environment, repo)
    report_path = write_snapshot_json(directory / "report.json", snapshot)
    # the default branch's code-scanning baseline, which pull requests' alerts are compared with
    links = Links(server_url=environment.server_url, repository=environment.repository)
    sarif_path = write_json(directory / "report.sarif", snapshot_log(snapshot, settings.name, links))
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
