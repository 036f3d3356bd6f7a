"""`escape-bot backfill`, `trend`, `blame` and `top`: fill the store with the history, read it back.

Options → one call into bot/history → print. Registered on the group in bot/cli.py.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.commands import DB_HELP, build_flags, build_options, config_option, open_store
from bot.errors import BotError, GitError, UsageError
from bot.gc.model import Cause

if TYPE_CHECKING:  # imported when a command runs, so that `--help` stays fast
    from rich.console import RenderableType
    from rich.progress import Progress

    from bot.commit import CommitInfo
    from bot.history.backfill import Listener, Outcome, Plan
    from bot.history.blame import Target
    from bot.history.links import GitHubRepository
    from bot.history.model import Trend
    from bot.history.queries import Filters, Scope
    from bot.store import Store

_REPO = click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The git repository.",
)
_DB = click.option("--db", "db_url", envvar="ESCAPE_BOT_DATABASE_URL", default=None, help=DB_HELP)
_NAME = click.option(
    "--name",
    default=None,
    help="The repository's name in the database (default: $GITHUB_REPOSITORY, else the directory's name).",
)
_BRANCH = click.option(
    "--branch", default=None, help="Branch whose first-parent history to read (default: the current branch)."
)
_TOOLCHAIN = click.option(
    "--toolchain",
    "toolchain_key",
    default=None,
    help="Toolchain key of the snapshots to read (default: the newest snapshot's), "
    "e.g. 'go1.24.2/linux/amd64/tags=/flags=-trimpath -gcflags=-m=2/records=2'.",
)
_LEAKS = click.option(
    "--leaks/--no-leaks",
    default=False,
    help="Count every kind, leaking parameters too (default: heap escapes: moved-to-heap, escapes-to-heap).",
)
_PACKAGE_GLOB = click.option(
    "--package",
    "package_glob",
    default=None,
    help="Only packages whose import path matches this glob ('*' crosses '/'): 'example.com/m/internal/*'.",
)
_CAUSE = click.option(
    "--cause", type=click.Choice([c.value for c in Cause]), default=None, help="Only this cause."
)
_OUTPUT = click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of stdout.",
)


# ---- shared ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Where:
    """The repository as the queries see it."""

    root: Path | None  # None: --repo is not a git repository (the database alone is read)
    scope: Scope
    sha: str | None = None  # --rev, resolved


def _root(repo: Path) -> Path | None:
    from bot import git

    try:
        return git.repo_root(repo)
    except GitError:
        return None


def _where(
    repo: Path, branch: str | None, name: str | None, toolchain_key: str | None, rev: str | None = None
) -> _Where:
    """Repository name, branch and first-parent order (from git when the clone has them)."""
    from bot import app, git
    from bot.history import gitlog
    from bot.history.queries import Scope

    root = _root(repo)
    if rev is not None and root is None:
        raise UsageError(f"--rev needs a git repository, and {repo} is not one")
    repository = name or (app.repository_name(root) if root else repo.resolve().name)
    if root is not None and branch is None:
        branch = gitlog.current_branch(root) or "HEAD"
    sha = git.resolve(root, rev) if rev is not None and root is not None else None
    order: tuple[str, ...] | None = None
    # a shallow clone's first-parent history stops early: the branch's stored commits then
    if root is not None and not gitlog.is_shallow(root):
        tip = sha or branch
        candidates = [tip] if sha or tip is None else [tip, f"origin/{tip}"]
        for candidate in candidates:
            if candidate and gitlog.has_revision(root, candidate):
                order = tuple(gitlog.first_parent_shas(root, candidate))
                break
    scope = Scope(repository=repository, branch=branch, order=order, toolchain_key=toolchain_key)
    return _Where(root, scope, sha)


def _filters(leaks: bool, package_glob: str | None, cause: str | None) -> Filters:
    from bot.history.model import ALL_KINDS, HEAP_KINDS
    from bot.history.queries import Filters

    return Filters(
        kinds=ALL_KINDS if leaks else HEAP_KINDS, package=package_glob, cause=Cause(cause) if cause else None
    )


def _when(value: str | None, *, end_of_day: bool = False) -> datetime | None:
    from bot.history.dates import parse_when

    return None if value is None else parse_when(value, datetime.now(UTC), end_of_day=end_of_day)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


def _table(renderable: RenderableType, output: Path | None) -> None:
    from rich.console import Console

    if output is None:
        # a pipe gets the whole table, not one squeezed into rich's default 80 columns
        console = Console(width=None if sys.stdout.isatty() else 200)
        console.print(renderable)
        return
    with output.open("w", encoding="utf-8") as f:
        Console(file=f, width=200, color_system=None).print(renderable)
    click.echo(f"wrote {output}", err=True)


def _json(data: dict[str, Any], output: Path | None) -> None:
    _write(json.dumps(data, indent=2, ensure_ascii=False) + "\n", output)


# ---- backfill ----------------------------------------------------------------------------


class _PlainLines:
    """One line per commit on stdout (not a terminal: CI logs, pipes)."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._width = len(str(total))

    def building(self, index: int, commit: CommitInfo) -> None:
        pass

    def package(self, name: str) -> None:
        pass

    def finished(self, index: int, outcome: Outcome) -> None:
        click.echo(_outcome_line(index, self._total, self._width, outcome))


def _outcome_line(index: int, total: int, width: int, outcome: Outcome) -> str:
    head = f"[{index + 1:>{width}}/{total}] {outcome.commit.sha[:12]} {outcome.status:<8}"
    if outcome.status in ("recorded", "stored"):
        detail = f"{outcome.heap_escapes} heap escapes" + (f" ({outcome.message})" if outcome.message else "")
    else:
        detail = outcome.message.splitlines()[0] if outcome.message else ""
    return f"{head} {detail}  ({outcome.seconds:.1f} s)  {outcome.commit.subject}"


class _ProgressBar:
    """A rich progress bar on stderr: commits done, the commit and package being built, ETA."""

    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("starting", total=total, package="")
        self._total = total
        self._width = len(str(total))

    def building(self, index: int, commit: CommitInfo) -> None:
        self._progress.update(self._task, description=f"{commit.sha[:12]} {commit.subject[:40]}", package="")

    def package(self, name: str) -> None:
        # build_snapshot first says which revision it builds (the description has it already)
        self._progress.update(self._task, package="go build" if name.startswith("building ") else name)

    def finished(self, index: int, outcome: Outcome) -> None:
        from rich.text import Text

        line = Text(_outcome_line(index, self._total, self._width, outcome))
        if outcome.status in ("failed", "error"):
            line.stylize("yellow" if outcome.status == "failed" else "red")
        self._progress.console.print(line)
        self._progress.advance(self._task)


@contextmanager
def _listener(total: int) -> Iterator[Listener]:
    if not sys.stderr.isatty():
        yield _PlainLines(total)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[package]}", markup=False, style="dim"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        yield _ProgressBar(progress, total)


@contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a cancelled CI job, a closed terminal) stop a run like Ctrl-C does:
    the worktree is removed on the way out and the summary says what was done."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@click.command()
@click.argument("rev_range", required=False)
@_REPO
@_BRANCH
@click.option(
    "--last", type=click.IntRange(min=1), default=None, help="Only the newest N first-parent commits."
)
@click.option("--since", default=None, help="Only commits since this date (2025-01-31, '3 weeks ago').")
@click.option("--retry-failed", is_flag=True, help="Build again the commits recorded as failed.")
@_NAME
@_DB
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
        raise UsageError("give one of --last, --since and REV_RANGE")
    from bot.config import load_config

    root = git.repo_root(repo)
    config = load_config(config_path, root)
    options = build_options(packages, tags, goos, goarch, tests, go, modules=modules, settings=config.build)
    if branch is None and rev_range is None:
        branch = gitlog.current_branch(root)
        if branch is None:
            raise UsageError("HEAD is detached: name the branch with --branch")
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
            since=_when(since),
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
            with _stop_signals_interrupt(), _listener(len(plan.todo)) as listener:
                for outcome in bf.run(root, store, repository, plan.todo, options, plan.toolchain, listener):
                    outcomes.append(outcome)
        except KeyboardInterrupt:
            click.echo(_summary(outcomes, plan, started, interrupted=True), err=True)
            raise
    click.echo(_summary(outcomes, plan, started))
    errors = [o for o in outcomes if o.status == "error"]
    if errors:
        raise BotError(
            f"{len(errors)} commit(s) could not be analysed and were not recorded (a re-run tries again): "
            + ", ".join(o.commit.sha[:12] for o in errors)
        )


def _summary(outcomes: list[Outcome], plan: Plan, started: float, *, interrupted: bool = False) -> str:
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("recorded", "failed", "error", "stored")}
    parts = [f"{counts['recorded']} recorded", f"{counts['failed']} failed to build (recorded as failed)"]
    if counts["error"]:
        parts.append(f"{counts['error']} not analysed")
    if counts["stored"]:
        parts.append(f"{counts['stored']} stored meanwhile by another run")
    text = f"backfill: {', '.join(parts)} in {time.monotonic() - started:.1f} s"
    if interrupted:
        left = len(plan.todo) - len(outcomes)
        text += f"; interrupted with {left} left: run the same command again to continue"
    return text


# ---- trend -------------------------------------------------------------------------------


@click.command()
@_REPO
@_BRANCH
@click.option(
    "--by",
    type=click.Choice(["cause", "package", "kind"]),
    default="cause",
    show_default=True,
    help="Split by.",
)
@_PACKAGE_GLOB
@_CAUSE
@click.option("--since", default=None, help="Commits since this date (2025-01-31, '3 weeks ago').")
@click.option("--until", default=None, help="Commits until this date (a bare date includes the day).")
@click.option("--last", type=click.IntRange(min=1), default=None, help="Only the newest N commits.")
@_LEAKS
@_TOOLCHAIN
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    show_default=True,
    help="html: a self-contained page (chart by cause, packages with sparklines); --by does not apply.",
)
@_OUTPUT
@_NAME
@_DB
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
    from bot.history import queries, render
    from bot.history.model import GroupBy, TrendReport

    where = _where(repo, branch, name, toolchain_key)
    filters = _filters(leaks, package_glob, cause)
    start, end = _when(since), _when(until, end_of_day=True)

    def read(store: Store, group: GroupBy) -> Trend:
        return queries.trend(store, where.scope, filters, by=group, since=start, until=end, last=last)

    with open_store(db_url, where.root or repo) as store:
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
        _write(render.trend_html(report), output)
    elif fmt == "json":
        _json(render.trend_dict(result), output)
    elif fmt == "csv":
        _write(render.trend_csv(result), output)
    else:
        _table(render.trend_table(result), output)
        if result.failed:
            click.echo(f"{len(result.failed)} commit(s) in this range did not build (not shown)", err=True)
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


@click.command()
@_REPO
@_BRANCH
@click.option(
    "--by",
    type=click.Choice(["package", "function", "cause", "hotness"]),
    default="package",
    show_default=True,
    help="Rank by escape sites per package, function or cause; or each escape by the profiles "
    "(hotness: --profile, else the repository's default.pgo files).",
)
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Rows to show (0: all)."
)
@click.option("--rev", default=None, help="This stored commit instead of the newest.")
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --by hotness: a CPU or memory profile (repeatable).",
)
@_PACKAGE_GLOB
@_CAUSE
@_LEAKS
@_TOOLCHAIN
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
@_OUTPUT
@_NAME
@_DB
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
    from bot.history import queries, render
    from bot.history.model import TopBy

    where = _where(repo, branch, name, toolchain_key, rev)
    filters = _filters(leaks, package_glob, cause)
    if by == "hotness":
        _top_hotness(repo, where, filters, profiles, limit, fmt, output, db_url)
        return
    if profiles:
        raise UsageError("--profile ranks escapes: use it with --by hotness")
    with open_store(db_url, where.root or repo) as store:
        result = queries.top(store, where.scope, filters, by=TopBy(by), limit=limit, sha=where.sha)
    if fmt == "json":
        _json(render.top_dict(result), output)
    elif fmt == "csv":
        _write(render.top_csv(result), output)
    else:
        _table(render.top_table(result), output)
    if fmt != "table":  # the table says it above the figures; other formats also on stderr
        for line in render.newest_failed_lines(result.newest_failed):
            click.echo(line, err=True)


def _top_hotness(
    repo: Path,
    where: _Where,
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

    root = where.root or repo
    loaded = load_profiles(go_binary(), root, profiles)
    if not loaded:
        raise UsageError(
            "top --by hotness needs a profile: --profile FILE, or a default.pgo in the repository"
        )
    with open_store(db_url, root) as store:
        # the same commit and toolchain `top` would read; then that snapshot's escapes
        chosen = queries.top(store, where.scope, filters, by=TopBy.FUNCTION, limit=1, sha=where.sha)
        s = chosen.selection
        snapshot = store.find_snapshot(s.repository, chosen.commit.sha, s.toolchain_key)
    escapes = snapshot.escapes if snapshot is not None else ()
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
        _json(hot.hot_dict(result), output)
    elif fmt == "csv":
        _write(render.csv_text(hot.hot_rows(result)), output)
    else:
        _table(hot.hot_table(result), output)
    for line in render.newest_failed_lines(chosen.newest_failed):
        click.echo(line, err=True)


# ---- blame -------------------------------------------------------------------------------


def _target(root: Path | None, spec: str | None, function: str | None) -> Target:
    """FILE[:LINE] (relative to the current directory or to the repository) and --function."""
    from bot.history.blame import Target

    if spec is None:
        return Target(function=function)
    file, line = spec, None
    head, _, tail = spec.rpartition(":")
    if head and tail.isdigit():
        file, line = head, int(tail)
    path = Path(file)
    if root is not None and path.exists():
        try:
            file = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UsageError(f"{spec} is not inside the repository {root}") from None
    return Target(file=Path(file).as_posix(), line=line, function=function)


@click.command()
@click.argument("target", metavar="[FILE[:LINE]]", required=False)
@click.option(
    "--function", default=None, help="Escapes in this function ('(*List).Push', 'Push', or a glob)."
)
@_REPO
@_BRANCH
@click.option("--rev", default=None, help="Blame the escapes of this stored commit instead of the newest.")
@_LEAKS
@_TOOLCHAIN
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_OUTPUT
@_NAME
@_DB
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
    from bot import git
    from bot.history import render
    from bot.history.blame import blame as blame_of

    where = _where(repo, branch, name, toolchain_key, rev)
    root = where.root

    def renames(older: str, newer: str) -> dict[str, str]:
        if root is None:
            return {}
        try:
            return git.renames(root, older, newer)
        except GitError:
            return {}  # a commit missing from the clone: match without renames

    with open_store(db_url, root or repo) as store:
        result = blame_of(
            store,
            where.scope,
            _target(root, target, function),
            renames,
            _filters(leaks, None, None),
            sha=where.sha,
        )
    if not result.entries:
        click.echo(f"no {'escapes' if leaks else 'heap escapes'} at {result.commit.sha[:12]} match", err=True)
    if fmt == "json":
        _json(render.blame_dict(result), output)
    else:
        _table(render.blame_table(result), output)
