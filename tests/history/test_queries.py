"""`trend`, `top` and `blame` on the backfilled scripted history, both backends, through the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.history.blame import Target, blame
from bot.history.queries import Scope
from bot.store import Store

from . import scripted
from .conftest import NAME, Backfilled, run_cli


def _json(*args: str, cwd: Path | None = None) -> Any:
    proc = run_cli(*args, "--format", "json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _query(command: str, history: scripted.Scripted, db: Backfilled, *args: str) -> Any:
    return _json(command, "--repo", str(history.repo.path), "--db", db.url, "--name", NAME, *args)


def _labels(history: scripted.Scripted) -> dict[str, str]:
    return {sha: label for label, sha in history.shas.items()}


def _by_label(history: scripted.Scripted, data: dict[str, Any]) -> dict[str, dict[str, int]]:
    labels = _labels(history)
    return {labels[c["sha"]]: c["counts"] for c in data["commits"]}


def test_trend_by_cause_matches_the_history(
    backfilled: Backfilled, history: scripted.Scripted, toolchain_key: str
) -> None:
    data = _query("trend", history, backfilled)
    assert _by_label(history, data) == scripted.BY_CAUSE
    assert [c["total"] for c in data["commits"]] == [
        sum(scripted.BY_CAUSE[c].values()) for c in scripted.BUILT
    ]
    assert [c["sha"] for c in data["failed"]] == [history.shas["c5"]]
    assert (data["ordering"], data["branch"], data["toolchain"]) == ("first-parent", "main", toolchain_key)
    assert data["groups"][0] == "returned"  # the largest at the newest commit first
    merge = data["commits"][-1]
    assert merge["pr"] == 7 and merge["author"] == "Ada Author"


def test_trend_by_package_and_kind(backfilled: Backfilled, history: scripted.Scripted) -> None:
    assert _by_label(history, _query("trend", history, backfilled, "--by", "package")) == scripted.BY_PACKAGE
    kinds = _by_label(history, _query("trend", history, backfilled, "--by", "kind"))
    assert kinds["M"] == {
        "moved-to-heap": 3,
        "escapes-to-heap": 3,
    }  # t, n, buf / func literal, new(int), &T{}
    with_leaks = _by_label(history, _query("trend", history, backfilled, "--by", "kind", "--leaks"))
    for label in scripted.BUILT:
        leaks = 0 if label == "c1" else 1  # Keep's parameter, from c2 on
        assert with_leaks[label].get("leaking-param", 0) == leaks
        assert sum(with_leaks[label].values()) == sum(scripted.BY_CAUSE[label].values()) + leaks
    # every kind by package reads the package results' own counts (no escape rows)
    packages = _by_label(history, _query("trend", history, backfilled, "--by", "package", "--leaks"))
    assert packages["M"] == {f"{scripted.MODULE}/a": 4, f"{scripted.MODULE}/b": 3}


SQLITE_ONLY = pytest.mark.parametrize("backfilled", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_trend_filters(backfilled: Backfilled, history: scripted.Scripted) -> None:
    only_b = _by_label(history, _query("trend", history, backfilled, "--package", "*/m/b"))
    assert only_b["c1"] == {} and only_b["c2"] == {"global": 1}
    assert only_b["M"] == {"channel-send": 1, "too-large": 1}
    returned = _by_label(
        history, _query("trend", history, backfilled, "--cause", "returned", "--by", "package")
    )
    assert [returned[c].get(f"{scripted.MODULE}/a", 0) for c in scripted.BUILT] == [1, 1, 1, 2, 2, 2, 2, 3, 3]
    assert all(f"{scripted.MODULE}/b" not in counts for counts in returned.values())
    last = _query("trend", history, backfilled, "--last", "3")
    assert [_labels(history)[c["sha"]] for c in last["commits"]] == ["c8", "c9", "M"]
    assert last["failed"] == []
    # commit times are 2026-01-01T00:00:SS with SS the commit's number (tests/conftest.py)
    window = _query(
        "trend", history, backfilled, "--since", "2026-01-01T00:00:04Z", "--until", "2026-01-01T00:00:07Z"
    )
    assert [_labels(history)[c["sha"]] for c in window["commits"]] == ["c4", "c6", "c7"]
    assert [c["sha"] for c in window["failed"]] == [history.shas["c5"]]


@SQLITE_ONLY
def test_trend_csv_and_table(backfilled: Backfilled, history: scripted.Scripted) -> None:
    base = ["trend", "--repo", str(history.repo.path), "--db", backfilled.url, "--name", NAME]
    proc = run_cli(*base, "--by", "package", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    every = list(csv.DictReader(io.StringIO(proc.stdout)))
    # c5 did not build: a row of its own at the end, without counts, with the reason
    (c5,) = [r for r in every if r["did_not_build"]]
    assert c5["sha"] == history.shas["c5"] and c5["total"] == "" and "did not build" in c5["did_not_build"]
    rows = [r for r in every if not r["did_not_build"]]
    assert [r["sha"] for r in rows] == [history.shas[c] for c in scripted.BUILT]
    a, b = f"{scripted.MODULE}/a", f"{scripted.MODULE}/b"
    assert [(int(r[a]), int(r[b]), int(r["total"])) for r in rows] == [
        (
            scripted.BY_PACKAGE[c].get(a, 0),
            scripted.BY_PACKAGE[c].get(b, 0),
            sum(scripted.BY_PACKAGE[c].values()),
        )
        for c in scripted.BUILT
    ]
    assert rows[-2]["subject"] == "a: New <script>alert(1)</script> (#42)"
    table = run_cli(*base)
    assert table.returncode == 0, table.stderr
    assert "returned" in table.stdout and history.shas["M"][:12] in table.stdout
    assert "1 commit in this range did not build" in table.stderr


@SQLITE_ONLY
def test_trend_without_the_clone_reads_the_branch(
    backfilled: Backfilled, history: scripted.Scripted, tmp_path: Path
) -> None:
    # a dashboard host: no repository, only the database; commits ordered by time on the branch
    data = _json("trend", "--repo", str(tmp_path), "--db", backfilled.url, "--name", NAME, "--branch", "main")
    assert data["ordering"] == "branch"
    assert _by_label(history, data) == scripted.BY_CAUSE


@SQLITE_ONLY
def test_top(backfilled: Backfilled, history: scripted.Scripted) -> None:
    packages = _query("top", history, backfilled)
    assert packages["commit"]["sha"] == history.shas["M"] and packages["total"] == 6
    assert [(e["name"], e["count"]) for e in packages["entries"]] == [
        (f"{scripted.MODULE}/a", 4),
        (f"{scripted.MODULE}/b", 2),
    ]
    assert packages["entries"][0]["share"] == pytest.approx(66.7)
    functions = _query("top", history, backfilled, "--by", "function", "--limit", "2")
    assert functions["entries"][0] == {
        "name": "Count",
        "package": f"{scripted.MODULE}/a",
        "count": 2,
        "share": 33.3,
    }
    assert len(functions["entries"]) == 2 and functions["others"] == 3 and functions["total"] == 6
    causes = _query("top", history, backfilled, "--by", "cause", "--limit", "0")
    assert {e["name"]: e["count"] for e in causes["entries"]} == scripted.BY_CAUSE["M"]
    at_c4 = _query("top", history, backfilled, "--by", "cause", "--rev", history.shas["c4"])
    assert {e["name"]: e["count"] for e in at_c4["entries"]} == scripted.BY_CAUSE["c4"]
    returned_in_a = _query(
        "top", history, backfilled, "--by", "function", "--cause", "returned", "--package", "*/a"
    )
    assert {e["name"]: e["count"] for e in returned_in_a["entries"]} == {"Ret": 1, "Count": 1, "New": 1}
    csv_out = run_cli(
        "top", "--repo", str(history.repo.path), "--db", backfilled.url, "--name", NAME, "--format", "csv"
    )
    assert list(csv.reader(io.StringIO(csv_out.stdout)))[1] == [
        "1",
        f"{scripted.MODULE}/a",
        f"{scripted.MODULE}/a",
        "4",
        "66.7",
    ]


def _origins(
    history: scripted.Scripted, data: dict[str, Any]
) -> dict[tuple[str, str, str], tuple[str, bool]]:
    labels = _labels(history)
    return {
        (e["file"], e["function"], e["expression"]): (labels[e["origin"]["sha"]], e["exact"])
        for e in data["escapes"]
    }


def test_blame_names_the_commit_each_escape_came_with(
    backfilled: Backfilled, history: scripted.Scripted
) -> None:
    data = _query("blame", history, backfilled)
    assert data["commit"]["sha"] == history.shas["M"]
    assert _origins(history, data) == scripted.BLAME
    prs = {e["function"]: e["origin"]["pr"] for e in data["escapes"]}
    assert prs["New"] == 42 and prs["Big"] == 7 and prs["Ret"] is None
    send = next(e for e in data["escapes"] if e["function"] == "Send")
    assert send["previous"] == history.shas["c4"]  # c5 failed: the last recorded commit before c6


@SQLITE_ONLY
def test_blame_of_a_line_a_function_and_an_older_commit(
    backfilled: Backfilled, history: scripted.Scripted
) -> None:
    everything = _query("blame", history, backfilled)["escapes"]
    ret = next(e for e in everything if e["function"] == "Ret")
    line = _query("blame", history, backfilled, f"a/ret.go:{ret['line']}")
    assert [(e["function"], e["origin"]["sha"]) for e in line["escapes"]] == [("Ret", history.shas["c1"])]
    # FILE relative to the current directory, as `git blame` takes it
    here = _json("blame", "ret.go", "--db", backfilled.url, "--name", NAME, cwd=history.repo.path / "a")
    assert {e["function"] for e in here["escapes"]} == {"Ret", "Count", "New"}
    counter = _query("blame", history, backfilled, "--function", "Count")
    assert {(e["expression"], e["origin"]["sha"]) for e in counter["escapes"]} == {
        ("n", history.shas["c4"]),
        ("func literal", history.shas["c4"]),
    }
    old = _query("blame", history, backfilled, "--rev", history.shas["c6"])
    assert _origins(history, old) == {
        ("a/a.go", "Ret", "t"): ("c1", True),
        ("a/a.go", "Counter", "n"): ("c4", True),
        ("a/a.go", "Counter", "func literal"): ("c4", True),
        ("b/b.go", "Glob", "x"): ("c2", True),
        ("b/b.go", "Send", "new(int)"): ("c6", False),
    }
    leaks = _query("blame", history, backfilled, "--function", "Keep", "--leaks")
    assert [(e["kind"], e["origin"]["sha"]) for e in leaks["escapes"]] == [
        ("leaking-param", history.shas["c2"])
    ]


@SQLITE_ONLY
def test_blame_follows_renamed_files(backfilled: Backfilled, history: scripted.Scripted) -> None:
    # c7 renamed a/a.go and the function Counter in it: without git's renames, Count's escapes
    # would have appeared in c7; this is what makes the blame above name c4
    scope = Scope(repository=NAME, branch="main", order=tuple(history.shas[c] for c in history.first_parent))
    with Store.open(backfilled.url) as store:
        asked: list[tuple[str, str]] = []

        def no_renames(older: str, newer: str) -> dict[str, str]:
            asked.append((older, newer))
            return {}

        blind = blame(store, scope, Target(function="Count"), no_renames)
    assert {e.origin.sha for e in blind.entries} == {history.shas["c7"]}
    assert (history.shas["c6"], history.shas["c7"]) in asked


def test_unstored_commit_and_no_match(backfilled: Backfilled, history: scripted.Scripted) -> None:
    repo = str(history.repo.path)
    failed = run_cli(
        "top", "--repo", repo, "--db", backfilled.url, "--name", NAME, "--rev", history.shas["c5"]
    )
    assert failed.returncode == 3 and "has no stored results" in failed.stderr
    none = run_cli(
        "blame", "no/such.go", "--repo", repo, "--db", backfilled.url, "--name", NAME, "--format", "json"
    )
    assert none.returncode == 2 and none.stdout == ""
    assert "no/such.go: no such file in the repository" in none.stderr


def test_empty_database(empty_db: str, history: scripted.Scripted) -> None:
    nothing = run_cli("trend", "--repo", str(history.repo.path), "--db", empty_db, "--name", NAME)
    assert nothing.returncode == 3
    # a read neither creates the database nor its schema: it says there is nothing in it
    [line] = nothing.stderr.splitlines()
    assert "does not exist: nothing was recorded yet" in line or "is empty: nothing was recorded" in line
    assert "escape-bot backfill" in line
