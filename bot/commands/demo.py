"""`escape-bot demo`: a throwaway repository from a bundled Go example, its two commits diffed."""

from __future__ import annotations

from pathlib import Path

import click

from bot.commands import FORMATS, format_option, go_option, open_store, progress_reporter
from bot.commands.diff import print_comparison


@click.command(short_help="Try it: diff the two commits of a bundled Go example.")
@click.option(
    "--keep",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Create the demo repository here and keep it (default: a temporary directory).",
)
@format_option(FORMATS, "text", "As for diff.")
@go_option
def demo(keep: Path | None, fmt: str, go: str | None) -> None:
    """Build a throwaway git repository from a bundled Go example and diff its two commits.

    Both snapshots are recorded in the repository's default SQLite database, as `diff` does.
    """
    from bot import app
    from bot.config import Config
    from bot.demo import demo_repository, epilogue
    from bot.gate import GatePolicy
    from bot.gc.run import BuildOptions, go_binary

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
        print_comparison(gated.comparison, fmt)
    result = gated.comparison.result
    new = sum(e.count for e in result.new if e.allocates)
    fixed = sum(e.count for e in result.fixed if e.allocates)
    click.echo(epilogue(kept=keep, store_url=where, new=new, fixed=fixed), err=True)
