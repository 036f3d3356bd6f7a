"""`escape-bot backfill`, `trend`, `blame` and `top`: fill the store with the history, read it back.

Options → one call into bot/history → print. Registered on the group in bot/cli.py.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.commands import build_flags, build_options, config_option, format_option, open_store, usage_error
from bot.commands.backfill_progress import backfill_summary, commit_listener
from bot.commands.history_scope import (
    BRANCH,
    CAUSE,
    DB,
    LEAKS,
    NAME,
    OUTPUT,
    PACKAGE_GLOB,
    REPO,
    TOOLCHAIN,
    Where,
    blame_target,
    check_blame_file,
    date_of,
    explained,
    filters_of,
    scope_of,
)
from bot.commands.output import write_json, write_table, write_text
from bot.errors import BotError, GitError
from bot.interrupt import Interrupted
from bot.memory import gc_paused
from bot.wording import plural

if TYPE_CHECKING:  # imported when a command runs, so that `--help` stays fast
    from bot.history.backfill import Outcome
    from bot.history.links import GitHubRepository
    from bot.history.model import Trend
    from bot.history.queries import Filters
    from bot.store import Store


# ---- shared ------------------------------------------------------------------------------


# ---- backfill ----------------------------------------------------------------------------


@click.command(short_help="Record the first-parent history of a branch in the database.")
@click.argument("rev_range", required=False)
@REPO
@BRANCH
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the newest N first-parent commits.",
)
@click.option(
    "--since", default=None, metavar="DATE", help="Only commits since this date (2025-01-31, '3 weeks ago')."
)
@click.option("--retry-failed", is_flag=True, help="Build again the commits recorded as failed.")
@NAME
@DB
@config_option
@build_flags
def backfill(
    rev_range: str | None,
    repo: Path,
    branch: str | None,
    last: int | None,
    since: str | None,
    retry_failed: bool,
    name: str | None,
    db_url: str | None,
    config_path: Path | None,
    modules: tuple[str, ...],
    packages: tuple[str, ...],
    tags: str,
    goos: str | None,
    goarch: str | None,
    tests: bool,
    go: str | None,
) -> None:
    """Record every first-parent commit of a branch that the database does not have, oldest first.

    REV_RANGE (e.g. v1.0..main) selects commits instead of the branch. Commits that do not
    build are recorded as failed and skipped; a re-run continues where a run stopped.
    """
    from bot import app, git
    from bot.history import backfill as bf
    from bot.history import gitlog

    if sum(x is not None for x in (rev_range, last, since)) > 1:
        raise usage_error("give at most one of --last, --since, REV_RANGE")
    from bot.config import load_config

    root = git.repo_root(repo)
    config = load_config(config_path, root)
    options = build_options(packages, tags, goos, goarch, tests, go, modules=modules, settings=config.build)
    if branch is None and rev_range is None:
        branch = gitlog.current_branch(root)
        if branch is None:
            raise usage_error("HEAD is detached: name the branch with --branch")
    revisions = rev_range or branch
    assert revisions is not None
    repository = name or app.repository_name(root)
    started = time.monotonic()
    with open_store(db_url, root) as store:
        plan = bf.plan(
            root,
            store,
            repository,
            options,
            revisions=revisions,
            branch=branch,
            since=date_of(since, "--since"),
            last=last,
            retry_failed=retry_failed,
        )
        what = f"{len(plan.commits)} first-parent commits of {revisions}"
        if not plan.todo:
            click.echo(f"backfill: nothing to do, all {what} are in {store.url}")
            return
        click.echo(
            f"backfill: {len(plan.todo)} to build, {plan.already_stored} already stored, of {what} "
            f"(toolchain {plan.toolchain.key}) into {store.url}"
        )
        outcomes: list[Outcome] = []  # kept here, so that an interrupted run can still say what it did
        try:
            with commit_listener(len(plan.todo)) as listener:
                for outcome in bf.run(root, store, repository, plan.todo, options, plan.toolchain, listener):
                    outcomes.append(outcome)
        except (KeyboardInterrupt, Interrupted):
            click.echo(backfill_summary(outcomes, plan, started, interrupted=True), err=True)
            raise
    click.echo(backfill_summary(outcomes, plan, started))
    errors = [o for o in outcomes if o.status == "error"]
    if errors:
        were = "was" if len(errors) == 1 else "were"
        raise BotError(
            f"{plural(len(errors), 'commit')} could not be analysed and {were} not recorded "
            "(a re-run tries again): " + ", ".join(o.commit.sha[:12] for o in errors)
        )


# ---- trend -------------------------------------------------------------------------------


@click.command(short_help="Heap escapes per commit over a branch's history.")
@REPO
@BRANCH
@click.option(
    "--by",
    type=click.Choice(["cause", "package", "kind"]),
    default="cause",
    show_default=True,
    help="Split the counts by cause, package or kind.",
)
@PACKAGE_GLOB
@CAUSE
@click.option(
    "--since", default=None, metavar="DATE", help="Commits since this date (2025-01-31, '3 weeks ago')."
)
@click.option(
    "--until", default=None, metavar="DATE", help="Commits until this date (a bare date includes the day)."
)
@click.option(
    "--last", type=click.IntRange(min=1), default=None, metavar="N", help="Only the newest N commits."
)
@LEAKS
@TOOLCHAIN
@format_option(
    ("table", "csv", "json", "html"),
    "table",
    "html: a self-contained page (chart by cause, packages with sparklines); --by does not apply.",
)
@OUTPUT
@NAME
@DB
def trend(
    repo: Path,
    branch: str | None,
    by: str,
    package_glob: str | None,
    cause: str | None,
    since: str | None,
    until: str | None,
    last: int | None,
    leaks: bool,
    toolchain_key: str | None,
    fmt: str,
    output: Path | None,
    name: str | None,
    db_url: str | None,
) -> None:
    """Heap escapes per commit over the first-parent history of a branch."""
    with gc_paused():  # modules live as long as the process: collecting would only rescan them
        from bot.history import queries, render
        from bot.history.model import GroupBy, TrendReport

    where = scope_of(repo, branch, name, toolchain_key)
    filters = filters_of(leaks, package_glob, cause)
    start, end = date_of(since, "--since"), date_of(until, "--until", end_of_day=True)

    def read(store: Store, group: GroupBy) -> Trend:
        return queries.trend(store, where.scope, filters, by=group, since=start, until=end, last=last)

    with open_store(db_url, where.root or repo, "read") as store, explained(where, store):
        if fmt == "html":
            # the chart is stacked by `--by` (cause by default); the table below it is by package
            causes, packages = read(store, GroupBy(by)), read(store, GroupBy.PACKAGE)
        else:
            result = read(store, GroupBy(by))
    if fmt == "html":
        links = _github(where.root)
        report = TrendReport(
            causes=causes,
            packages=packages,
            generated_at=datetime.now(UTC),
            commit_url=links.commit_prefix if links else None,
            pull_url=links.pull_prefix if links else None,
        )
        from bot.history import html  # jinja2: only for this format

        write_text(html.trend_html(report), output)
    elif fmt == "json":
        write_json(render.trend_dict(result), output)
    elif fmt == "csv":
        write_text(render.trend_csv(result), output)
    else:
        write_table(render.trend_table(result), output)
        if result.failed:
            n = len(result.failed)
            what = render.not_built(render.failures_of(result))
            click.echo(f"{plural(n, 'commit')} in this range {what} (not shown)", err=True)
    if fmt != "table":  # the table says it above the figures; other formats also on stderr
        shown = causes if fmt == "html" else result
        for line in render.newest_failed_lines(shown.newest_failed):
            click.echo(line, err=True)


def _github(root: Path | None) -> GitHubRepository | None:
    """The GitHub repository of `origin`, for links; None when unknown."""
    from bot.history import gitlog
    from bot.history.links import github_repository

    if root is None:
        return None
    remote = gitlog.remote_url(root)
    if remote is None:
        return None
    known = [os.environ["GITHUB_SERVER_URL"]] if os.environ.get("GITHUB_SERVER_URL") else []
    return github_repository(remote, known)


# ---- top ---------------------------------------------------------------------------------


@click.command(short_help="Where the heap escapes are today, ranked.")
@REPO
@BRANCH
@click.option(
    "--by",
    type=click.Choice(["package", "function", "cause", "hotness"]),
    default="package",
    show_default=True,
    help="Rank by escape sites per package, function or cause; or each escape by the profiles "
    "(hotness: --profile, else the repository's default.pgo files).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    metavar="N",
    help="Rows to show (0: all).",
)
@click.option("--rev", default=None, metavar="REV", help="This stored commit instead of the newest.")
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --by hotness: a CPU or memory profile (repeatable).",
)
@PACKAGE_GLOB
@CAUSE
@LEAKS
@TOOLCHAIN
@format_option(("table", "csv", "json"), "table")
@OUTPUT
@NAME
@DB
def top(
    repo: Path,
    branch: str | None,
    by: str,
    limit: int,
    rev: str | None,
    profiles: tuple[Path, ...],
    package_glob: str | None,
    cause: str | None,
    leaks: bool,
    toolchain_key: str | None,
    fmt: str,
    output: Path | None,
    name: str | None,
    db_url: str | None,
) -> None:
    """Where the heap escapes are today: the newest stored commit, ranked."""
    with gc_paused():  # (as in trend)
        from bot.history import queries, render
        from bot.history.model import TopBy

    where = scope_of(repo, branch, name, toolchain_key, rev)
    filters = filters_of(leaks, package_glob, cause)
    if by == "hotness":
        _top_hotness(repo, where, filters, profiles, limit, fmt, output, db_url)
        return
    if profiles:
        raise usage_error("--profile ranks escapes: use it with --by hotness")
    with open_store(db_url, where.root or repo, "read") as store, explained(where, store):
        result = queries.top(store, where.scope, filters, by=TopBy(by), limit=limit, sha=where.sha)
    if fmt == "json":
        write_json(render.top_dict(result), output)
    elif fmt == "csv":
        write_text(render.top_csv(result), output)
    else:
        write_table(render.top_table(result), output)
    if fmt != "table":  # the table says it above the figures; other formats also on stderr
        for line in render.newest_failed_lines(result.newest_failed):
            click.echo(line, err=True)


def _top_hotness(
    repo: Path,
    where: Where,
    filters: Filters,
    profiles: tuple[Path, ...],
    limit: int,
    fmt: str,
    output: Path | None,
    db_url: str | None,
) -> None:
    """`top --by hotness`: the newest stored commit's escapes, ordered by the profiles."""
    from bot.gc.pprof import load_profiles
    from bot.gc.run import go_binary
    from bot.history import hot, queries, render
    from bot.history.model import TopBy
    from bot.history.shards import shard_key

    root = where.root or repo
    loaded = load_profiles(go_binary(), root, profiles)
    if not loaded:
        raise usage_error(
            "top --by hotness needs a profile: --profile FILE, or a default.pgo in the repository"
        )
    with open_store(db_url, root, "read") as store, explained(where, store):
        # the same commit and toolchain `top` would read; then that snapshot's escapes
        chosen = queries.top(store, where.scope, filters, by=TopBy.FUNCTION, limit=1, sha=where.sha)
        s = chosen.selection
        family = shard_key(s.toolchain_key) if s.shards else None
        keys = family.members if family is not None else (s.toolchain_key,)  # sharded: every shard's
        found = [store.find_snapshot(s.repository, chosen.commit.sha, key) for key in keys]
    escapes = tuple(e for snapshot in found if snapshot is not None for e in snapshot.escapes)
    result = hot.hottest(
        s.repository,
        chosen.commit,
        s.toolchain_key,
        escapes,
        loaded,
        kinds=filters.kinds,
        package=filters.package,
        cause=filters.cause,
        limit=limit,
    )
    if fmt == "json":
        write_json(hot.hot_dict(result), output)
    elif fmt == "csv":
        write_text(render.csv_text(hot.hot_rows(result)), output)
    else:
        write_table(hot.hot_table(result), output)
    for line in render.newest_failed_lines(chosen.newest_failed):
        click.echo(line, err=True)


# ---- blame -------------------------------------------------------------------------------


@click.command(short_help="The commit that brought each current heap escape.")
@click.argument("target", metavar="[FILE[:LINE]]", required=False)
@click.option(
    "--function",
    default=None,
    metavar="NAME",
    help="Escapes in this function ('(*List).Push', 'Push', or a glob).",
)
@REPO
@BRANCH
@click.option(
    "--rev",
    default=None,
    metavar="REV",
    help="Blame the escapes of this stored commit instead of the newest.",
)
@LEAKS
@TOOLCHAIN
@format_option(("table", "json"), "table")
@OUTPUT
@NAME
@DB
def blame(
    target: str | None,
    function: str | None,
    repo: Path,
    branch: str | None,
    rev: str | None,
    leaks: bool,
    toolchain_key: str | None,
    fmt: str,
    output: Path | None,
    name: str | None,
    db_url: str | None,
) -> None:
    """The commit that brought each current heap escape: the first recorded one that had it.

    Escapes are followed by their identity (package, file, function, kind, expression), so line
    shifts, moved functions and renamed files do not reset them.
    """
    with gc_paused():  # (as in trend)
        from bot import git
        from bot.history import render
        from bot.history.blame import blame as blame_of

    where = scope_of(repo, branch, name, toolchain_key, rev)
    root = where.root

    def renames(older: str, newer: str) -> dict[str, str]:
        if root is None:
            return {}
        try:
            return git.renames(root, older, newer)
        except GitError:
            return {}  # a commit missing from the clone: match without renames

    wanted = blame_target(root, target, function)
    with open_store(db_url, root or repo, "read") as store, explained(where, store):
        result = blame_of(
            store,
            where.scope,
            wanted,
            renames,
            filters_of(leaks, None, None),
            sha=where.sha,
        )
    if not result.entries:
        check_blame_file(root, wanted, result.commit.sha)
        click.echo(f"no {'escapes' if leaks else 'heap escapes'} at {result.commit.sha[:12]} match", err=True)
    if fmt == "json":
        write_json(render.blame_dict(result), output)
    else:
        write_table(render.blame_table(result), output)
