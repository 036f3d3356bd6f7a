"""History that stops early is never silent: failed commits, why, and modules that did not build.

Real compiler, real git, both databases. The newest two commits of main do not build; the
second commit has a nested module that cannot build (its dependency cannot be fetched).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GitRepo, go_mod
from tests.store.conftest import database

from .conftest import run_cli

RET = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"
BROKEN = "package p\n\ntype T struct{}\n\nfunc Use(t T) { t.Foo() }\n"
REASON = (
    "module example.com/m (the root) did not build (and 1 more module): "
    "p/q.go:5:19: t.Foo undefined (type T has no field or method Foo)"
)
BENCH = {
    "bench/go.mod": go_mod("example.com/m/bench") + "\nrequire example.invalid/dep v1.0.0\n",
    "bench/b.go": 'package bench\n\nimport "example.invalid/dep"\n\nvar X = dep.Y\n',
}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, request, tmp_path / "db") as url:
        yield url


def test_newest_failed_commits_come_before_any_figure(repo: GitRepo, db_url: str, tmp_path: Path) -> None:
    c1 = repo.commit({"go.mod": go_mod(), "p/p.go": RET}, "c1")
    c2 = repo.commit(BENCH, "c2 adds a bench module")
    c3 = repo.commit({"p/q.go": BROKEN}, "c3 breaks p")
    c4 = repo.commit({"README": "still broken\n"}, "c4")
    backfill = run_cli("backfill", "--repo", str(repo.path), "--db", db_url)
    assert backfill.returncode == 0, backfill.stderr
    lines = backfill.stdout.splitlines()
    # the commit recorded without its bench module says so; the failed ones say why
    (line2,) = [line for line in lines if c2[:12] in line]
    assert (
        "1 heap escape (module example.com/m/bench (bench/) did not build: bench/b.go:3:8: missing go.sum"
        in line2
    )
    (line3,) = [line for line in lines if c3[:12] in line]
    assert "failed" in line3 and REASON in line3

    table = run_cli("trend", "--repo", str(repo.path), "--db", db_url)
    assert table.returncode == 0, table.stderr
    out = table.stdout.splitlines()
    assert out[0] == "warning: the newest 2 recorded commits did not build; the figures stop before them:"
    assert out[1] == f"  {c4[:12]} c4: {REASON}" and out[2] == f"  {c3[:12]} c3 breaks p: {REASON}"
    assert any(c1[:12] in line for line in out[3:])  # the figures come after

    data = json.loads(run_cli("trend", "--repo", str(repo.path), "--db", db_url, "--format", "json").stdout)
    assert list(data).index("newest_failed") < list(data).index("commits")
    assert [(f["sha"], f["reason"]) for f in data["newest_failed"]] == [(c4, REASON), (c3, REASON)]
    assert [c["sha"] for c in data["commits"]] == [c1, c2]

    rows = list(
        csv.reader(
            io.StringIO(run_cli("trend", "--repo", str(repo.path), "--db", db_url, "--format", "csv").stdout)
        )
    )
    assert rows[0][-1] == "did_not_build" and {(r[0], r[-1]) for r in rows[3:]} == {
        (c3, REASON),
        (c4, REASON),
    }

    html = tmp_path / "trend.html"
    page = run_cli(
        "trend", "--repo", str(repo.path), "--db", db_url, "--format", "html", "--output", str(html)
    )
    assert page.returncode == 0, page.stderr
    text = html.read_text()
    warning = text.index('id="newest-failed"')
    assert warning < text.index('id="causes"')
    assert "The newest 2 recorded commits did not build" in text
    assert "t.Foo undefined (type T has no field or method Foo)" in text[warning : text.index('id="causes"')]

    top = run_cli("top", "--repo", str(repo.path), "--db", db_url)
    assert top.returncode == 0, top.stderr
    assert top.stdout.splitlines()[0].startswith("warning: the newest 2 recorded commits did not build")
    top_json = json.loads(run_cli("top", "--repo", str(repo.path), "--db", db_url, "--format", "json").stdout)
    assert top_json["commit"]["sha"] == c2 and len(top_json["newest_failed"]) == 2
