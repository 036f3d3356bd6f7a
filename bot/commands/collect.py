"""`escape-bot collect`: the heap escapes of one revision (built, or read from a saved log)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.commands import (
    DB_HELP,
    build_flags,
    build_options,
    config_option,
    format_option,
    name_option,
    open_store,
    progress_reporter,
    repo_option,
    shard_option,
    usage_error,
)
from bot.errors import ParseError
from bot.gc.model import Snapshot, Toolchain
from bot.wording import plural


@click.command(short_help="Heap escapes of one revision (built, or read from a saved log).")
@repo_option
@click.option(
    "--rev",
    default=None,
    metavar="REV",
    help="Revision to build in a temporary worktree (default: the working tree).",
)
@click.option(
    "--from-log",
    metavar="FILE",
    default=None,
    help="Parse a saved `go build -gcflags=-m=2` log (text or -json) instead of building; - for stdin. "
    "A log without `# package` lines (`go tool compile -m`) takes its package from --package, "
    "else from each file's directory.",
)
@format_option(("text", "json"), "text", "text: one escape a line; json: docs/json-output.md.")
@click.option("--leaks/--no-leaks", default=False, help="Also list leaking-param records in text output.")
@click.option(
    "--pretty", is_flag=True, help="JSON output indented by two spaces (default: compact, one line)."
)
@click.option(
    "--explain",
    is_flag=True,
    help="JSON output includes each escape's `explanation` (the compiler's flow steps: "
    "about three quarters of the output).",
)
@click.option("--strict", is_flag=True, help="Fail on compiler lines the parser does not understand.")
@click.option(
    "--db",
    "db_url",
    envvar="ESCAPE_BOT_DATABASE_URL",
    default=None,
    metavar="URL",
    help=DB_HELP + " Implies --record.",
)
@click.option(
    "--record", is_flag=True, help="Record the snapshot in the database (the revision, HEAD by default)."
)
@name_option
@config_option
@shard_option
@build_flags
def collect(
    repo: Path,
    rev: str | None,
    from_log: str | None,
    fmt: str,
    leaks: bool,
    pretty: bool,
    explain: bool,
    strict: bool,
    db_url: str | None,
    record: bool,
    name: str | None,
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
    """Heap escapes of one revision."""
    from bot.report.text import snapshot_text

    if name is not None and not (record or db_url):
        raise usage_error("--name names the repository in the database: use it with --record or --db")
    if from_log is not None:
        from bot.gc.logs import read_log

        if shard is not None:
            raise usage_error("--shard selects packages to build: a saved log is read whole", "--shard")
        if len(packages) > 1:
            raise usage_error(
                "with --from-log, --package names the package of a log without `# package` lines", "--package"
            )
        log = read_log(from_log, packages[0] if packages else None)
        for note in log.notes:
            click.echo(f"escape-bot: {note}", err=True)
        snapshot = Snapshot("", "", Toolchain("unknown", "", ""), tuple(log.escapes), log.stats)
    else:
        from bot import app, git
        from bot.config import load_config

        root = git.repo_root(repo)
        config = load_config(config_path, root)
        options = build_options(
            packages, tags, goos, goarch, tests, go, modules=modules, settings=config.build, shard=shard
        )
        if record or db_url:
            # a record is of a commit: build HEAD (or --rev) in a worktree, never the dirty tree
            with open_store(db_url, root) as store, progress_reporter(True) as progress:
                snapshot, source = app.snapshot_of(
                    root, rev or "HEAD", options, store, progress, repository=name
                )
            click.echo(
                f"{snapshot.commit[:12]}: {'already in' if source == 'store' else 'recorded in'} {store.url}",
                err=True,
            )
        else:
            # the working tree is built from its root, whichever subdirectory we were called in
            with progress_reporter(True) as progress:
                snapshot = app.build_snapshot(root, rev, options, progress)
        for failure in snapshot.failed_modules:
            missing = "did not build (its escapes are missing)"
            click.echo(f"escape-bot: module {failure.where} {missing}: {failure.reason}", err=True)
    if strict and snapshot.stats.unknown_lines:
        sample = snapshot.stats.unknown_samples[0] if snapshot.stats.unknown_samples else ""
        raise ParseError(
            f"{plural(snapshot.stats.unknown_lines, 'compiler line')} not understood, first: {sample}"
        )
    if fmt == "json":
        import sys

        from bot.report.stream import write_snapshot

        # written escape by escape as it is encoded: no whole document in memory
        write_snapshot(snapshot, sys.stdout.buffer, pretty=pretty, explain=explain)
        sys.stdout.buffer.flush()
    else:
        click.echo(snapshot_text(snapshot, leaks=leaks))
