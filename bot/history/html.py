"""The HTML trend report: the SVG chart (series, ticks, columns) and the page around it
(Jinja2, autoescaped)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from bot.gc.model import Cause
from bot.history.links import pr_number
from bot.history.model import (
    GroupBy,
    Trend,
    TrendPoint,
    TrendReport,
    counts_by_group,
)
from bot.history.render import CAUSE_COLORS, commit_when, failures_of, selection_text

_W, _H = 960, 320  # chart size in SVG units
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 12, 28
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


def _xs(n: int) -> list[float]:
    plot = _W - _LEFT - _RIGHT
    if n == 1:
        return [_LEFT, _LEFT + plot]  # one commit: a band across the chart
    return [_LEFT + plot * i / (n - 1) for i in range(n)]


def _chart(trend: Trend) -> tuple[list[_Series], list[_Tick]]:
    """Stacked areas, the largest cause at the bottom, and the y axis's ticks."""
    points = trend.points
    top, step = nice_ceiling(max((p.total for p in points), default=0))
    plot_h = _H - _TOP - _BOTTOM
    xs = _xs(len(points))

    def y(v: int) -> float:
        return _TOP + plot_h * (1 - v / top)

    below = [0] * len(points)
    series = []
    for group in trend.groups:
        values = list(counts_by_group(points, group))
        above = [b + v for b, v in zip(below, values, strict=True)]
        upper, lower = above, below
        if len(points) == 1:
            upper, lower = above * 2, below * 2
        line = [f"{_f(x)},{_f(y(v))}" for x, v in zip(xs, upper, strict=True)]
        back = [f"{_f(x)},{_f(y(v))}" for x, v in reversed(list(zip(xs, lower, strict=True)))]
        path = "M" + " L".join(line + back) + " Z"
        label = Cause(group).label if group in set(Cause) else group
        series.append(
            _Series(group, label, CAUSE_COLORS.get(group, "#999999"), path, values[-1] if values else 0)
        )
        below = above
    ticks = [_Tick(_f(y(v)), str(v)) for v in range(0, top + 1, step)]
    return series, ticks


def _columns(trend: Trend, commit_url: str | None) -> list[_Column]:
    """Transparent hover targets centred on each commit, with a tooltip and a link."""
    n = len(trend.points)
    xs = _xs(n)
    width = (xs[-1] - xs[0]) / max(n - 1, 1)
    columns = []
    for i, p in enumerate(trend.points):
        parts = [f"{g}: {p.counts[g]}" for g in trend.groups if p.counts.get(g)]
        title = "\n".join(
            [f"{p.commit.sha[:12]} {commit_when(p.commit)} — {p.total}", p.commit.subject, *parts]
        )
        x = xs[0] if n == 1 else min(max(xs[i] - width / 2, _LEFT), _W - _RIGHT - width)
        url = commit_url + p.commit.sha if commit_url else None
        columns.append(_Column(_f(x), _f(width), title, url))
    return columns


def _x_ticks(trend: Trend) -> list[_Tick]:
    """Up to five dates under the chart; times too when the commits span less than two days."""
    points = trend.points
    xs = _xs(len(points))
    span = points[-1].commit.committed_at - points[0].commit.committed_at
    form = "%m-%d %H:%M" if span.days < 2 else "%Y-%m-%d"
    if len(points) == 1:
        return [_Tick(_f((xs[0] + xs[1]) / 2), points[0].commit.committed_at.strftime(form))]
    wanted = sorted({round(i * (len(points) - 1) / 4) for i in range(5)})
    last = len(points) - 1
    return [
        _Tick(
            _f(xs[i]),
            points[i].commit.committed_at.strftime(form),
            "start" if i == 0 else "end" if i == last else "middle",
        )
        for i in wanted
    ]


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
    """The self-contained page: stacked chart per cause, packages with sparklines, commits."""
    causes, packages = report.causes, report.packages
    if causes.by is not GroupBy.CAUSE or packages.by is not GroupBy.PACKAGE:
        raise ValueError("the HTML report needs a trend by cause and one by package")
    series, y_ticks = _chart(causes) if causes.points else ([], [])
    s = causes.selection
    context = {
        "title": f"{s.repository}: {selection_text(s)} over time",
        "repository": s.repository,
        "branch": s.branch or "all branches",
        "toolchain": s.toolchain_key,
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
        "packages": _package_rows(packages) if packages.points else [],
        "spark_w": _SPARK_W,
        "spark_h": _SPARK_H,
        "commits": _commit_rows(causes, report.commit_url, report.pull_url),
        "failed": [
            {
                "sha": f.commit.sha[:12],
                "url": report.commit_url + f.commit.sha if report.commit_url else None,
                "subject": f.commit.subject,
                "reason": f.reason,
            }
            for f in failures_of(causes)
        ],
        "newest_failed": [
            {
                "sha": f.commit.sha[:12],
                "url": report.commit_url + f.commit.sha if report.commit_url else None,
                "subject": f.commit.subject,
                "reason": f.reason,
            }
            for f in causes.newest_failed
        ],
        "latest_total": causes.points[-1].total if causes.points else 0,
        "first_total": causes.points[0].total if causes.points else 0,
        "n_commits": len(causes.points),
    }
    return _environment().get_template("trend.html.j2").render(context)
