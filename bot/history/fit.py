"""Terminal tables that fit their width (pure): numbers keep their width, text shrinks first.

A table is given as variants (columns from the fullest to the leanest): the first variant whose
narrowest form fits the console is printed. In it, number and fixed columns (counts, changes,
commits, dates) never wrap nor shrink; text columns (subjects, names, paths) fold to what is
left. Rich alone would shrink every column alike and cut numbers (`4…`) on an 80-column terminal.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

Kind = Literal["number", "fixed", "text"]
TEXT_MIN = 8  # the narrowest a text column gets: a subject or a name folds into it


@dataclass(frozen=True, slots=True)
class Col:
    """One column: its header, its cells (plain text, never markup) and how it may shrink."""

    header: str
    cells: tuple[str, ...]
    kind: Kind = "text"
    max_width: int | None = None  # a text column never wider than this
    one_line: bool = False  # a text column cut with `…` rather than folded (a commit subject)


HEADER_ROOM = 8  # a number column is at least this wide when its header is ("escapes", "total")


def _width(col: Col) -> int:
    cells = max((len(c) for c in col.cells), default=1) or 1
    return max(cells, min(len(col.header), HEADER_ROOM)) if col.kind != "text" else cells


def build(columns: Sequence[Col], *, widths: Sequence[int] | None = None) -> Table:
    """The rich table of `columns`; `widths` fixes the text columns' widths, in order (all
    `TEXT_MIN` when empty: the narrowest table)."""
    text_widths = iter(widths if widths is not None else [TEXT_MIN] * len(columns))
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False)
    for col in columns:
        if col.kind == "text":
            table.add_column(
                Text(col.header),
                overflow="ellipsis" if col.one_line else "fold",
                no_wrap=col.one_line,
                min_width=TEXT_MIN,
                max_width=col.max_width,
                width=next(text_widths),
            )
        else:
            # exactly the cells' width, whatever the header: a long header folds, a number never
            # does (rich never shrinks a column of fixed width)
            table.add_column(
                Text(col.header),
                justify="right" if col.kind == "number" else "left",
                overflow="fold",
                width=_width(col),
            )
    rows = max((len(c.cells) for c in columns), default=0)
    for i in range(rows):
        table.add_row(*(Text(c.cells[i] if i < len(c.cells) else "") for c in columns))
    return table


def narrowest(columns: Sequence[Col]) -> int:
    """The width of the table with every text column at its narrowest."""
    out = io.StringIO()
    Console(file=out, width=100_000, color_system=None, legacy_windows=False).print(build(columns))
    return max((len(line.rstrip()) for line in out.getvalue().splitlines()), default=0)


class Fitted:
    """The first of `variants` that fits the console's width (the last one when none does)."""

    def __init__(self, variants: Sequence[Sequence[Col]]) -> None:
        self.variants = [list(v) for v in variants]

    def choose(self, width: int) -> list[Col]:
        """The variant printed at `width` columns."""
        return next((v for v in self.variants if narrowest(v) <= width), self.variants[-1])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = self.choose(options.max_width)
        yield build(columns, widths=text_widths(columns, options.max_width - narrowest(columns)))


def text_widths(columns: Sequence[Col], room: int) -> list[int]:
    """The text columns' widths: `TEXT_MIN` each plus `room` shared out evenly, none wider than
    its longest cell or header (or its `max_width`)."""
    texts = [c for c in columns if c.kind == "text"]
    want = [max(min(max(_width(c), len(c.header)), c.max_width or 10**6), TEXT_MIN) for c in texts]
    widths = [TEXT_MIN] * len(texts)
    room = max(room, 0)
    while room > 0:
        hungry = [i for i, w in enumerate(widths) if w < want[i]]
        if not hungry:
            break
        share = max(room // len(hungry), 1)
        for i in hungry:
            add = min(share, want[i] - widths[i], room)
            widths[i] += add
            room -= add
    return widths


def cells(values: Iterator[str] | Sequence[str]) -> tuple[str, ...]:
    """Cells as a tuple (for readability at the call sites)."""
    return tuple(values)
