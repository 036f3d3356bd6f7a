"""The HTML trend report: the SVG chart (series, ticks, columns) and the page around it
(Jinja2, autoescaped)."""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from bot.gc.model import Cause
from bot.history.links import pr_number
from bot.history.model import (
    FailedCommit,
    GroupBy,
    Trend,
    TrendPoint,
    TrendReport,
    counts_by_group,
)
from bot.history.render import (
    CAUSE_COLORS,
    commit_when,
    failures_of,
    not_built,
    selection_text,
    toolchain_text,
)
from bot.wording import plural

_W, _H = 960, 340  # chart size in SVG units
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 16, 22, 52  # room for the axis titles
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
GAP_DAYS = 30  # a pause between two commits longer than this (and than 4 times the usual one) is marked
_SPARK_W, _SPARK_H = 140, 28


@dataclass(frozen=True, slots=True)
class _Series:
    cause: str
    label: str
    color: str
    path: str
    latest: int


@dataclass(frozen=True, slots=True)
class _Column:
    x: str
    width: str
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class _Tick:
    at: str
    label: str
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class _PackageRow:
    package: str
    latest: int
    change: str
    low: int
    peak: int
    spark: str
    dot_x: str
    dot_y: str


@dataclass(frozen=True, slots=True)
class _CommitRow:
    sha: str
    short: str
    url: str | None
    date: str
    author: str
    subject: str
    pr: int | None
    pr_url: str | None
    total: int
    change: str


def _f(value: float) -> str:
    return f"{value:.1f}"


def nice_ceiling(value: int) -> tuple[int, int]:
    """(axis maximum, tick step): the smallest 1-2-5 step giving at most five ticks above 0."""
    value = max(value, 1)
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if math.ceil(value / step) <= 5:
                return step * math.ceil(value / step), step
        magnitude *= 10


def _bands(n: int) -> list[tuple[float, float]]:
    """One band per commit, oldest at the left: the x axis is by commit, not by time (a gap of
    years and one of minutes take the same room; gaps are marked instead)."""
    plot = _W - _LEFT - _RIGHT
    width = plot / max(n, 1)
    return [(_LEFT + width * i, _LEFT + width * (i + 1)) for i in range(n)]


def _group_label(trend: Trend, group: str) -> str:
    return Cause(group).label if trend.by is GroupBy.CAUSE and group in set(Cause) else group


def _color(trend: Trend, group: str, i: int) -> str:
    if trend.by is GroupBy.CAUSE:
        return CAUSE_COLORS.get(group, "#999999")
    return PALETTE[i % len(PALETTE)]


def _chart(trend: Trend) -> tuple[list[_Series], list[_Tick]]:
    """Stacked areas, the largest group at the bottom, drawn as steps (a commit's count holds
    across its band, a change is a vertical edge), and the y axis's ticks."""
    points = trend.points
    top, step = nice_ceiling(max((p.total for p in points), default=0))
    plot_h = _H - _TOP - _BOTTOM
    bands = _bands(len(points))

    def y(v: int) -> float:
        return _TOP + plot_h * (1 - v / top)

    below = [0] * len(points)
    series = []
    for i, group in enumerate(trend.groups):
        values = list(counts_by_group(points, group))
        above = [b + v for b, v in zip(below, values, strict=True)]
        line = [f"{_f(x)},{_f(y(v))}" for (x0, x1), v in zip(bands, above, strict=True) for x in (x0, x1)]
        back = [
            f"{_f(x)},{_f(y(v))}"
            for (x0, x1), v in reversed(list(zip(bands, below, strict=True)))
            for x in (x1, x0)
        ]
        path = "M" + " L".join(line + back) + " Z"
        series.append(
            _Series(
                group, _group_label(trend, group), _color(trend, group, i), path, values[-1] if values else 0
            )
        )
        below = above
    ticks = [_Tick(_f(y(v)), str(v)) for v in range(0, top + 1, step)]
    return series, ticks


def _columns(trend: Trend, commit_url: str | None) -> list[_Column]:
    """Transparent hover targets over each commit's band, with a tooltip and a link: the commit,
    its date, its total and its change from the commit before, its subject, its groups."""
    columns = []
    previous: TrendPoint | None = None
    for (x0, x1), p in zip(_bands(len(trend.points)), trend.points, strict=True):
        parts = [f"{g}: {p.counts[g]}" for g in trend.groups if p.counts.get(g)]
        change = (
            "first shown" if previous is None else f"{p.total - previous.total:+d} from the commit before"
        )
        head = f"{p.commit.sha[:12]} {commit_when(p.commit)}: {p.total} ({change})"
        title = "\n".join([head, p.commit.subject, *parts])
        url = commit_url + p.commit.sha if commit_url else None
        columns.append(_Column(_f(x0), _f(x1 - x0), title, url))
        previous = p
    return columns


def _x_ticks(trend: Trend) -> list[_Tick]:
    """Up to six commits' dates under their bands, never the same label twice: dates when the
    commits span two days or more, else times."""
    points = trend.points
    bands = _bands(len(points))
    span = points[-1].commit.committed_at - points[0].commit.committed_at
    form = "%m-%d %H:%M" if span.days < 2 else "%Y-%m-%d"
    wanted = sorted({round(i * (len(points) - 1) / 5) for i in range(6)})
    ticks: list[_Tick] = []
    seen: set[str] = set()
    for i in wanted:
        label = points[i].commit.committed_at.strftime(form)
        if label in seen:
            continue
        seen.add(label)
        ticks.append(_Tick(_f((bands[i][0] + bands[i][1]) / 2), label))
    return ticks


@dataclass(frozen=True, slots=True)
class _Mark:
    """A vertical mark between two bands: a long pause, or commits that did not build."""

    x: str
    label: str
    title: str


def _duration(days: float) -> str:
    if days >= 365:
        return f"{days / 365.25:.1f} years"
    if days >= 60:
        return f"{days / 30.4:.0f} months"
    return f"{days:.0f} days"


def _gaps(trend: Trend) -> list[_Mark]:
    """Pauses much longer than the usual one between commits (the x axis does not show time)."""
    points = trend.points
    if len(points) < 2:
        return []
    bands = _bands(len(points))
    deltas = [
        (b.commit.committed_at - a.commit.committed_at).total_seconds() / 86400
        for a, b in itertools.pairwise(points)
    ]
    usual = sorted(deltas)[len(deltas) // 2]
    marks = []
    for i, days in enumerate(deltas, 1):
        if days > GAP_DAYS and days > 4 * usual:
            words = f"{_duration(days)} later"
            title = (
                f"{_duration(days)} between {points[i - 1].commit.sha[:12]} and {points[i].commit.sha[:12]}"
            )
            marks.append(_Mark(_f(bands[i][0]), words, title))
    return marks


def _failed_marks(trend: Trend) -> list[_Mark]:
    """Where the commits that did not build stand between the ones shown."""
    points = trend.points
    if not points:
        return []
    bands = _bands(len(points))
    marks = []
    for f in failures_of(trend):
        when = f.commit.committed_at
        i = next((k for k, p in enumerate(points) if p.commit.committed_at > when), len(points))
        x = bands[i][0] if i < len(points) else bands[-1][1]
        reason = f.reason or "no reason recorded"
        label = not_built([f])  # (or is incomplete: sharded history with a shard missing)
        marks.append(_Mark(_f(x), label, f"{f.commit.sha[:12]} {f.commit.subject}: {reason}"))
    return marks


def failed_headline(failed: Sequence[FailedCommit]) -> str:
    """`The newest 22 recorded commits did not build (go build: undefined: x)`."""
    n = len(failed)
    reasons = Counter(f.reason or "no reason recorded" for f in failed)
    reason, _ = reasons.most_common(1)[0]
    others = len(reasons) - 1
    more = f"; {plural(others, 'other reason')}" if others else ""
    return f"The newest {plural(n, 'recorded commit')} {not_built(failed)} ({reason}{more})"


def _sparkline(values: Sequence[int]) -> tuple[str, str, str]:
    """The path of a sparkline scaled from the package's lowest to its highest count (changes of
    a few escapes in a large package stay visible), and where its last point is."""
    low, high = min(values, default=0), max(values, default=0)
    n = len(values)
    xs = [2 + (_SPARK_W - 4) * i / max(n - 1, 1) for i in range(n)]
    span = _SPARK_H - 6
    ys = [_SPARK_H / 2 if high == low else _SPARK_H - 3 - span * (v - low) / (high - low) for v in values]
    if n == 1:
        return f"M2,{_f(ys[0])} L{_SPARK_W - 2},{_f(ys[0])}", _f(_SPARK_W - 2), _f(ys[0])
    path = "M" + " L".join(f"{_f(x)},{_f(y)}" for x, y in zip(xs, ys, strict=True))
    return path, _f(xs[-1]), _f(ys[-1])


def _package_rows(trend: Trend) -> list[_PackageRow]:
    rows = []
    for package in trend.groups:
        values = counts_by_group(trend.points, package)
        spark, dot_x, dot_y = _sparkline(values)
        change = values[-1] - values[0]
        rows.append(
            _PackageRow(
                package=package,
                latest=values[-1],
                change=f"{change:+d}" if change else "0",
                low=min(values),
                peak=max(values),
                spark=spark,
                dot_x=dot_x,
                dot_y=dot_y,
            )
        )
    return rows


def _commit_rows(trend: Trend, commit_url: str | None, pull_url: str | None) -> list[_CommitRow]:
    rows = []
    previous: TrendPoint | None = None
    for p in trend.points:
        pr = pr_number(p.commit.subject)
        change = "" if previous is None else f"{p.total - previous.total:+d}"
        rows.append(
            _CommitRow(
                sha=p.commit.sha,
                short=p.commit.sha[:12],
                url=commit_url + p.commit.sha if commit_url else None,
                date=commit_when(p.commit),
                author=p.commit.author_name,
                subject=p.commit.subject,
                pr=pr,
                pr_url=f"{pull_url}{pr}" if pull_url and pr else None,
                total=p.total,
                change=change,
            )
        )
        previous = p
    rows.reverse()  # newest first
    return rows


@functools.cache
def _environment() -> SandboxedEnvironment:
    # HTML: autoescape on, so every value is escaped unless a template marks it safe (ours
    # never do); strict undefined, so a typo fails the rendering instead of printing nothing.
    return SandboxedEnvironment(
        loader=PackageLoader("bot.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def trend_html(report: TrendReport) -> str:
    """The self-contained page: stacked chart per cause (or per `--by` group), packages with
    sparklines, commits."""
    causes, packages = report.causes, report.packages
    if packages.by is not GroupBy.PACKAGE:
        raise ValueError("the HTML report needs a trend by package for its table")
    series, y_ticks = _chart(causes) if causes.points else ([], [])
    s = causes.selection
    context = {
        "title": f"{s.repository}: {selection_text(s)} over time",
        "repository": s.repository,
        "branch": s.branch or "all branches",
        "toolchain": toolchain_text(s),
        "ordering": s.ordering,
        "what": selection_text(s),
        "generated": report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        "width": _W,
        "height": _H,
        "left": _LEFT,
        "right": _W - _RIGHT,
        "bottom": _H - _BOTTOM,
        "series": series,
        "columns": _columns(causes, report.commit_url) if causes.points else [],
        "y_ticks": y_ticks,
        "x_ticks": _x_ticks(causes) if causes.points else [],
        "gaps": _gaps(causes),
        "failed_marks": _failed_marks(causes),
        "by": causes.by.value,
        "failed_headline": failed_headline(causes.newest_failed) if causes.newest_failed else "",
        "top": _TOP,
        "plot_middle": _f(_TOP + (_H - _TOP - _BOTTOM) / 2),
        "packages": _package_rows(packages) if packages.points else [],
        "spark_w": _SPARK_W,
        "spark_h": _SPARK_H,
        "commits": _commit_rows(causes, report.commit_url, report.pull_url),
        "failed": [
            {
                "sha": f.commit.sha[:12],
                "url": report.commit_url + f.commit.sha if report.commit_url else None,
                "subject": f.commit.subject,
                "reason": f.reason or "no reason recorded",
            }
            for f in failures_of(causes)
        ],
        "newest_failed": [
            {
                "sha": f.commit.sha[:12],
                "url": report.commit_url + f.commit.sha if report.commit_url else None,
                "subject": f.commit.subject,
                "reason": f.reason or "no reason recorded",
            }
            for f in causes.newest_failed
        ],
        "latest_total": causes.points[-1].total if causes.points else 0,
        "first_total": causes.points[0].total if causes.points else 0,
        "n_commits": len(causes.points),
    }
    return _environment().get_template("trend.html.j2").render(context)
