"""`escape-bot db upgrade|current`: the database schema (Alembic migrations shipped with escape-bot)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.commands import database_url, db_option, repo_option
from bot.commands.group import FullHelpGroup


@click.group(cls=FullHelpGroup, short_help="Upgrade the database schema, or print its revision.")
def db() -> None:
    """Manage the database schema (Alembic migrations shipped with escape-bot)."""


@db.command("upgrade", short_help="Upgrade the database to this escape-bot's schema.")
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


@db.command("current", short_help="Print the database's schema revision.")
@db_option
@repo_option
def db_current(db_url: str | None, repo: Path) -> None:
    """Print the database's schema revision and whether it is this escape-bot's."""
    from bot.store.db import current, head_revision, redact, upgrade_command

    url = database_url(db_url, repo)
    revision = current(url)
    head = head_revision()
    state = (
        "up to date" if revision == head else f"this escape-bot needs {head}: run `{upgrade_command(url)}`"
    )
    click.echo(f"{redact(url)}: {revision or 'empty'} ({state})")
