"""`trend`, `top` and `blame` tables on an 80-column terminal: every number stays whole and
visible; the subject, names and paths shrink or wrap first (issue 14)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console, RenderableType

from bot.commit import CommitInfo
from bot.gc.model import Cause, Escape, Kind
from bot.history.hot import HotEntry, HotTop, hot_table
from bot.history.model import (
    Blame,
    BlameEntry,
    FailedCommit,
    GroupBy,
    Selection,
    Top,
    TopBy,
    TopEntry,
    Trend,
    TrendPoint,
)
from bot.history.render import blame_table, top_table, trend_table
from bot.profile.hotness import Hotness

SELECTION = Selection(
    repository="github.com/acme/a-rather-long-service-name",
    branch="main",
    toolchain_key="go1.27.3 linux/amd64",
    ordering="first-parent",
)
START = datetime(2024, 1, 1, tzinfo=UTC)
LONG = "refactor: move the request decoding into its own package and reuse the buffers (#4812)"


def _commit(i: int) -> CommitInfo:
    when = START + timedelta(days=37 * i)
    return CommitInfo(f"{i:02d}" + "ab" * 19, (), "Ada Lovelace-Byron", "ada@example.com", when, when, LONG)


def _render(table: RenderableType, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False)
    console.print(table)
    return console.export_text()


def _numbers_visible(text: str, numbers: list[int]) -> None:
    tokens = set(re.findall(r"[+-]?\d[\d,]*", text))
    for n in numbers:
        assert str(n) in tokens or f"{n:+d}" in tokens, (n, text)
    assert all(len(line) <= 80 for line in text.splitlines()), text


@pytest.mark.parametrize("width", [80, 100, 200])
def test_trend_table_keeps_every_number_at_80_columns(width: int) -> None:
    groups = tuple(c.value for c in list(Cause)[:9])  # more causes than columns: "N other"
    points = tuple(
        TrendPoint(_commit(i), "go1.27.3", {g: 1000 * (j + 1) + 17 * i for j, g in enumerate(groups)})
        for i in range(6)
    )
    trend = Trend(SELECTION, GroupBy.CAUSE, groups, points, failed=())
    text = _render(trend_table(trend), width)
    assert all(len(line) <= width for line in text.splitlines()), text
    rows = {line[:12]: line for line in text.splitlines() if re.match(r"^\d\dab", line)}
    assert len(rows) == len(points)
    for i, p in enumerate(points):
        # the commit and its date whole, then every count whole: total, change, the groups
        # shown and the others summed, which add up to the total
        row = rows[p.commit.sha[:12]]
        numbers = [int(n) for n in re.findall(r"(?<![\d-])[+-]?\d+(?![\d-])", row.split("00:00", 1)[1])]
        assert numbers[0] == p.total, row
        change = numbers[1:2] if i else []
        if i:
            assert change == [p.total - points[i - 1].total], row
        parts = numbers[1 + len(change) :]
        assert len(parts) >= 2 and sum(parts) == p.total, row
        assert parts[0] == p.counts[groups[0]], row
    shown = len(re.findall(r"^\d\dab", text, re.M))
    assert shown == len(points)
    if width >= 200:
        assert "3 other" in text.replace("\n", " ") or "other" in text


def test_top_table_keeps_every_number_at_80_columns() -> None:
    entries = tuple(
        TopEntry(
            f"(*VeryLongReceiverTypeName{i}).HandleTheIncomingRequestWithRetries",
            f"example.com/acme/internal/p{i}",
            12345 - i,
        )
        for i in range(8)
    )
    total = sum(e.count for e in entries) + 999
    top = Top(SELECTION, TopBy.FUNCTION, _commit(3), "go1.27.3", total, entries, 999)
    text = _render(top_table(top))
    _numbers_visible(text, [e.count for e in entries] + [999, total])
    assert text.count(" %") >= len(entries)


def test_blame_table_keeps_every_number_at_80_columns() -> None:
    entries = tuple(
        BlameEntry(
            Escape(
                "example.com/acme/internal/decoding",
                f"internal/decoding/a_very_long_file_name_{i}.go",
                1000 + i,
                9,
                "(*Decoder).DecodeTheWholeRequestBody",
                Kind.MOVED_TO_HEAP,
                "buffer",
                "moved to heap: buffer",
                Cause.RETURNED,
                count=3,
            ),
            3,
            _commit(i),
            None,
            True,
        )
        for i in range(4)
    )
    blame = Blame(SELECTION, _commit(5), entries)
    text = _render(blame_table(blame))
    assert all(len(line) <= 80 for line in text.splitlines()), text
    for e in entries:
        # the line number and the commit stay whole (the path may wrap, never the numbers)
        assert re.search(rf"\b{e.escape.line}\b", text), text
        assert e.origin.sha[:12] in text
        assert "×3" in text


@pytest.mark.parametrize("width", [60, 80, 120])
def test_newest_failed_warning_comes_first(width: int) -> None:
    points = tuple(TrendPoint(_commit(i), "go1.27.3", {"returned": 3 + i}) for i in range(3))
    failed = tuple(FailedCommit(_commit(10 + i), "go build: undefined: x") for i in range(2))
    trend = Trend(SELECTION, GroupBy.CAUSE, ("returned",), points, failed=(), newest_failed=failed)
    text = _render(trend_table(trend), width)
    assert text.lstrip().startswith("warning: the newest 2 recorded commits did not build")
    assert text.count("undefined: x") == 2


def test_hot_table_keeps_every_number_at_80_columns() -> None:
    entries = tuple(
        HotEntry(
            Escape(
                "example.com/acme/internal/decoding",
                f"internal/decoding/a_very_long_file_name_{i}.go",
                1000 + i,
                9,
                "(*Decoder).DecodeTheWholeRequestBodyWithRetries",
                Kind.ESCAPES_TO_HEAP,
                "make([]byte, n)",
                "make([]byte, n) escapes to heap",
                Cause.UNKNOWN_SIZE,
            ),
            Hotness(cpu_share=0.1234 / (i + 1), alloc_bytes=123_456_789 // (i + 1), source="cpu:default.pgo"),
        )
        for i in range(4)
    )
    top = HotTop("acme/service", _commit(2), "go1.27.3", ("cpu:default.pgo",), entries, 17)
    text = _render(hot_table(top))
    assert all(len(line) <= 80 for line in text.splitlines()), text
    for e in entries:
        assert f"{e.hotness.alloc_bytes:,}" in text
        assert f"{(e.hotness.cpu_share or 0) * 100:.1f} %" in text
        assert re.search(rf"\b{e.escape.line}\b", text)
