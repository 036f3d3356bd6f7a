"""`escape-bot ci`: the command the GitHub Action runs (docs/ci.md).

Options -> Settings, the Actions environment -> records, then one call into `bot.ci.run_ci`.
Errors stay BotErrors for bot/cli.py's `main` to turn into one line and an exit code; this
command also prints them as an `::error::` workflow command, and prints compiler output only
between `::stop-commands::` fences.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from bot.commands import DB_HELP, build_flags, build_options, open_store
from bot.errors import EXIT_GATE, BotError
from bot.gate import GateFailed, GatePolicy

CHECK_MODES = ("check-run", "status", "none")
MODES = ("auto", "analyze", "publish")


@click.command("ci")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The checked-out repository.",
)
@click.option(
    "--name",
    default="default",
    show_default=True,
    help="Configuration name (matrix jobs): one comment, check run and SARIF category per name.",
)
@click.option("--comment/--no-comment", default=True, show_default=True, help="Upsert the sticky PR comment.")
@click.option(
    "--check",
    type=click.Choice(CHECK_MODES),
    default="check-run",
    show_default=True,
    help="Report the gate on the PR's head commit as a check run, a commit status, or not at all.",
)
@click.option(
    "--author-login",
    default="github-actions[bot]",
    show_default=True,
    help="The login the token posts as: only its comments carrying the marker are edited.",
)
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    show_envvar=True,
    default=None,
    help="GitHub token (default: $GITHUB_TOKEN). Needs pull-requests: write and checks: write.",
)
@click.option(
    "--fail-on-new/--no-fail-on-new",
    default=True,
    show_default=True,
    help="Fail (exit 1, check 'failure') on new heap escapes; off, they only warn ('neutral').",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where report.json and report.sarif go (default: $RUNNER_TEMP/escape-bot/NAME).",
)
@click.option(
    "--retry-backoff",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds before retrying a failed GitHub request, doubling each time.",
)
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    help="The longest Retry-After / rate-limit reset to wait for, in seconds.",
)
@click.option(
    "--write-interval",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between GitHub write requests (GitHub's advice against secondary rate limits); "
    "0 turns all pacing off.",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="auto",
    show_default=True,
    help="auto: analyse and publish in one job. Fork-safe pair: analyze (pull_request: build, gate, "
    "write the results artifact, post nothing) and publish (workflow_run: post an artifact's results).",
)
@click.option(
    "--artifact",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The results artifact directory: written by --mode analyze (default: REPORT_DIR/artifact), "
    "read by --mode publish (required: where download-artifact put it).",
)
@click.option("--db", "db_url", envvar="ESCAPE_BOT_DATABASE_URL", default=None, help=DB_HELP)
@click.option(
    "--store/--no-store",
    "use_store",
    default=True,
    show_default=True,
    help="Take the base from the database when stored, record what was built (pushes: the history).",
)
@build_flags
def ci(
    repo: Path,
    name: str,
    comment: bool,
    check: str,
    author_login: str,
    token: str | None,
    fail_on_new: bool,
    report_dir: Path | None,
    retry_backoff: float,
    max_wait: float,
    write_interval: float,
    mode: str,
    artifact: Path | None,
    db_url: str | None,
    use_store: bool,
    packages: tuple[str, ...],
    tags: str,
    goos: str | None,
    goarch: str | None,
    tests: bool,
    go: str | None,
) -> None:
    """Inside GitHub Actions: diff a pull request and publish the result, or record a push."""
    from bot.ci import CheckMode, Mode, Settings, run_ci
    from bot.github.actions import WorkflowCommands
    from bot.github.artifact import PublishClient, WorkflowRun, load_workflow_run
    from bot.github.client import GitHubClient, RetryPolicy
    from bot.github.context import Event, PullRequest, load_event, read_environment
    from bot.report.text import comparison_text

    commands = WorkflowCommands(sys.stdout)

    def progress(message: str) -> None:
        click.echo(f"escape-bot: {message}")

    try:
        environment = read_environment(os.environ)
        run_mode: Mode = "analyze" if mode == "analyze" else "publish" if mode == "publish" else "auto"
        event: Event | WorkflowRun = (
            load_workflow_run(environment) if run_mode == "publish" else load_event(environment)
        )
        check_mode: CheckMode = (
            "check-run" if check == "check-run" else "status" if check == "status" else "none"
        )
        settings = Settings(
            repo=repo,
            name=name,
            comment=comment,
            check=check_mode,
            author_login=author_login,
            build=build_options(packages, tags, goos, goarch, tests, go),
            gate=GatePolicy(fail_on_new=fail_on_new),
            report_dir=report_dir,
            token=token or None,
            mode=run_mode,
            artifact=artifact,
        )
        publisher = None
        if isinstance(event, PullRequest | WorkflowRun) and settings.publishes and settings.token:
            policy = RetryPolicy(
                backoff=retry_backoff,
                max_wait=max_wait,
                write_interval=write_interval or None,
                request_interval=None if write_interval == 0 else RetryPolicy().request_interval,
            )
            client = PublishClient if isinstance(event, WorkflowRun) else GitHubClient
            publisher = client(
                api_url=environment.api_url,
                token=settings.token,
                repository=environment.repository,
                policy=policy,
            )
        try:
            with contextlib.ExitStack() as stack:
                # publishing an artifact builds nothing: no store (and no checkout) needed
                wants_store = use_store and run_mode != "publish"
                store = stack.enter_context(open_store(db_url, repo)) if wants_store else None
                outcome = run_ci(
                    settings,
                    environment,
                    event,
                    commands=commands,
                    publisher=publisher,
                    store=store,
                    progress=progress,
                )
        finally:
            if publisher is not None:
                publisher.close()
    except BotError as exc:
        commands.annotate("error", exc.message)
        if exc.details:
            # compiler output quotes the PR's source: print it where it cannot issue commands
            with commands.untrusted():
                click.echo("\n".join("    " + line for line in exc.details.strip().splitlines()[:40]))
            exc.details = ""
        raise

    if outcome.comparison is not None:
        c = outcome.comparison
        with commands.untrusted():
            click.echo(comparison_text(c.base, c.head, c.result))
    if outcome.report_path is not None:
        click.echo(f"escape-bot: report {outcome.report_path}")
    if outcome.artifact_path is not None:
        click.echo(f"escape-bot: results artifact {outcome.artifact_path} (upload it for --mode publish)")
    if outcome.exit_code == EXIT_GATE and outcome.decision is not None:
        raise GateFailed(f"gate failed: {outcome.decision.reason}")
