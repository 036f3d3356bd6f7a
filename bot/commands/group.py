"""The shape of `escape-bot --help` and of the environment: commands listed by section and never
cut short, and every option settable from `ESCAPE_BOT_<COMMAND>_<OPTION>`.

click's own `auto_envvar_prefix` names a variable after an option's Python parameter
(`--base` stored as `base_rev` reads ESCAPE_BOT_DIFF_BASE_REV), not after the option the user
types; so each option is given its variable by name here, when its command joins the group.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import click

ENV_PREFIX = "ESCAPE_BOT"
OTHER = "Other commands"


def option_envvar(path: Sequence[str], option: click.Option) -> str:
    """`ESCAPE_BOT_<COMMAND...>_<OPTION>` after the option's first long name
    (`db upgrade --db` -> ESCAPE_BOT_DB_UPGRADE_DB, `ci --fail-on-new` -> ESCAPE_BOT_CI_FAIL_ON_NEW)."""
    long = next((o for o in option.opts if o.startswith("--")), option.opts[0])
    words = [ENV_PREFIX, *path, long.lstrip("-")]
    return "_".join(words).upper().replace("-", "_")


def walk(command: click.Command, path: Sequence[str] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under `command` (itself first) with its path of names."""
    yield tuple(path), command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from walk(sub, [*path, name])


def name_envvars(command: click.Command, path: Sequence[str]) -> None:
    """Give every option of `command` (and of its subcommands) its own variable, shown in `--help`,
    ahead of the shared one it already had (ESCAPE_BOT_DATABASE_URL, ESCAPE_BOT_CONFIG, ...)."""
    for where, cmd in walk(command, path):
        for param in cmd.params:
            if not isinstance(param, click.Option) or not param.expose_value:
                continue  # --help, --version: nothing to set
            shared = getattr(param, "_shared_envvars", None)
            if shared is None:  # kept, so that registering a command again starts over
                declared = param.envvar
                shared = [declared] if isinstance(declared, str) else list(declared or ())
                param._shared_envvars = shared  # type: ignore[attr-defined]
            param.envvar = [option_envvar(where, param), *shared]
            param.show_envvar = True


def unknown_envvars(group: click.Group, environ: Mapping[str, str]) -> list[str]:
    """`ESCAPE_BOT_<COMMAND>_...` variables that name no option of that command: a typo would
    otherwise be ignored without a word."""
    known: set[str] = set()
    prefixes: set[str] = set()
    for path, command in walk(group):
        if path:
            prefixes.add("_".join([ENV_PREFIX, *path]).upper().replace("-", "_") + "_")
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar:
                known.update([param.envvar] if isinstance(param.envvar, str) else param.envvar)
    return sorted(k for k in environ if k not in known and any(k.startswith(p) for p in prefixes))


class FullHelpGroup(click.Group):
    """A group whose command list shows each command's whole short help, never cut with '...'."""

    def command_rows(self, ctx: click.Context, names: Sequence[str]) -> list[tuple[str, str]]:
        rows = []
        for name in names:
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=sys.maxsize)))
        return rows

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = self.command_rows(ctx, self.list_commands(ctx))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class SectionedGroup(FullHelpGroup):
    """The top-level group: commands in named sections, in the order they were added, and each
    command's options named in the environment when the command joins."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sections: dict[str, list[str]] = {}

    def add_command(self, cmd: click.Command, name: str | None = None, section: str = OTHER) -> None:
        super().add_command(cmd, name)
        name = name or cmd.name
        assert name is not None
        for names in self.sections.values():
            if name in names:
                names.remove(name)
        self.sections.setdefault(section, []).append(name)
        name_envvars(cmd, [name])

    def invoke(self, ctx: click.Context) -> Any:
        for name in unknown_envvars(self, os.environ):
            click.echo(f"escape-bot: warning: {name} names no option of any command (ignored)", err=True)
        return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for names in self.sections.values() for name in names]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # a command added without a section (OTHER) still shows, last
        order = [s for s in self.sections if s != OTHER] + ([OTHER] if OTHER in self.sections else [])
        for section in order:
            rows = self.command_rows(ctx, self.sections[section])
            if rows:
                with formatter.section(section):
                    formatter.write_dl(rows)
