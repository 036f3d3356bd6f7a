"""`escape-bot causes`: the cause ids every report and `--cause` filter uses, with what each means."""

from __future__ import annotations

import json

import click

from bot.commands import format_option


@click.command(short_help="List the cause ids (what each means, an example).")
@format_option(("text", "json"), "text")
def causes(fmt: str) -> None:
    """List the cause ids that reports, `--cause` filters and the configuration use: what each
    means, and a Go example that gets it (docs/causes.md has the rules)."""
    from bot.gc.causes import taxonomy

    entries = taxonomy()
    if fmt == "json":
        data = [{"cause": e.cause.value, "meaning": e.meaning, "example": e.example} for e in entries]
        click.echo(json.dumps({"causes": data}, indent=2))
        return
    rows = [("CAUSE", "MEANING", "EXAMPLE")] + [(e.cause.value, e.meaning, e.example) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for cause, meaning, example in rows:
        click.echo(f"{cause:<{widths[0]}}  {meaning:<{widths[1]}}  {example}".rstrip())
