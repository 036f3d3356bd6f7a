"""What `escape-bot backfill` shows while it runs: one line per commit (a progress bar on a terminal),
and the closing summary (also when a stop signal ends the run: bot/interrupt.py)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from bot.wording import plural

if TYPE_CHECKING:  # imported when a command runs, so that `--help` stays fast
    from rich.progress import Progress

    from bot.commit import CommitInfo
    from bot.history.backfill import Listener, Outcome, Plan


class _PlainLines:
    """One line per commit on stdout (not a terminal: CI logs, pipes)."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._width = len(str(total))

    def building(self, index: int, commit: CommitInfo) -> None:
        pass

    def package(self, name: str) -> None:
        pass

    def finished(self, index: int, outcome: Outcome) -> None:
        click.echo(_outcome_line(index, self._total, self._width, outcome))


def _outcome_line(index: int, total: int, width: int, outcome: Outcome) -> str:
    head = f"[{index + 1:>{width}}/{total}] {outcome.commit.sha[:12]} {outcome.status:<8}"
    if outcome.status in ("recorded", "stored"):
        detail = plural(outcome.heap_escapes, "heap escape") + (
            f" ({outcome.message})" if outcome.message else ""
        )
    else:
        detail = outcome.message.splitlines()[0] if outcome.message else ""
    return f"{head} {detail}  ({outcome.seconds:.1f} s)  {outcome.commit.subject}"


class _ProgressBar:
    """A rich progress bar on stderr: commits done, the commit and package being built, ETA."""

    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("starting", total=total, package="")
        self._total = total
        self._width = len(str(total))

    def building(self, index: int, commit: CommitInfo) -> None:
        self._progress.update(self._task, description=f"{commit.sha[:12]} {commit.subject[:40]}", package="")

    def package(self, name: str) -> None:
        # build_snapshot first says which revision it builds (the description has it already)
        self._progress.update(self._task, package="go build" if name.startswith("building ") else name)

    def finished(self, index: int, outcome: Outcome) -> None:
        from rich.text import Text

        line = Text(_outcome_line(index, self._total, self._width, outcome))
        if outcome.status in ("failed", "error"):
            line.stylize("yellow" if outcome.status == "failed" else "red")
        self._progress.console.print(line)
        self._progress.advance(self._task)


@contextmanager
def commit_listener(total: int) -> Iterator[Listener]:
    if not sys.stderr.isatty():
        yield _PlainLines(total)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[package]}", markup=False, style="dim"),
    )
    # transient: once done the bar goes, leaving the per-commit lines and then the summary
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _ProgressBar(progress, total)


def backfill_summary(
    outcomes: list[Outcome], plan: Plan, started: float, *, interrupted: bool = False
) -> str:
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("recorded", "failed", "error", "stored")}
    parts = [f"{counts['recorded']} recorded"]
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed to build (recorded as failed)")
    if counts["error"]:
        parts.append(f"{counts['error']} not analysed")
    if counts["stored"]:
        parts.append(f"{counts['stored']} stored meanwhile by another run")
    text = f"backfill: {', '.join(parts)} in {time.monotonic() - started:.1f} s"
    if interrupted:
        left = len(plan.todo) - len(outcomes)
        text += f"; interrupted with {left} left: run the same command again to continue"
    return text
