"""The HTML trend report, loaded in real headless Chromium (Debian's `chromium` package).

Without Chromium these tests are skipped, except when CI=true: CI installs it
(`apt-get install -y chromium`) and must run them.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.commit import CommitInfo
from bot.gc.model import Cause
from bot.history.html import trend_html
from bot.history.model import FailedCommit, GroupBy, Selection, Trend, TrendPoint, TrendReport

from . import scripted
from .browser import PageReport, chromium, file_url, inspect_page
from .conftest import NAME, Backfilled, run_cli


@pytest.fixture(scope="module", autouse=True)
def _browser() -> None:
    if chromium() is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: CI must install it", pytrace=False)
        pytest.skip(message)


# What the tests read from the page, as one JSON value.
PROBE = """JSON.stringify({
  title: document.title,
  scripts: document.scripts.length,
  images: document.images.length,
  chart: (() => { const r = document.querySelector('#trend-chart').getBoundingClientRect();
                  return [r.width, r.height]; })(),
  series: [...document.querySelectorAll('#trend-chart path.series')].map(p => {
    const box = p.getBBox();
    return {cause: p.dataset.cause, fill: getComputedStyle(p).fill, area: box.width * box.height};
  }),
  legend: [...document.querySelectorAll('ul.legend li')].map(li => li.dataset.cause),
  packages: [...document.querySelectorAll('table.packages tbody tr')].map(tr => ({
    name: tr.querySelector('code').textContent,
    spark: tr.querySelector('svg.spark path').getTotalLength(),
  })),
  commitLinks: [...document.querySelectorAll('table.commits a')].map(a => a.href),
  chartLinks: document.querySelectorAll('#trend-chart a').length,
  text: document.body.innerText,
})"""


def _load(path: Path) -> tuple[dict[str, Any], PageReport]:
    report = inspect_page(file_url(path), PROBE)
    return json.loads(report.value), report


def test_report_in_chromium(backfilled: Backfilled, history: scripted.Scripted, tmp_path: Path) -> None:
    page = tmp_path / "trend.html"
    proc = run_cli(
        "trend", "--repo", str(history.repo.path), "--db", backfilled.url, "--name", NAME,
        "--format", "html", "--output", str(page),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data, report = _load(page)
    assert report.errors == [] and report.requests == []
    assert data["title"] == "acme/service: heap escapes over time"
    # the page renders: a chart with an area per cause that ever had escapes, each painted
    assert data["chart"][0] > 300 and data["chart"][1] > 100
    causes = {c for counts in scripted.BY_CAUSE.values() for c in counts}
    assert sorted(s["cause"] for s in data["series"]) == sorted(causes)
    assert len(data["series"]) == len(causes) == 5
    assert len({s["fill"] for s in data["series"]}) == 5
    assert all(s["area"] > 0 for s in data["series"])
    assert sorted(data["legend"]) == sorted(causes)
    assert [p["name"] for p in data["packages"]] == [f"{scripted.MODULE}/a", f"{scripted.MODULE}/b"]
    assert all(p["spark"] > 0 for p in data["packages"])
    # links from the `origin` remote (git@github.com:acme/service.git)
    commit = f"https://github.com/acme/service/commit/{history.shas['M']}"
    assert commit in data["commitLinks"]
    assert "https://github.com/acme/service/pull/42" in data["commitLinks"]
    assert data["chartLinks"] == len(scripted.BUILT)
    # the subject with a script tag is text, not markup; nothing runs
    assert "a: New <script>alert(1)</script> (#42)" in data["text"]
    assert data["scripts"] == 0
    assert "Commits that did not build" in data["text"] and history.shas["c5"][:12] in data["text"]


def test_the_harness_sees_errors_and_requests(tmp_path: Path) -> None:
    # the assertions above could not fail if the harness missed console errors or loads
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body>"
        '<img src="http://127.0.0.1:9/pixel.png">'
        '<script>console.error("boom"); notAFunction();</script></body></html>'
    )
    report = inspect_page(file_url(page), "document.title")
    assert report.value == "broken"
    assert report.console_errors == ["boom"]
    assert any("notAFunction" in e for e in report.exceptions)
    assert report.requests == ["http://127.0.0.1:9/pixel.png"]


HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def _hostile_report() -> TrendReport:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    commit = CommitInfo("a" * 40, (), HOSTILE, "x@example.invalid", when, when, HOSTILE + " (#1)")
    package = f"example.com/{HOSTILE}"
    selection = Selection(
        repository=HOSTILE, branch=HOSTILE, toolchain_key=HOSTILE, ordering="first-parent", package=HOSTILE
    )
    point = TrendPoint(commit, "go1.24", {Cause.RETURNED.value: 2, Cause.GLOBAL.value: 1})
    second = TrendPoint(replace(commit, sha="b" * 40), "go1.24", {Cause.RETURNED.value: 3})
    causes = Trend(selection, GroupBy.CAUSE, ("returned", "global"), (point, second), (commit,))
    packages = Trend(
        selection,
        GroupBy.PACKAGE,
        (package,),
        (TrendPoint(commit, "go1.24", {package: 3}), TrendPoint(second.commit, "go1.24", {package: 3})),
        (),
    )
    return TrendReport(
        causes=causes,
        packages=packages,
        generated_at=when,
        commit_url="https://github.com/o/r/commit/",
        pull_url="https://github.com/o/r/pull/",
    )


def test_untrusted_text_is_escaped(tmp_path: Path) -> None:
    html = trend_html(_hostile_report())
    assert "<img" not in html and "<script>" not in html
    page = tmp_path / "hostile.html"
    page.write_text(html, encoding="utf-8")
    data, report = _load(page)
    assert report.errors == [] and report.requests == []
    assert data["images"] == 0 and data["scripts"] == 0
    assert data["text"].count(HOSTILE) >= 4  # title, author, subject, package: shown as text
    assert [s["cause"] for s in data["series"]] == ["returned", "global"]  # the largest at the bottom


def test_one_commit_and_no_escapes(tmp_path: Path) -> None:
    report = _hostile_report()
    one = replace(
        report,
        causes=replace(report.causes, points=report.causes.points[:1]),
        packages=replace(report.packages, points=report.packages.points[:1]),
    )
    page = tmp_path / "one.html"
    page.write_text(trend_html(one), encoding="utf-8")
    data, errors = _load(page)
    assert errors.errors == []
    assert all(s["area"] > 0 for s in data["series"])  # a band across the chart, not a line
    empty = replace(report.causes, groups=(), points=(replace(report.causes.points[0], counts={}),))
    assert "No escapes in these commits." in trend_html(
        replace(report, causes=empty, packages=replace(report.packages, groups=()))
    )


# ---- issue 14: a page that does not mislead ---------------------------------------------

TAIL_PROBE = """JSON.stringify({
  warning: (document.querySelector('#newest-failed') || {}).innerText || '',
  warningBeforeFigures: (() => {
    const w = document.querySelector('#newest-failed'), f = document.querySelector('#latest-total');
    return !!w && !!(w.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING);
  })(),
  yTitle: document.querySelector('#y-title').textContent,
  xTitle: document.querySelector('#x-title').textContent,
  yTitleBox: (() => { const r = document.querySelector('#y-title').getBoundingClientRect();
                      return [r.width, r.height]; })(),
  ticks: [...document.querySelectorAll('#trend-chart .axis text:not(.axis-title)')].map(t => t.textContent),
  gaps: [...document.querySelectorAll('#trend-chart .gap text')].map(t => t.textContent),
  failedMarks: [...document.querySelectorAll('#trend-chart .failed-mark title')].map(t => t.textContent),
  failedList: [...document.querySelectorAll('ul.failed li')].map(li => li.innerText),
  tooltips: [...document.querySelectorAll('#trend-chart .hover title')].map(t => t.textContent),
  steps: [...document.querySelectorAll('#trend-chart path.series')].map(p => p.getAttribute('d')),
})"""


def _gappy_report() -> TrendReport:
    """Commits in 2019, then (after a pause of four years) daily ones, a failure in between, and
    the newest three commits failed: what the page must not hide."""

    def commit(i: int, when: datetime, subject: str) -> CommitInfo:
        return CommitInfo(f"{i:02x}" * 20, (), "Ada", "ada@example.invalid", when, when, subject)

    whens = [datetime(2019, 3, 1, tzinfo=UTC) + timedelta(days=d) for d in (0, 1, 2)]
    whens += [datetime(2023, 6, 1, tzinfo=UTC) + timedelta(days=d) for d in (0, 1, 2, 3, 4)]
    commits = [commit(i, w, f"change {i}") for i, w in enumerate(whens)]
    totals = [3, 3, 5, 5, 9, 9, 9, 8]
    points = tuple(
        TrendPoint(c, "go1.24", {"returned": t - 1, "global": 1})
        for c, t in zip(commits, totals, strict=True)
    )
    middle = commit(40, datetime(2023, 6, 3, 12, tzinfo=UTC), "broken middle")
    tail = tuple(
        FailedCommit(
            commit(50 + i, datetime(2023, 6, 10 + i, tzinfo=UTC), f"tail {i}"), "undefined: frobnicate"
        )
        for i in range(3)
    )
    selection = Selection(
        repository="acme/gappy", branch="main", toolchain_key="go1.24", ordering="first-parent"
    )
    causes = Trend(
        selection,
        GroupBy.CAUSE,
        ("returned", "global"),
        points,
        (middle,),
        failures=(FailedCommit(middle, "go build: syntax error"),),
        newest_failed=tail,
    )
    packages = Trend(
        selection,
        GroupBy.PACKAGE,
        ("example.com/a",),
        tuple(replace(p, counts={"example.com/a": p.total}) for p in points),
        (),
    )
    return TrendReport(causes=causes, packages=packages, generated_at=whens[-1])


def test_failed_tail_gap_axes_and_steps_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "gappy.html"
    page.write_text(trend_html(_gappy_report()), encoding="utf-8")
    shot = Path(os.environ.get("ESCAPE_BOT_SCREENSHOT", tmp_path / "gappy.png"))
    report = inspect_page(file_url(page), TAIL_PROBE, screenshot=shot)
    assert report.errors == [] and report.requests == []
    data = json.loads(report.value)
    # painted: a PNG of the whole page
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5_000
    # the failed tail, with its reason, before any figure
    assert data["warning"].startswith("The newest 3 recorded commits did not build (undefined: frobnicate)")
    assert data["warningBeforeFigures"]
    # axis titles, shown
    assert data["yTitle"] == "escape sites"
    assert data["xTitle"].startswith("commits, oldest to newest") and "not to time scale" in data["xTitle"]
    assert data["yTitleBox"][1] > 40  # rotated: taller than wide
    # honest ticks: no date twice; the four-year pause is marked where it is
    dates = [t for t in data["ticks"] if t.count("-") == 2]
    assert dates and len(dates) == len(set(dates)), data["ticks"]
    assert data["gaps"] == ["4.2 years later"], data["gaps"]
    # the failure between shown commits is marked with its reason, and listed with it
    assert data["failedMarks"] == [f"{'28' * 6} broken middle: go build: syntax error"]
    assert any("broken middle" in li and "go build: syntax error" in li for li in data["failedList"])
    # a point's tooltip names the commit and its change
    assert data["tooltips"][4].startswith(f"{'04' * 6} 2023-06-02 00:00: 9 (+4 from the commit before)")
    assert "change 4" in data["tooltips"][4]
    # steps, not slopes: every segment of an area is horizontal or vertical
    for d in data["steps"]:
        coords = [tuple(map(float, xy.split(","))) for xy in d.strip("MZ ").split(" L")]
        for (x0, y0), (x1, y1) in itertools.pairwise([*coords, coords[0]]):
            assert x0 == x1 or y0 == y1, d


def test_by_is_honoured_in_html(backfilled: Backfilled, history: scripted.Scripted, tmp_path: Path) -> None:
    page = tmp_path / "by-package.html"
    proc = run_cli(
        "trend", "--repo", str(history.repo.path), "--db", backfilled.url, "--name", NAME,
        "--format", "html", "--by", "package", "--output", str(page),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data, report = _load(page)
    assert report.errors == []
    assert sorted(s["cause"] for s in data["series"]) == [f"{scripted.MODULE}/a", f"{scripted.MODULE}/b"]
    assert "Escapes per package" in data["text"]
