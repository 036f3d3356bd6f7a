"""Read-only SQLite databases (docs/storage.md, "Read-only databases"): the reading commands read
them without changing a byte, the recording ones say "read-only" in one line.

CI runs as root, whom no file permission stops, so the main cases do not depend on permissions:
`?mode=ro` on the URL, and the reading commands, which always open read-only. A truly read-only
directory is made with a read-only bind mount in a private mount namespace (`unshare`), which
works for root too; the chmod case runs only for other users.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.db import current, upgrade
from tests.conftest import GitRepo, go_mod
from tests.store.factories import REPOSITORY, make_commit, make_snapshot, sha_for

OLD_REVISION = "0001"


def run(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _recorded(directory: Path) -> Path:
    """A SQLite file with two commits of REPOSITORY, in rollback-journal mode (so that a switch to
    WAL would show) and with no -wal/-shm file beside it."""
    path = directory / "escapes.db"
    with Store.open(f"sqlite:///{path}") as store:
        for index in range(2):
            sha = sha_for(index)
            parents = (sha_for(index - 1),) if index else ()
            store.record_snapshot(
                REPOSITORY,
                make_commit(sha, parents=parents, index=index),
                make_snapshot(3, 4, index, sha=sha),
            )
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    return path


def _state(directory: Path) -> dict[str, str]:
    """Every file of the directory and a digest of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _journal_mode(path: Path) -> str:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        connection.close()


READS = [
    ("trend", "--name", REPOSITORY),
    ("top", "--name", REPOSITORY),
    ("blame", "--name", REPOSITORY),
]


@pytest.mark.parametrize("args", READS, ids=[a[0] for a in READS])
def test_reading_commands_change_nothing(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = _recorded(tmp_path / "db")
    before = _state(path.parent)
    # --repo: not a git repository, so the database alone is read (by branch and time)
    proc = run(*args, "--repo", str(tmp_path), "--db", f"sqlite:///{path}", "--branch", "main")
    assert proc.returncode == 0, proc.stderr
    assert sha_for(1)[:12] in proc.stdout
    assert _state(path.parent) == before  # not a byte written, no -wal nor -shm left
    assert _journal_mode(path) == "delete"


def test_mode_ro_refuses_a_write_in_one_line(tmp_path: Path, repo: GitRepo) -> None:
    path = _recorded(tmp_path / "db")
    before = _state(path.parent)
    repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "one")
    proc = run("collect", "--record", "--repo", str(repo.path), "--db", f"sqlite:///{path}?mode=ro")
    assert proc.returncode == 3
    assert proc.stderr.splitlines() == [
        f"escape-bot: error: database sqlite:///{path}?mode=ro is read-only (opened with ?mode=ro): "
        "this command records into it"
    ]
    assert _state(path.parent) == before


def test_a_read_never_migrates_nor_creates(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    upgrade(f"sqlite:///{old}", OLD_REVISION)
    proc = run("trend", "--repo", str(tmp_path), "--db", f"sqlite:///{old}", "--name", REPOSITORY)
    assert proc.returncode == 3
    assert f"is at revision {OLD_REVISION}" in proc.stderr
    assert f"run `escape-bot db upgrade --db sqlite:///{old}`" in proc.stderr
    assert current(f"sqlite:///{old}") == OLD_REVISION
    missing = tmp_path / "none" / "escapes.db"
    proc = run("top", "--repo", str(tmp_path), "--db", f"sqlite:///{missing}", "--name", REPOSITORY)
    assert proc.returncode == 3 and "does not exist" in proc.stderr
    assert not missing.parent.exists()


def _read_only_mount(directory: Path) -> tuple[str, ...] | None:
    """A command prefix that runs the rest with `directory` bind-mounted read-only over itself, in
    a mount namespace of its own (so nothing outlives the command); None where that is refused."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    user = () if os.geteuid() == 0 else ("--map-root-user",)
    prefix = (
        unshare,
        *user,
        "--mount",
        "sh",
        "-c",
        'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"',
        str(directory),
    )
    probe = subprocess.run([*prefix, "touch", str(directory / "probe")], capture_output=True, check=False)
    if probe.returncode == 0 or b"Read-only file system" not in probe.stderr:
        (directory / "probe").unlink(missing_ok=True)
        return None
    return prefix


def test_a_read_only_directory(tmp_path: Path, repo: GitRepo) -> None:
    path = _recorded(tmp_path / "db")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")  # as escape-bot leaves it: -shm could not be made
    connection.close()
    before = _state(path.parent)
    prefix = _read_only_mount(path.parent)
    if prefix is None:
        pytest.skip("no read-only bind mount here (unshare --mount refused)")
    url = f"sqlite:///{path}"
    trend = run("trend", "--repo", str(tmp_path), "--db", url, "--name", REPOSITORY, prefix=prefix)
    assert trend.returncode == 0, trend.stderr
    assert sha_for(1)[:12] in trend.stdout
    repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "one")
    record = run("collect", "--record", "--repo", str(repo.path), "--db", url, prefix=prefix)
    assert record.returncode == 3
    assert record.stderr.splitlines() == [
        f"escape-bot: error: database {url} is read-only (the file or its directory is not writable): "
        "this command records into it"
    ]
    assert _state(path.parent) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the permissions say")
def test_a_directory_without_write_permission(tmp_path: Path) -> None:
    path = _recorded(tmp_path / "db")
    before = _state(path.parent)
    path.parent.chmod(0o555)
    try:
        proc = run("top", "--repo", str(tmp_path), "--db", f"sqlite:///{path}", "--name", REPOSITORY)
    finally:
        path.parent.chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    assert _state(path.parent) == before


def test_diff_reads_a_read_only_database_and_records_nothing(tmp_path: Path, repo: GitRepo) -> None:
    base = repo.commit(
        {"go.mod": go_mod(), "p/p.go": "package p\n\nfunc New() *int { return new(int) }\n"}, "one"
    )
    repo.commit({"p/q.go": "package p\n\nfunc Q() *int { x := 1; return &x }\n"}, "two")
    path = tmp_path / "db" / "escapes.db"
    record = run("collect", "--record", "--rev", base, "--repo", str(repo.path), "--db", f"sqlite:///{path}")
    assert record.returncode == 0, record.stderr
    before = _state(path.parent)["escapes.db"]
    url = f"sqlite:///{path}?mode=ro"
    proc = run("diff", "--base", base, "--repo", str(repo.path), "--db", url)
    assert proc.returncode == 0, proc.stderr
    assert f"base {base[:12]}: taken from the store" in proc.stdout
    assert "1 new heap escape, 0 fixed" in proc.stdout
    warning = f"escape-bot: warning: sqlite:///{path} is read-only: nothing built is recorded"
    assert proc.stderr.splitlines() == [warning]
    # the database file is as it was (in a writable directory SQLite may leave the empty -wal and
    # the -shm that a read of a WAL database needs beside it)
    assert _state(path.parent)["escapes.db"] == before
