"""Trend, top and blame as a rich table, CSV, JSON, and the trend as one self-contained HTML page.

Pure: strings and rich renderables out, nothing printed. Untrusted text (package paths, function
names, commit subjects, author names) is never read as markup: rich cells are `Text`, the HTML
template autoescapes everything (and its Content-Security-Policy forbids scripts and any load
from the network), and CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bot.commit import CommitInfo
from bot.gc.model import Cause
from bot.history.links import pr_number
from bot.history.model import (
    Blame,
    FailedCommit,
    Selection,
    Top,
    TopBy,
    Trend,
)
from bot.history.shards import INCOMPLETE
from bot.wording import plural

if TYPE_CHECKING:  # rich (and fit, built on it) only for the tables: `--format json` starts faster
    from rich.console import Group, RenderableType

    from bot.history.fit import Col, Kind

SCHEMA_VERSION = 1
TABLE_GROUPS = 6  # group columns in the terminal table; the rest are summed in "other"

# One colour per cause, stable across reports (ColorBrewer-like, readable on white).
CAUSE_COLORS: dict[str, str] = {
    Cause.RETURNED: "#4e79a7",
    Cause.INTERFACE_CONVERSION: "#f28e2b",
    Cause.STORED_IN_HEAP: "#e15759",
    Cause.LEAKING_CALL: "#76b7b2",
    Cause.CLOSURE_CAPTURE: "#59a14f",
    Cause.GLOBAL: "#edc948",
    Cause.CHANNEL_SEND: "#b07aa1",
    Cause.GO_DEFER: "#ff9da7",
    Cause.PANIC: "#9c755f",
    Cause.TOO_LARGE: "#bab0ac",
    Cause.UNKNOWN_SIZE: "#17becf",
    Cause.OUTLIVES_SCOPE: "#d37295",
    Cause.UNSAFE: "#8cd17d",
    Cause.UNKNOWN: "#79706e",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ---- shared ------------------------------------------------------------------------------


def _iso(commit: CommitInfo) -> str:
    return commit.committed_at.isoformat()


def _commit_dict(commit: CommitInfo) -> dict[str, Any]:
    return {
        "sha": commit.sha,
        "committed_at": _iso(commit),
        "author": commit.author_name,
        "subject": commit.subject,
        "pr": pr_number(commit.subject),
    }


def _selection_dict(s: Selection) -> dict[str, Any]:
    # `shards` only for sharded history, so that the output of every other stays as it was
    return {
        "schema": SCHEMA_VERSION,
        "repository": s.repository,
        "branch": s.branch,
        "toolchain": s.toolchain_key,
        **({"shards": s.shards} if s.shards else {}),
        "ordering": s.ordering,
        "kinds": [k.value for k in s.kinds],
        "package": s.package,
        "cause": s.cause.value if s.cause else None,
    }


def toolchain_text(s: Selection) -> str:
    """The toolchain key as the outputs name it: a sharded history says its shards were combined."""
    if s.shards:
        return f"{s.toolchain_key} (sharded: {plural(s.shards, 'shard')} combined)"
    return s.toolchain_key


def spreadsheet_safe(value: str) -> str:
    """A CSV cell no spreadsheet runs as a formula (OWASP "CSV injection"): a leading `'`."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def failures_of(trend: Trend) -> tuple[FailedCommit, ...]:
    """The failed commits of a trend with their reason (a Trend made without reasons: none)."""
    reasons = {f.commit.sha: f.reason for f in trend.failures}
    return tuple(FailedCommit(c, reasons.get(c.sha, "")) for c in trend.failed)


def _failed_dict(f: FailedCommit) -> dict[str, Any]:
    return {**_commit_dict(f.commit), "reason": f.reason}


def not_built(failed: Sequence[FailedCommit]) -> str:
    """`did not build`, or for sharded history with a shard missing `did not build or is incomplete`."""
    if not any(f.reason.startswith(INCOMPLETE) for f in failed):
        return "did not build"
    return f"did not build or {'is' if len(failed) == 1 else 'are'} incomplete"


def _not_built(f: FailedCommit) -> str:
    return "incomplete" if f.reason.startswith(INCOMPLETE) else "did not build"


def newest_failed_lines(failed: Sequence[FailedCommit]) -> list[str]:
    """The warning that comes before any figure when the newest commits did not build."""
    if not failed:
        return []
    n = len(failed)
    head = f"warning: the newest {plural(n, 'recorded commit')} {not_built(failed)}"
    lines = [f"{head}; the figures stop before {'them' if n != 1 else 'it'}:"]
    lines += [f"  {f.commit.sha[:12]} {f.commit.subject}: {f.reason}" for f in failed[:10]]
    if n > 10:
        lines.append(f"  ... and {n - 10} more")
    return lines


def csv_text(rows: Sequence[Sequence[object]]) -> str:
    """Rows as CSV, every text cell spreadsheet-safe."""
    return _csv(rows)


def _csv(rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([spreadsheet_safe(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()


def commit_when(commit: CommitInfo) -> str:
    return commit.committed_at.strftime("%Y-%m-%d %H:%M")


def selection_text(s: Selection, count: int | None = None) -> str:
    """What was counted (`heap escapes`, `escape (every kind)` when `count` is 1), with the filters."""
    noun = "escape" if count == 1 else "escapes"
    kinds = f"heap {noun}" if len(s.kinds) == 2 else f"{noun} (every kind)"
    filters = "".join(
        [f", package {s.package}" if s.package else "", f", cause {s.cause.value}" if s.cause else ""]
    )
    return f"{kinds}{filters}"


# ---- trend -------------------------------------------------------------------------------


def trend_dict(trend: Trend) -> dict[str, Any]:
    """`escape-bot trend --format json`."""
    return {
        **_selection_dict(trend.selection),
        "newest_failed": [_failed_dict(f) for f in trend.newest_failed],
        "by": trend.by.value,
        "groups": list(trend.groups),
        "commits": [
            {
                **_commit_dict(p.commit),
                "go_version": p.go_version,
                "total": p.total,
                "counts": {g: p.counts[g] for g in trend.groups if g in p.counts},
            }
            for p in trend.points
        ],
        "failed": [_failed_dict(f) for f in failures_of(trend)],
    }


def trend_csv(trend: Trend) -> str:
    """One row per commit, one column per group (every group, unlike the table)."""
    failures = failures_of(trend)
    header: list[object] = ["sha", "committed_at", "author", "subject", "total", *trend.groups]
    if failures:
        header.append("did_not_build")  # a row per failed commit: no counts, the reason
    rows: list[list[object]] = [header]
    for p in trend.points:
        rows.append(
            [
                p.commit.sha,
                _iso(p.commit),
                p.commit.author_name,
                p.commit.subject,
                p.total,
                *[p.counts.get(g, 0) for g in trend.groups],
                *([""] if failures else []),
            ]
        )
    for f in failures:
        c = f.commit
        rows.append([c.sha, _iso(c), c.author_name, c.subject, "", *[""] * len(trend.groups), f.reason])
    return _csv(rows)


def _framed(title: str, table: RenderableType, *notes: str) -> Group:
    """A title line, the table, then dim notes: lines that never wrap to the table's width."""
    from rich.console import Group
    from rich.text import Text

    return Group(Text(title, style="bold"), table, *(Text(n, style="dim") for n in notes))


def trend_table(trend: Trend) -> Group:
    """Commits oldest first with the total, its change, and the largest groups (as many as the
    terminal has room for; the others summed in one column)."""
    from bot.history.fit import Col, Fitted

    s = trend.selection
    title = (
        f"{s.repository}: {selection_text(s)} per commit by {trend.by.value} ({s.branch or 'all branches'})"
    )
    points = trend.points
    change = [""] + [f"{p.total - q.total:+d}" for q, p in itertools.pairwise(points)]
    base = [
        Col("commit", tuple(p.commit.sha[:12] for p in points), "fixed"),
        Col("date", tuple(commit_when(p.commit) for p in points), "fixed"),
        Col("total", tuple(str(p.total) for p in points), "number"),
        Col("±", tuple(change), "number"),
    ]
    subject = Col("subject", tuple(p.commit.subject for p in points), "text", max_width=50, one_line=True)
    variants = []
    for k in range(min(TABLE_GROUPS, len(trend.groups)), -1, -1):
        shown, rest = trend.groups[:k], trend.groups[k:]
        groups = [Col(g, tuple(str(p.counts.get(g, 0)) for p in points), "number") for g in shown]
        if rest:
            other = tuple(str(sum(p.counts.get(g, 0) for g in rest)) for p in points)
            groups.append(Col(f"{len(rest)} other", other, "number"))
        variants.append([*base, *groups, subject])
    failed = [
        f"{_not_built(f)}: {f.commit.sha[:12]} {f.commit.subject}: {f.reason.removeprefix(INCOMPLETE)}"
        for f in failures_of(trend)
    ]
    return _warned(
        newest_failed_lines(trend.newest_failed),
        _framed(title, Fitted(variants), f"toolchain {toolchain_text(s)}", *failed),
    )


def _warned(lines: list[str], body: Group) -> Group:
    """`body` under a warning (in yellow) when there is one."""
    from rich.console import Group
    from rich.text import Text

    if not lines:
        return body
    return Group(*(Text(line, style="yellow") for line in lines), body)


# ---- top ---------------------------------------------------------------------------------


def _share(count: int, total: int) -> float:
    return round(100 * count / total, 1) if total else 0.0


def top_dict(top: Top) -> dict[str, Any]:
    """`escape-bot top --format json`."""
    return {
        **_selection_dict(top.selection),
        "newest_failed": [_failed_dict(f) for f in top.newest_failed],
        "commit": _commit_dict(top.commit),
        "go_version": top.go_version,
        "by": top.by.value,
        "total": top.total,
        "entries": [
            {"name": e.name, "package": e.package, "count": e.count, "share": _share(e.count, top.total)}
            for e in top.entries
        ],
        "others": top.others,
    }


def top_csv(top: Top) -> str:
    """rank, name, package, count, share (percent of the total)."""
    rows: list[list[object]] = [["rank", "name", "package", "count", "share"]]
    rows += [
        [i, e.name, e.package, e.count, _share(e.count, top.total)] for i, e in enumerate(top.entries, 1)
    ]
    # CSV has no place for a warning: commits newer than the figures, as rows without a rank
    rows += [["", f"{_not_built(f)}: {f.commit.sha[:12]}", "", "", f.reason] for f in top.newest_failed]
    return _csv(rows)


def top_table(top: Top) -> Group:
    """Largest first, with the share of the total; names fold, numbers never do."""
    from bot.history.fit import Col, Fitted

    s = top.selection
    what = selection_text(s, top.total)
    title = f"{s.repository} at {top.commit.sha[:12]}: {top.total} {what} by {top.by.value}"
    entries = top.entries
    others = [("", "(others)", "", str(top.others), "")] if top.others else []
    rows = [
        (str(i), e.name, e.package, str(e.count), f"{_share(e.count, top.total):.1f} %")
        for i, e in enumerate(entries, 1)
    ] + others
    columns = [
        Col("#", tuple(r[0] for r in rows), "number"),
        Col(top.by.value, tuple(r[1] for r in rows), "text"),
        *([Col("package", tuple(r[2] for r in rows), "text")] if top.by is TopBy.FUNCTION else []),
        Col("escapes", tuple(r[3] for r in rows), "number"),
        Col("share", tuple(r[4] for r in rows), "number"),
    ]
    return _warned(
        newest_failed_lines(top.newest_failed),
        _framed(title, Fitted([columns]), f"toolchain {toolchain_text(s)}"),
    )


# ---- blame -------------------------------------------------------------------------------


def blame_dict(blame: Blame) -> dict[str, Any]:
    """`escape-bot blame --format json`."""
    return {
        **_selection_dict(blame.selection),
        "commit": _commit_dict(blame.commit),
        "escapes": [
            {
                "package": e.escape.package,
                "file": e.escape.file,
                "line": e.escape.line,
                "column": e.escape.column,
                "function": e.escape.function,
                "kind": e.escape.kind.value,
                "cause": e.escape.cause.value,
                "expression": e.escape.expression,
                "message": e.escape.message,
                "units": e.units,
                "origin": _commit_dict(e.origin),
                "previous": e.previous.sha if e.previous else None,
                "exact": e.exact,
            }
            for e in blame.entries
        ],
    }


def blame_table(blame: Blame) -> Group:
    """One row per escape: where it is now and the commit it came with. The line, the commit and
    the date stay whole; on a narrow terminal the author, then the subject, give way first."""
    from bot.history.fit import Col, Fitted

    s = blame.selection
    entries = blame.entries

    def col(header: str, values: Iterable[str], kind: Kind = "text") -> Col:
        return Col(header, tuple(values), kind)

    file = col("file", (e.escape.file for e in entries))
    line = col("line", (str(e.escape.line) for e in entries), "number")
    function = col("function", (e.escape.function for e in entries))
    escape = col("escape", (e.escape.message + (f" (×{e.units})" if e.units > 1 else "") for e in entries))
    cause = col("cause", (e.escape.cause.value for e in entries))
    since = col("since", (("" if e.exact else "~") + e.origin.sha[:12] for e in entries), "fixed")
    date = col("date", (e.origin.committed_at.strftime("%Y-%m-%d") for e in entries), "fixed")
    author = col("author", (e.origin.author_name for e in entries))
    prs = [pr_number(e.origin.subject) for e in entries]
    pr = col("PR", (f"#{n}" if n else "" for n in prs), "number")
    subject = Col("subject", tuple(e.origin.subject for e in entries), "text", one_line=True)
    full = [file, line, function, escape, cause, since, date, author, pr, subject]
    variants = [
        full,
        [c for c in full if c is not author],
        [c for c in full if c not in (author, subject)],
        [c for c in full if c not in (author, subject, cause)],
    ]
    return _framed(
        f"{s.repository} at {blame.commit.sha[:12]}: {selection_text(s)}",
        Fitted(variants),
        f"toolchain {toolchain_text(s)}",
        "~: appeared in this commit, or in an earlier one that the database does not have",
    )
