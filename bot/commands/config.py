"""`escape-bot config check`: validate the configuration file and print the effective one."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.commands import config_option, repo_option
from bot.commands.group import FullHelpGroup


@click.group("config", cls=FullHelpGroup, short_help="Check the configuration file (.escape-bot.toml).")
def config_group() -> None:
    """Check the configuration file (.escape-bot.toml)."""


@config_group.command("check", short_help="Validate the configuration and print the effective one.")
@config_option
@repo_option
def config_check(config_path: Path | None, repo: Path) -> None:
    """Validate the configuration and print the effective configuration (JSON), with the
    modules of the working tree and whether each will be built."""
    from bot import git
    from bot.config import effective, load_config
    from bot.gc.modules import find_modules, select_modules

    root = git.find_root(repo)  # None: a file checked on its own, no modules to list
    config = load_config(config_path, root or repo)
    data = effective(config)
    found = find_modules(root) if root is not None else []
    chosen = {m.directory for m in select_modules(found, config.build.modules)} if found else set()
    data["modules"] = [{"directory": m.name, "module": m.path, "build": m.directory in chosen} for m in found]
    click.echo(json.dumps(data, indent=2))
