"""The `publish` event flow (fork-safe pair, on workflow_run): the analyze job's artifact read as
untrusted data, the gate recomputed, the result posted.
"""

from __future__ import annotations

from dataclasses import replace

from bot import app
from bot.ci.check import publish_result
from bot.ci.outputs import report_directory, write_reports
from bot.ci.settings import ArtifactPublisher, Outcome, Settings, Target
from bot.config import CONFIG_FILE, Config, parse_config
from bot.errors import EXIT_GATE, EXIT_OK, UsageError
from bot.gate import GateDecision, GatePolicy, Waived, evaluate
from bot.github.actions import WorkflowCommands
from bot.github.artifact import TrustedSuppressions, trusted_suppressions
from bot.github.artifact_format import ArtifactError, Results
from bot.github.context import ActionsEnvironment, WorkflowRun
from bot.github.records import (
    PullRequestHead,
    TooLargeError,
)
from bot.github.shards import read_results
from bot.report.render import (
    Links,
    Report,
)
from bot.wording import plural


def publish_artifact(
    settings: Settings,
    environment: ActionsEnvironment,
    run: WorkflowRun,
    commands: WorkflowCommands,
    publisher: ArtifactPublisher | None,
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
    if publisher is None:
        raise UsageError(
            "no GitHub token: --mode publish reads the pull request and posts to it; "
            "set GITHUB_TOKEN (env: GITHUB_TOKEN: ${{ github.token }}) or pass --token"
        )
    results = read_results(settings.artifact)  # one artifact, or the shards' merged
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
            f"{plural(len(trusted.ignored), '//escape-bot:allow comment')} added by the pull request "
            f"{'was' if len(trusted.ignored) == 1 else 'were'} not "
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
        accept_label=config.accept_label,  # the trusted configuration's label
    )
    target = Target(results.number, results.head_sha, from_fork=False)
    directory = report_directory(settings, environment, settings.repo.resolve())
    sources = (results.base_source, results.head_source)
    report_path, sarif_path = write_reports(environment, directory, report, target, sources, {})
    published = publish_result(settings, environment, report, target, commands, publisher)
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
            f"{settings.name!r} (--config-name)"
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
