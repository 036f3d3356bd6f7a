"""The `escape-bot` command group: assembles the commands of bot/commands/ and turns outcomes into exit codes.

Every option can also be set with its `ESCAPE_BOT_<COMMAND>_<OPTION>` environment variable
(bot/commands/group.py names them). Expected failures (BotError) become one line on stderr and exit 2 or 3;
anything else exits 4 with "please report".
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

import click

from bot import __version__
from bot.commands import GateExit
from bot.commands.causes import causes
from bot.commands.ci import ci
from bot.commands.collect import collect
from bot.commands.config import config_group
from bot.commands.db import db
from bot.commands.demo import demo
from bot.commands.diff import diff_command
from bot.commands.group import SectionedGroup
from bot.commands.history import backfill, blame, top, trend
from bot.errors import (
    EXIT_FAILURE,
    EXIT_GATE,
    EXIT_OK,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    BotError,
)
from bot.interrupt import Interrupted, stop_signals


@click.group(cls=SectionedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="escape-bot")
def cli() -> None:
    """Keep Go code from silently growing heap allocations.

    Every option can also be set with its environment variable, ESCAPE_BOT_<COMMAND>_<OPTION>
    (`escape-bot COMMAND --help` names each one).
    """


# `escape-bot --help` lists them in these sections, in this order
SECTIONS = {
    "Everyday commands": (collect, diff_command, demo, causes, config_group),
    "CI commands": (ci,),
    "History commands": (backfill, trend, top, blame),
    "Database commands": (db,),
}
for _section, _commands in SECTIONS.items():
    for _command in _commands:
        cli.add_command(_command, section=_section)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises)."""
    with stop_signals():
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="escape-bot", standalone_mode=False)
    except GateExit:
        return EXIT_GATE
    except BotError as exc:
        click.echo(f"escape-bot: error: {exc.message}", err=True)
        if extra := exc.detail_lines():
            click.echo("\n".join("    " + line for line in extra), err=True)
        return exc.exit_code
    except Interrupted as exc:  # the finally blocks on the way here cleaned up (bot/interrupt.py)
        click.echo(f"escape-bot: interrupted ({exc.name})", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("escape-bot: interrupted", err=True)
        return 128 + signal.SIGINT
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
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
