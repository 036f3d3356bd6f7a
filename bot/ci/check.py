"""Publishing to GitHub: the check run (or commit status) opened first and always completed, and the
sticky comment.
"""

from __future__ import annotations

from bot.ci.outputs import summary_budget, units
from bot.ci.settings import CheckMode, Published, Publisher, Settings, Target
from bot.ci.text import check_annotations, degrade, status_description
from bot.errors import BotError
from bot.gate import Verdict
from bot.github.actions import WorkflowCommands, append_summary
from bot.github.context import ActionsEnvironment
from bot.github.records import (
    MAX_ANNOTATIONS,
    AppRequiredError,
    CheckRunRef,
    CommentRef,
    GitHubError,
    PartialCheckRunError,
    PermissionDeniedError,
)
from bot.report import limits, safe
from bot.report.limits import Limit
from bot.report.render import (
    COMMENT_LIMIT,
    Flavour,
    Report,
    failure_markdown,
    headline,
    render,
)


class Check:
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
            budget = summary_budget(self.environment.step_summary, self.settings.summary_share)
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


def publish_result(
    settings: Settings,
    environment: ActionsEnvironment,
    report: Report,
    target: Target,
    commands: WorkflowCommands,
    publisher: Publisher | None,
    check: Check | None = None,
) -> Published:
    """The sticky comment and the check run (or status) on the PR's head commit; the check run
    opened by `check` is completed. Nothing in analyze mode: the publish job posts, from the
    results artifact."""
    if settings.mode == "analyze":
        return Published(None, None, ())
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
                units(report.result, report.result.new) or units(report.result, report.result.fixed)
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
                check = Check(settings, environment, target.head_sha, commands, publisher)
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
        degrade(commands, report, denied, target, annotate=check_run is None)
    if failed:
        raise failed[0]
    return Published(comment, check_run, tuple(exc.permission for exc in denied))


def _post_check_run(
    settings: Settings,
    report: Report,
    target: Target,
    publisher: Publisher,
    check: Check | None,
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
        units(report.result, report.result.new), units(report.result, report.result.fixed), decision.verdict
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
