"""The Actions runner's file and stdout protocols: workflow commands, step outputs, job summary.

Workflow commands are lines on stdout that the runner interprets, so untrusted text in them is
escaped (`%`, CR, LF; in properties also `:` and `,`), and compiler output we print is fenced
with `::stop-commands::` so a line of Go source cannot issue a command of its own.
See docs/ci.md.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal, TextIO

Level = Literal["error", "warning", "notice"]


def escape_data(text: str) -> str:
    """A workflow command's message (actions/toolkit `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (actions/toolkit `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", **properties: str | int | None) -> str:
    """`::name k=v,k=v::message` with everything escaped; None properties are left out."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


class WorkflowCommands:
    """Writes workflow commands to a stream (stdout in a step)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _emit(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def annotate(
        self,
        level: Level,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        title: str | None = None,
    ) -> None:
        """An error, warning or notice, on a file and line when given."""
        self._emit(command(level, message, file=file, line=line, title=title))

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsed group in the log."""
        self._emit(command("group", title))
        try:
            yield
        finally:
            self._emit(command("endgroup"))

    @contextlib.contextmanager
    def untrusted(self) -> Iterator[None]:
        """Commands are off inside: for printing compiler output and Go source."""
        token = secrets.token_hex(16)
        self._emit(command("stop-commands", token))
        try:
            yield
        finally:
            self._emit(f"::{token}::")


def write_outputs(path: Path, values: Mapping[str, str | int]) -> None:
    """Append step outputs to GITHUB_OUTPUT; multi-line values use a random heredoc delimiter."""
    lines = []
    for name, raw in values.items():
        value = str(raw)
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{name}={value}\n")
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(lines))


def append_summary(path: Path, markdown: str) -> None:
    """Append Markdown to the job summary (GITHUB_STEP_SUMMARY)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(markdown if markdown.endswith("\n") else markdown + "\n")
