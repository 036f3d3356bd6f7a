"""The history commands say what is wrong with what they were asked (a real git repository, one
commit recorded by `collect --record` with the real compiler, a real SQLite file)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import GitRepo, go_mod

SOURCE = """package p

type T struct{ v [4]int }

func New() *T { return &T{} }
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, str, dict[str, str]]:
    """A repository whose first commit (tagged v1.0.0) is not stored, whose second is, with a
    branch `lonely` that shares nothing with main."""
    repo = GitRepo(tmp_path_factory.mktemp("lookups") / "repo")
    shas = {"v1": repo.commit({"go.mod": go_mod(), "p/p.go": SOURCE}, "one")}
    repo.git("tag", "v1.0.0")
    shas["v2"] = repo.commit({"p/q.go": "package p\n\nfunc Q() any { return New() }\n"}, "two")
    db = f"sqlite:///{repo.path.parent}/escapes.db"
    record = run("collect", "--record", "--repo", str(repo.path), "--db", db)
    assert record.returncode == 0, record.stderr
    repo.git("checkout", "--quiet", "--orphan", "lonely")
    shas["lonely"] = repo.commit({"README": "alone\n"}, "lonely")
    repo.git("checkout", "--quiet", "main")
    return repo, db, shas


def lookup(recorded: tuple[GitRepo, str, dict[str, str]], *args: str) -> subprocess.CompletedProcess[str]:
    repo, db, _ = recorded
    return run(*args, "--repo", str(repo.path), "--db", db)


def test_a_revision_that_is_not_stored(recorded: tuple[GitRepo, str, dict[str, str]]) -> None:
    repo, db, shas = recorded
    for command in ("top", "blame"):
        proc = lookup(recorded, command, "--rev", "v1.0.0")
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.splitlines() == [
            f"escape-bot: error: revision v1.0.0 ({shas['v1'][:12]}) of {repo.path.name} is not stored in "
            f"{db}: record it with `escape-bot collect --record --rev v1.0.0` (or `escape-bot backfill`)"
        ]
    stored = lookup(recorded, "top", "--rev", "v1.0.0~0^{commit}")
    assert stored.returncode == 3 and "is not stored" in stored.stderr
    assert lookup(recorded, "top", "--rev", shas["v2"]).returncode == 0


def test_a_branch_git_does_not_have_and_one_with_nothing_stored(
    recorded: tuple[GitRepo, str, dict[str, str]],
) -> None:
    repo, db, _ = recorded
    missing = lookup(recorded, "trend", "--branch", "nosuch")
    assert missing.returncode == 3
    assert missing.stderr.splitlines() == [
        f"escape-bot: error: no branch 'nosuch' in the git repository {repo.path}, and nothing is stored "
        f"for {repo.path.name} on a branch of that name"
    ]
    lonely = lookup(recorded, "trend", "--branch", "lonely")
    assert lonely.returncode == 3
    assert lonely.stderr.splitlines() == [
        f"escape-bot: error: nothing is stored for {repo.path.name} on lonely: run `escape-bot backfill` "
        f"(or `escape-bot collect --record`) first (database {db})"
    ]
    assert lookup(recorded, "trend", "--branch", "main").returncode == 0


def test_an_unknown_toolchain_lists_the_stored_ones(recorded: tuple[GitRepo, str, dict[str, str]]) -> None:
    proc = lookup(recorded, "trend", "--toolchain", "go0.1/plan9/mips")
    assert proc.returncode == 3 and len(proc.stderr.splitlines()) == 1
    assert "with toolchain 'go0.1/plan9/mips'; stored: 'go1." in proc.stderr


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("nosuch.go", "nosuch.go: no such file in the repository at"),
        ("p/p.go:abc", "p/p.go:abc: LINE must be a line number (1, 2, ...), not 'abc'"),
        ("p/p.go:0", "LINE must be a line number"),
        ("p/p.go:99", "p/p.go:99: the file has 5 lines at"),
    ],
)
def test_blame_of_a_file_or_line_that_is_not_there(
    recorded: tuple[GitRepo, str, dict[str, str]], target: str, says: str
) -> None:
    proc = lookup(recorded, "blame", target)
    assert proc.returncode == 2 and proc.stdout == ""
    # click's style, as for every other command-line error
    assert proc.stderr.startswith("Usage: escape-bot blame [OPTIONS] [FILE[:LINE]]\n")
    assert proc.stderr.splitlines()[-1].startswith("Error: Invalid value for '[FILE[:LINE]]': ")
    assert says in proc.stderr


def test_blame_of_a_file_without_escapes_is_no_error(recorded: tuple[GitRepo, str, dict[str, str]]) -> None:
    proc = lookup(recorded, "blame", "go.mod")
    assert proc.returncode == 0, proc.stderr
    assert "no heap escapes at" in proc.stderr
    found = lookup(recorded, "blame", "p/q.go:3")
    assert found.returncode == 0 and "&T{}" in found.stdout


def test_bad_dates_and_exclusive_options_are_usage_errors(
    recorded: tuple[GitRepo, str, dict[str, str]],
) -> None:
    since = lookup(recorded, "trend", "--since", "yesterdayish")
    assert since.returncode == 2
    assert since.stderr.splitlines()[-1].startswith("Error: Invalid value for '--since': not a date")
    both = lookup(recorded, "backfill", "--last", "1", "--since", "2026-01-01")
    assert both.returncode == 2
    assert both.stderr.splitlines()[-1] == "Error: give at most one of --last, --since, REV_RANGE"


def test_a_date_range_with_no_stored_commit(recorded: tuple[GitRepo, str, dict[str, str]]) -> None:
    repo, db, _ = recorded
    proc = lookup(recorded, "trend", "--since", "2030-01-01")
    assert proc.returncode == 3
    assert proc.stderr.splitlines() == [
        f"escape-bot: error: no stored commit of {repo.path.name} was committed since 2030-01-01 00:00 "
        f"(stored: 1 commit from 2026-01-01 00:00 to 2026-01-01 00:00) (database {db})"
    ]
