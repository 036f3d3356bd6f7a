"""A command's result on stdout or in its --output file: text, a rich table (full width in a pipe), JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import RenderableType


def write_text(text: str, output: Path | None) -> None:
    """`text` on stdout, or into `output` (its directory created) with a note on stderr."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


def write_table(renderable: RenderableType, output: Path | None) -> None:
    """A rich table on stdout, or plain into `output`."""
    from rich.console import Console

    if output is None:
        # a pipe gets the whole table, not one squeezed into rich's default 80 columns
        console = Console(width=None if sys.stdout.isatty() else 200)
        console.print(renderable)
        return
    with output.open("w", encoding="utf-8") as f:
        Console(file=f, width=200, color_system=None).print(renderable)
    click.echo(f"wrote {output}", err=True)


def write_json(data: dict[str, Any], output: Path | None) -> None:
    """Indented JSON, non-ASCII kept."""
    write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", output)
