"""The pure parts of history: links, PR numbers, dates, pairing, rendering details, purity."""

from __future__ import annotations

import ast
import csv
import io
import random
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.commit import CommitInfo
from bot.diff import diff
from bot.errors import UsageError
from bot.gc.model import Escape
from bot.history.dates import parse_when
from bot.history.html import nice_ceiling
from bot.history.identity import pair_units
from bot.history.links import github_repository, pr_number
from bot.history.model import GroupBy, Selection, Trend, TrendPoint, order_groups
from bot.history.render import spreadsheet_safe, trend_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from factories import edit_package, make_escapes

ROOT = Path(__file__).resolve().parents[2] / "bot" / "history"


@pytest.mark.parametrize(
    ("remote", "server", "repository"),
    [
        ("https://github.com/acme/service.git", "https://github.com", "acme/service"),
        ("https://github.com/acme/service", "https://github.com", "acme/service"),
        (
            "https://x-access-token:ghs_secret@github.com/acme/service.git/",
            "https://github.com",
            "acme/service",
        ),
        ("git@github.com:acme/service.git", "https://github.com", "acme/service"),
        ("ssh://git@github.com/acme/ser.vice.git", "https://github.com", "acme/ser.vice"),
        ("ssh://git@ssh.github.com:443/acme/service.git", "https://github.com", "acme/service"),
        ("git://github.com/acme/service.git", "https://github.com", "acme/service"),
        ("https://github.acme.example/team/app.git", "https://github.acme.example", "team/app"),
        ("git@ghe.acme.example:team/app.git", "https://ghe.acme.example", "team/app"),
        (
            "https://ghes.internal:8443/team/app",
            "https://ghes.internal:8443",
            "team/app",
        ),  # GITHUB_SERVER_URL
        ("http://github.acme.example/team/app", "http://github.acme.example", "team/app"),
    ],
)
def test_github_remotes(remote: str, server: str, repository: str) -> None:
    found = github_repository(remote, ["https://ghes.internal:8443"])
    assert found is not None
    assert (found.server_url, found.repository) == (server, repository)
    assert found.commit_prefix == f"{server}/{repository}/commit/"
    assert "secret" not in found.commit_prefix


@pytest.mark.parametrize(
    "remote",
    [
        "https://gitlab.com/acme/service.git",  # another forge
        "git@bitbucket.org:acme/service.git",
        "https://github.com/acme",  # not owner/name
        "https://github.com/acme/service/tree/main",
        "/srv/git/service.git",  # a local path
        "file:///srv/git/service.git",
        "git@github-work:acme/service.git",  # an ssh host alias: the server is unknown
        "https://github.com/acme/<script>.git",
        "https://github.com:notaport/acme/service",
    ],
)
def test_not_github(remote: str) -> None:
    assert github_repository(remote) is None


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Merge pull request #123 from acme/feature", 123),
        ("Add the cache (#45)", 45),
        ('Revert "Add the cache (#45)" (#52)', 52),
        ("Fix #12 in the parser", None),  # an issue mention, not a merge
        ("plain subject", None),
        ("Merge branch 'main' into feature", None),
    ],
)
def test_pr_numbers(subject: str, number: int | None) -> None:
    assert pr_number(subject) == number


def test_dates() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_when("2026-01-31", now) == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_when("2026-01-31", now, end_of_day=True) == datetime(
        2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC
    )
    assert parse_when("2026-01-31T10:00+02:00", now) == datetime(2026, 1, 31, 8, tzinfo=UTC)
    assert parse_when("2026-01-31 10:00", now) == datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert parse_when("3 weeks ago", now) == now - timedelta(weeks=3)
    assert parse_when("1 day", now) == now - timedelta(days=1)
    with pytest.raises(UsageError, match="not a date"):
        parse_when("last tuesday", now)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, (1, 1)), (1, (1, 1)), (6, (6, 2)), (7, (8, 2)), (26, (30, 10)), (23547, (25000, 5000))],
)
def test_axis(value: int, expected: tuple[int, int]) -> None:
    assert nice_ceiling(value) == expected


def _trend(points: tuple[TrendPoint, ...], groups: tuple[str, ...]) -> Trend:
    selection = Selection(repository="r", branch="main", toolchain_key="k", ordering="first-parent")
    return Trend(selection, GroupBy.PACKAGE, groups, points, ())


def test_csv_cells_are_not_formulas() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    commit = CommitInfo("a" * 40, (), '=HYPERLINK("x")', "e", when, when, "+cmd|' /C calc'!A0, \"quoted\"")
    package = "@evil/pkg"
    text = trend_csv(_trend((TrendPoint(commit, "go1.24", {package: 2}),), (package,)))
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == ["sha", "committed_at", "author", "subject", "total", "'@evil/pkg"]
    assert row[2] == '\'=HYPERLINK("x")' and row[3] == "'+cmd|' /C calc'!A0, \"quoted\""
    assert row[4:] == ["2", "2"]
    assert spreadsheet_safe("-1") == "'-1" and spreadsheet_safe("ok") == "ok"


def test_group_order() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    commit = CommitInfo("a" * 40, (), "a", "e", when, when, "s")
    points = (TrendPoint(commit, "g", {"x": 9, "y": 1}), TrendPoint(commit, "g", {"y": 2, "z": 2}))
    # newest first by count, then the largest ever (x: 0 now, 9 before), then by name
    assert order_groups(points) == ("y", "z", "x")


def _counts_from_pairs(
    base: list[Escape], head: list[Escape], pairs: dict[tuple[int, int], tuple[int, int]]
) -> tuple[int, int, int]:
    units_head = sum(e.count for e in head)
    units_base = sum(e.count for e in base)
    return units_head - len(pairs), units_base - len(set(pairs.values())), len(pairs)


@pytest.mark.parametrize("seed", range(12))
def test_pairs_agree_with_diff(seed: int) -> None:
    rng = random.Random(seed)
    base = make_escapes(6, 30, seed=seed, files_per_package=3)
    head = list(base)
    for _ in range(4):
        head = edit_package(head, rng.choice(sorted({e.package for e in head})), rng)
    # a renamed file, and a function renamed in another
    renamed_file = sorted({e.file for e in base})[rng.randrange(3)]
    renames = {renamed_file: renamed_file.replace(".go", "_moved.go")}
    head = [replace(e, file=renames[renamed_file]) if e.file == renamed_file else e for e in head]
    if seed % 2:
        victim = head[rng.randrange(len(head))].function
        head = [replace(e, function=victim + "2") if e.function == victim else e for e in head]
    # an allocation more at one site, and a few escapes gone
    bumped = rng.randrange(len(head))
    head[bumped] = replace(head[bumped], count=head[bumped].count + 1)
    for _ in range(3):
        del head[rng.randrange(len(head))]
    pairs = pair_units(base, head, renames)
    result = diff(base, head, renames)
    counts = result.counts()
    assert _counts_from_pairs(base, head, pairs) == (counts["new"], counts["fixed"], counts["unchanged"])
    # the pairs are one-to-one, and each pairs the same identity (package, kind, expression)
    assert len(set(pairs.values())) == len(pairs)
    for (h, _), (b, _) in pairs.items():
        assert (head[h].package, head[h].kind, head[h].expression) == (
            base[b].package,
            base[b].kind,
            base[b].expression,
        )
    # units left unpaired in head are exactly diff's new ones
    new: Counter[Escape] = Counter()
    for i, e in enumerate(head):
        new[e] += sum(1 for k in range(e.count) if (i, k) not in pairs)
    assert sum(new.values()) == counts["new"]


PURE = ["model.py", "links.py", "dates.py", "identity.py", "render.py"]
FORBIDDEN = {"subprocess", "sqlalchemy", "alembic", "github", "requests", "http", "socket", "psycopg"}
ADAPTERS = ("bot.gc.run", "bot.git", "bot.store", "bot.github", "bot.cli", "bot.app", "bot.history.gitlog")


@pytest.mark.parametrize("module", PURE)
def test_pure_history_modules_import_no_adapters(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    assert not {n for n in names if n.split(".")[0] in FORBIDDEN or n == "urllib.request"}, module
    assert not {n for n in names if n.startswith(ADAPTERS)}, module
