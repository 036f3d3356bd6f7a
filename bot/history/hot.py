"""`top --by hotness`: the stored escapes of one commit, hottest first by the profiles given (pure).

Where `top --by function` counts escape sites, this orders them by what the profiles say: the
bytes allocated at each escape's line (a memory profile), then the share of CPU samples in its
function (a CPU profile, `default.pgo`) — the escapes worth fixing first (docs/insight.md).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.text import Text

from bot.commit import CommitInfo
from bot.gc.model import Cause, Escape, Kind
from bot.history.fit import Col, Fitted
from bot.profile.hotness import Hotness, NamedProfile, rank
from bot.report.safe import visible


@dataclass(frozen=True, slots=True)
class HotEntry:
    """One escape and what the profiles say of it."""

    escape: Escape
    hotness: Hotness


@dataclass(frozen=True, slots=True)
class HotTop:
    """The hottest escapes of one stored commit."""

    repository: str
    commit: CommitInfo
    toolchain_key: str
    profiles: tuple[str, ...]
    entries: tuple[HotEntry, ...]  # hottest first, at most the limit
    cold: int  # escapes the profiles saw neither run nor allocate


def hottest(
    repository: str,
    commit: CommitInfo,
    toolchain_key: str,
    escapes: Iterable[Escape],
    profiles: Sequence[NamedProfile],
    *,
    kinds: Sequence[Kind],
    package: str | None = None,
    cause: Cause | None = None,
    limit: int = 20,
) -> HotTop:
    """Rank the escapes that pass the filters (`package` is a glob whose `*` crosses `/`)."""
    chosen = [
        e
        for e in escapes
        if e.kind in kinds
        and e.allocates
        and (package is None or fnmatch.fnmatchcase(e.package, package))
        and (cause is None or e.cause is cause)
    ]
    ranked = rank(chosen, profiles)
    hot = [HotEntry(e, h) for e, h in ranked.items() if h.weight > 0]
    hot.sort(key=lambda entry: (-entry.hotness.weight, entry.escape.file, entry.escape.line))
    return HotTop(
        repository=repository,
        commit=commit,
        toolchain_key=toolchain_key,
        profiles=tuple(p.name for p in profiles),
        entries=tuple(hot[:limit] if limit else hot),
        cold=len(chosen) - len(hot),
    )


def _share(h: Hotness) -> str:
    return "" if h.cpu_share is None else f"{h.cpu_share * 100:.1f} %"


def hot_dict(top: HotTop) -> dict[str, Any]:
    """JSON: the commit, the profiles, and each escape with its hotness."""
    return {
        "repository": top.repository,
        "commit": top.commit.sha,
        "toolchain": top.toolchain_key,
        "profiles": list(top.profiles),
        "entries": [
            {
                "package": e.escape.package,
                "file": e.escape.file,
                "line": e.escape.line,
                "function": e.escape.function,
                "expression": e.escape.expression,
                "cause": e.escape.cause.value,
                "cpu_share": e.hotness.cpu_share,
                "alloc_bytes": e.hotness.alloc_bytes,
                "alloc_objects": e.hotness.alloc_objects,
            }
            for e in top.entries
        ],
        "cold": top.cold,
    }


def hot_rows(top: HotTop) -> list[list[object]]:
    """CSV rows, a header first."""
    rows: list[list[object]] = [
        ["file", "line", "function", "expression", "cause", "cpu_share", "alloc_bytes", "alloc_objects"]
    ]
    for e in top.entries:
        h = e.hotness
        rows.append(
            [
                e.escape.file,
                e.escape.line,
                e.escape.function,
                e.escape.expression,
                e.escape.cause.value,
                "" if h.cpu_share is None else round(h.cpu_share, 6),
                "" if h.alloc_bytes is None else h.alloc_bytes,
                "" if h.alloc_objects is None else h.alloc_objects,
            ]
        )
    return rows


def hot_table(top: HotTop) -> Group:
    """Hottest first; the numbers keep their width, the location and expression shrink first."""
    title = (
        f"{top.repository} at {top.commit.sha[:12]}: the hottest heap escapes by {', '.join(top.profiles)}"
    )
    entries = top.entries
    columns = [
        Col("#", tuple(str(i) for i in range(1, len(entries) + 1)), "number"),
        Col("CPU", tuple(_share(e.hotness) for e in entries), "number"),
        Col(
            "bytes",
            tuple("" if e.hotness.alloc_bytes is None else f"{e.hotness.alloc_bytes:,}" for e in entries),
            "number",
        ),
        Col("file", tuple(visible(e.escape.file) for e in entries)),
        Col("line", tuple(str(e.escape.line) for e in entries), "number"),
        Col("function", tuple(visible(e.escape.function) for e in entries)),
        Col("expression", tuple(visible(e.escape.expression) for e in entries)),
    ]
    table = Fitted([columns])
    note = f"{top.cold} more escapes the profiles saw neither run nor allocate; toolchain {top.toolchain_key}"
    return Group(Text(title, style="bold"), table, Text(note, style="dim"))
