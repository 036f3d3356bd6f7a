"""`escape-bot backfill` on the scripted history: what it records, resuming, Ctrl-C, the progress bar."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bot.gc.run import go_binary
from bot.store import Store

from . import scripted
from .conftest import NAME, Backfilled, cli_command, run_cli


def _stored(url: str, *, include_failed: bool = True) -> set[str]:
    with Store.open(url) as store:
        return store.stored_commits(NAME, include_failed=include_failed)


_LINE = re.compile(r"^\[\s*\d+/\d+\] ([0-9a-f]{12}) (\w+)")


def _lines(stdout: str) -> list[tuple[str, str]]:
    """(short sha, status) of each per-commit line of plain output."""
    return [(m.group(1), m.group(2)) for m in map(_LINE.match, stdout.splitlines()) if m]


def _shas(history: scripted.Scripted, labels: list[str]) -> set[str]:
    return {history.shas[label] for label in labels}


def test_backfill_records_exactly_the_first_parent_commits(
    backfilled: Backfilled, history: scripted.Scripted, toolchain_key: str
) -> None:
    assert _stored(backfilled.url, include_failed=False) == _shas(history, scripted.BUILT)
    assert _stored(backfilled.url) == _shas(history, history.first_parent)
    assert not _stored(backfilled.url) & set(history.side)  # the feature branch's own commits
    with Store.open(backfilled.url) as store:
        failure = store.failure(NAME, history.shas["c5"], toolchain_key)
        assert failure is not None and "syntax error" in failure and "b/b.go" in failure
        assert store.snapshot_status(NAME, history.shas["M"], toolchain_key) == "ok"
    # plain output (stdout is not a terminal): one line per commit, oldest first, then a summary
    lines = backfilled.run.stdout.splitlines()
    per_commit = _lines(backfilled.run.stdout)
    assert [sha for sha, _ in per_commit] == [history.shas[c][:12] for c in history.first_parent]
    statuses = dict(per_commit)
    assert statuses[history.shas["c5"][:12]] == "failed"
    assert statuses[history.shas["M"][:12]] == "recorded"
    assert "6 heap escapes" in lines[-2]
    assert lines[-1].startswith("backfill: 9 recorded, 1 failed to build (recorded as failed)")
    assert backfilled.run.stderr == ""


def test_a_second_run_has_nothing_to_do(backfilled: Backfilled, history: scripted.Scripted) -> None:
    proc = run_cli("backfill", "--repo", str(history.repo.path), "--db", backfilled.url, "--name", NAME)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("backfill: nothing to do, all 10 first-parent commits of main are in")


def test_resume_after_a_partial_run_and_retry_failed(empty_db: str, history: scripted.Scripted) -> None:
    repo = str(history.repo.path)
    first = run_cli("backfill", "--repo", repo, "--db", empty_db, "--name", NAME, "--last", "3")
    assert first.returncode == 0, first.stderr
    assert _stored(empty_db) == _shas(history, ["c8", "c9", "M"])
    rest = run_cli("backfill", "--repo", repo, "--db", empty_db, "--name", NAME)
    assert rest.returncode == 0, rest.stderr
    assert "7 to build, 3 already stored, of 10 first-parent commits of main" in rest.stdout
    built = {sha for sha, _ in _lines(rest.stdout)}
    assert built == {history.shas[c][:12] for c in ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]}
    assert _stored(empty_db) == _shas(history, history.first_parent)
    # the failed commit is skipped from now on, unless asked
    retry = run_cli("backfill", "--repo", repo, "--db", empty_db, "--name", NAME, "--retry-failed")
    assert retry.returncode == 0, retry.stderr
    assert "1 to build, 9 already stored" in retry.stdout
    assert f"{history.shas['c5'][:12]} failed" in retry.stdout


def test_rev_range_and_since(sqlite_db: str, history: scripted.Scripted) -> None:
    repo = str(history.repo.path)
    proc = run_cli(
        "backfill", f"{history.shas['c3']}..{history.shas['c6']}", "--repo", repo, "--db", sqlite_db
    )
    assert proc.returncode == 0, proc.stderr
    name = history.repo.path.name  # without --name: the directory's name
    with Store.open(sqlite_db) as store:
        assert store.stored_commits(name, include_failed=True) == _shas(history, ["c4", "c5", "c6"])
    # c7.. by date: the merge's feature commits are not first-parent, so not built
    since = run_cli("backfill", "--repo", repo, "--db", sqlite_db, "--since", "2026-01-01T00:00:07Z")
    assert since.returncode == 0, since.stderr
    with Store.open(sqlite_db) as store:
        assert store.stored_commits(name, include_failed=True) == _shas(
            history, ["c4", "c5", "c6", "c7", "c8", "c9", "M"]
        )
    both = run_cli("backfill", "--repo", repo, "--db", sqlite_db, "--last", "2", "--since", "2026-01-01")
    assert both.returncode == 2 and "Error: give at most one of --last, --since, REV_RANGE" in both.stderr


def _slow_go(tmp_path: Path) -> str:
    """A `go` that takes a moment to start, so that Ctrl-C lands in the middle of a run."""
    wrapper = tmp_path / "go"
    wrapper.write_text(f'#!/bin/sh\nsleep 0.3\nexec "{go_binary()}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def test_ctrl_c_stops_cleanly_and_a_rerun_continues(
    empty_db: str, history: scripted.Scripted, tmp_path: Path
) -> None:
    repo = str(history.repo.path)
    args = ["backfill", "--repo", repo, "--db", empty_db, "--name", NAME, "--go", _slow_go(tmp_path)]
    # a terminal's Ctrl-C signals the whole foreground process group: the bot, git and go
    proc = subprocess.Popen(
        cli_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 120
    while len(_lines("".join(seen))) < 2:
        line = proc.stdout.readline()
        assert line and time.monotonic() < deadline, f"backfill ended early: {seen} {proc.stderr.read()}"
        seen.append(line)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted with" in err and "run the same command again to continue" in err
    assert "escape-bot: interrupted" in err
    done = _stored(empty_db)
    assert 2 <= len(done) < 10 and done <= _shas(history, history.first_parent)
    printed = _lines("".join(seen) + out)
    # every printed commit is stored (one may be stored and interrupted before its line)
    assert {sha for sha, _ in printed} <= {sha[:12] for sha in done} and len(done) <= len(printed) + 1
    # the temporary worktree was removed on the way out
    worktrees = history.repo.git("worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 1, worktrees
    again = run_cli(*args[:-2])
    assert again.returncode == 0, again.stderr
    assert f"{10 - len(done)} to build, {len(done)} already stored" in again.stdout
    assert _stored(empty_db) == _shas(history, history.first_parent)


def test_sigterm_stops_cleanly_too(sqlite_db: str, history: scripted.Scripted, tmp_path: Path) -> None:
    # what a cancelled CI job or `kill PID` sends, to the bot alone
    args = ["backfill", "--repo", str(history.repo.path), "--db", sqlite_db, "--go", _slow_go(tmp_path)]
    proc = subprocess.Popen(cli_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("backfill: 10 to build")
    assert _LINE.match(proc.stdout.readline())  # one commit recorded, the next one building
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.splitlines()[-1] == "escape-bot: interrupted (SIGTERM)"
    assert "run the same command again to continue" in err
    worktrees = history.repo.git("worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 1, worktrees


def test_progress_bar_on_a_terminal(sqlite_db: str, history: scripted.Scripted) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        cli_command("backfill", "--repo", str(history.repo.path), "--db", sqlite_db, "--last", "2"),
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
        env={**os.environ, "COLUMNS": "160", "TERM": "xterm"},
    )
    os.close(slave)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, screen.decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode(errors="replace"))
    assert "2/2" in text and "ETA" in text
    assert history.shas["M"][:12] in text and "recorded" in text
    # on a terminal the per-commit lines go above the bar on stderr; stdout keeps the summary
    assert not _lines(out)
    assert "backfill: 2 recorded" in out


@pytest.mark.parametrize("bad", [["--last", "0"], ["--branch", "nope"]])
def test_bad_selection(sqlite_db: str, history: scripted.Scripted, bad: list[str]) -> None:
    proc = run_cli("backfill", "--repo", str(history.repo.path), "--db", sqlite_db, *bad)
    assert proc.returncode in (2, 3)
    assert proc.stderr.strip()
    assert not _stored(sqlite_db)
