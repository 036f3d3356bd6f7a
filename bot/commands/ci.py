"""`escape-bot ci`: the command the GitHub Action runs (docs/ci.md).

Options -> Settings, the Actions environment -> records, then one call into `bot.ci.run_ci`.
Errors stay BotErrors for bot/cli.py's `main` to turn into one line and an exit code; this
command also prints them as an `::error::` workflow command, and prints compiler output only
between `::stop-commands::` fences.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.commands import (
    build_flags,
    config_option,
    configuration_options,
    database_url,
    db_option,
    name_option,
    open_store,
    profile_option,
    repo_option,
    shard_option,
)
from bot.errors import EXIT_GATE, BotError, UsageError

if TYPE_CHECKING:  # imported when `ci` runs: every command's start-up stays short
    from bot.config import BuildConfig, Config
    from bot.ports import SnapshotStore

CHECK_MODES = ("check-run", "status", "none")
MODES = ("auto", "analyze", "publish")


@click.command("ci", short_help="In GitHub Actions: diff a pull request and publish, or record a push.")
@repo_option
@click.option(
    "--config-name",
    metavar="NAME",
    default="default",
    show_default=True,
    help="Configuration name (matrix jobs): one comment, check run and SARIF category per name; "
    "a build configuration of the configuration file by that name is the one built.",
)
@name_option
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
    metavar="LOGIN",
    default="github-actions[bot]",
    show_default=True,
    help="The login the token posts as: only its comments carrying the marker are edited.",
)
@click.option(
    "--token",
    metavar="TOKEN",
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
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where report.json and report.sarif go (default: $RUNNER_TEMP/escape-bot/NAME).",
)
@click.option(
    "--retry-backoff",
    metavar="SECONDS",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds before retrying a failed GitHub request, doubling each time.",
)
@click.option(
    "--max-wait",
    metavar="SECONDS",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    help="The longest Retry-After / rate-limit reset to wait for, in seconds.",
)
@click.option(
    "--write-interval",
    metavar="SECONDS",
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
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The results artifact directory: written by --mode analyze (default: REPORT_DIR/artifact), "
    "read by --mode publish (required: where download-artifact put it).",
)
@db_option
@click.option(
    "--store/--no-store",
    "use_store",
    default=True,
    show_default=True,
    help="Take the base from the database when stored, record what was built (pushes: the history).",
)
@profile_option
@config_option
@shard_option
@build_flags
def ci(
    repo: Path,
    config_name: str,
    name: str | None,
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
    profiles: tuple[Path, ...],
    config_path: Path | None,
    modules: tuple[str, ...],
    packages: tuple[str, ...],
    tags: str,
    goos: str | None,
    goarch: str | None,
    tests: bool,
    go: str | None,
    shard: str | None,
) -> None:
    """Inside GitHub Actions: diff a pull request and publish the result, or record a push."""
    from bot.ci import CheckMode, LazyStore, Mode, Settings, run_ci
    from bot.config import Config, load_config
    from bot.gate import GateFailed, GatePolicy
    from bot.github import labels
    from bot.github.actions import WorkflowCommands
    from bot.github.context import (
        Event,
        MergeGroup,
        PullRequest,
        WorkflowRun,
        load_event,
        load_workflow_run,
        read_environment,
    )
    from bot.report.text import comparison_text

    commands = WorkflowCommands(sys.stdout)

    def progress(message: str) -> None:
        click.echo(f"escape-bot: {message}")

    try:
        if shard is not None and mode != "analyze":
            raise UsageError(
                f"--shard {shard} needs --mode analyze: each shard writes its results artifact and one "
                "--mode publish job posts them together (docs/ci.md, 'Sharding')"
            )
        environment = read_environment(os.environ)
        run_mode: Mode = "analyze" if mode == "analyze" else "publish" if mode == "publish" else "auto"
        event: Event | WorkflowRun = (
            load_workflow_run(environment) if run_mode == "publish" else load_event(environment)
        )
        check_mode: CheckMode = (
            "check-run" if check == "check-run" else "status" if check == "status" else "none"
        )
        root = _config_root(repo)
        config = load_config(config_path, root) if run_mode != "publish" else Config()
        # publish: the base branch's configuration (through the API), or the file --config names
        # in the publish workflow's own checkout of the default branch; never the artifact's
        trusted = load_config(config_path, root) if run_mode == "publish" and config_path else None
        gate = GatePolicy.from_config(config)
        if not fail_on_new:
            gate = replace(gate, fail_on_new=False)
        acceptance = None
        if isinstance(event, PullRequest) and environment.event_path is not None:
            acceptance = labels.acceptance(_payload(environment.event_path), config.accept_label)
        builds = _builds(config, config_name, tags, goos, goarch)
        runs = [
            Settings(
                repo=repo,
                name=build_name,
                repository=name,
                comment=comment,
                check=check_mode,
                author_login=author_login,
                build=configuration_options(build, config, packages, tests, go, modules, shard),
                gate=gate,
                report_dir=report_dir / build_name
                if report_dir is not None and len(builds) > 1
                else report_dir,
                token=token or None,
                mode=run_mode,
                artifact=_per_build(artifact, build_name, len(builds)),
                config=config,
                acceptance=acceptance,
                profiles=profiles,
                trusted_config=trusted,
                summary_share=len(builds) - i,
            )
            for i, (build_name, build) in enumerate(builds)
        ]
        settings = runs[0]
        publisher = None
        if (
            isinstance(event, PullRequest | MergeGroup | WorkflowRun)
            and settings.publishes
            and settings.token
        ):
            # PyGithub and requests: imported only to talk to GitHub (analyze and push need neither)
            from bot.github.client import GitHubClient
            from bot.github.retry import RetryPolicy

            policy = RetryPolicy(
                backoff=retry_backoff,
                max_wait=max_wait,
                write_interval=write_interval or None,
                request_interval=None if write_interval == 0 else RetryPolicy().request_interval,
            )
            publisher = GitHubClient(
                api_url=environment.api_url,
                token=settings.token,
                repository=environment.repository,
                policy=policy,
            )
        try:
            with contextlib.ExitStack() as stack:
                # publishing an artifact builds nothing: no store (and no checkout) needed
                wants_store = use_store and run_mode != "publish"
                store: SnapshotStore | None = None
                if wants_store:
                    url = database_url(db_url, repo)  # a directory outside git fails here, first
                    # opened when first asked (LazyStore): head's build starts before
                    store = stack.enter_context(LazyStore(lambda: open_store(url, repo, "auto")))
                outcomes = [
                    run_ci(
                        one,
                        environment,
                        event,
                        commands=commands,
                        publisher=publisher,
                        store=store,
                        progress=progress,
                    )
                    for one in runs
                ]
        finally:
            if publisher is not None:
                publisher.close()
    except BotError as exc:
        if os.environ.get("GITHUB_ACTIONS") != "true":
            raise  # outside Actions a workflow command is noise on stdout: main's one line says it
        commands.annotate("error", exc.message)
        if extra := exc.detail_lines():
            # compiler output quotes the PR's source: print it where it cannot issue commands
            with commands.untrusted():
                click.echo("\n".join("    " + line for line in extra))
            exc.details = ""
        raise

    if len(outcomes) > 1 and environment.output is not None:
        _combined_outputs(environment.output, [r.name for r in runs], outcomes)
    failed = []
    for outcome in outcomes:
        if outcome.comparison is not None:
            c = outcome.comparison
            with commands.untrusted():
                click.echo(comparison_text(c.base, c.head, c.result))
        if outcome.report_path is not None:
            click.echo(f"escape-bot: report {outcome.report_path}")
        if outcome.artifact_path is not None:
            click.echo(f"escape-bot: results artifact {outcome.artifact_path} (upload it for --mode publish)")
        if outcome.exit_code == EXIT_GATE and outcome.decision is not None:
            failed.append(outcome.decision.reason)
    if failed:
        raise GateFailed(f"gate failed: {'; '.join(failed)}")


def _combined_outputs(path: Path, names: list[str], outcomes: list[Any]) -> None:
    """Several build configurations in one step: outputs for all of them, written last (each
    configuration's own went before and would otherwise be the last one's only). `sarif-path`
    becomes a directory of one SARIF file per configuration (upload-sarif takes a directory; each
    file's automationDetails id is its own category)."""
    import shutil

    from bot.github.actions import write_outputs

    values: dict[str, str | int] = {}
    sarifs = [(n, o.sarif_path) for n, o in zip(names, outcomes, strict=True) if o.sarif_path is not None]
    if sarifs:
        directory = Path(os.path.commonpath([p.parent for _, p in sarifs])) / "sarif"
        directory.mkdir(parents=True, exist_ok=True)
        for name, sarif in sarifs:
            shutil.copyfile(sarif, directory / f"{name}.sarif")
        values["sarif-path"] = str(directory)
    compared = [o.comparison.result for o in outcomes if o.comparison is not None]
    if compared:

        def units(records: Any) -> int:
            return sum(e.count for e in records if e.kind.allocates)

        values["new-count"] = sum(units(r.new) for r in compared)
        values["fixed-count"] = sum(units(r.fixed) for r in compared)
    decided = [o.decision for o in outcomes if o.decision is not None]
    if decided:
        worst = max(decided, key=lambda d: ("pass", "warn", "fail").index(d.verdict.value))
        values["verdict"] = worst.verdict.value
    values["names"] = ",".join(names)
    write_outputs(path, values)


def _per_build(path: Path | None, name: str, builds: int) -> Path | None:
    """A directory of its own per build configuration when there are several."""
    return path / name if path is not None and builds > 1 else path


def _config_root(repo: Path) -> Path:
    """Where `.escape-bot.toml` is looked for: the repository root, else `repo` itself."""
    from bot import git

    return git.find_root(repo) or repo


def _payload(path: Path) -> dict[str, Any]:
    """The event payload (already validated by load_event)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _builds(
    config: Config, name: str, tags: str, goos: str | None, goarch: str | None
) -> list[tuple[str, BuildConfig]]:
    """(configuration name, build) pairs to run: the command line's, the one `--config-name` picks, or all."""
    from bot.config import BuildConfig

    if tags or goos or goarch:
        return [
            (
                name,
                BuildConfig(name=name, tags=tuple(t for t in tags.split(",") if t), goos=goos, goarch=goarch),
            )
        ]
    chosen = [b for b in config.builds if b.name == name]
    if chosen:
        return [(name, chosen[0])]
    if len(config.builds) == 1:
        return [(name, config.builds[0])]
    return [(b.name, b) for b in config.builds]
