"""Several processes at once, and a process killed mid-ingest, on both backends."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from bot.store import Store
from bot.store.content import canonical_order, split_escapes

from .dbutil import TABLES, row_counts
from .factories import REPOSITORY, TOOLCHAIN, make_commit, sha_for, shared_base_snapshot

WORKER = Path(__file__).with_name("worker.py")

TIMEOUT = 120


def spawn(url: str, sha: str, edit: int, *flags: str) -> subprocess.Popen[str]:
    """Start a worker process."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, sha, str(edit), *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(process: subprocess.Popen[str], timeout: float = TIMEOUT) -> str:
    """The worker's next line of output; fails if it exits or is silent for too long."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the worker said nothing in time"
    line = process.stdout.readline()
    assert line, f"the worker exited: {process.wait()} {process.stderr.read() if process.stderr else ''}"
    return line.strip()


def test_four_writers_at_once_into_a_new_database(db_url: str) -> None:
    # Three commits, one of them written by two processes; the database is empty, so the
    # processes also race to create the schema.
    jobs = [(sha_for("w1"), 1), (sha_for("w2"), 2), (sha_for("w3"), 3), (sha_for("w3"), 3)]
    processes = [spawn(db_url, sha, edit, "--wait-for-go") for sha, edit in jobs]
    try:
        for process in processes:
            assert read_line(process) == "ready"
        for process in processes:  # go, all together
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=TIMEOUT) for process in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait()
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert err == ""
    stored = [out.split()[-1] for out, _ in outputs]
    assert stored[:2] == ["True", "True"]
    assert sorted(stored[2:]) == ["False", "True"]  # the same commit: stored once

    snapshots = [shared_base_snapshot(sha, edit) for sha, edit in jobs[:3]]
    with Store.open(db_url) as store:
        assert store.stored_commits(REPOSITORY) == {s.commit for s in snapshots}
        for snapshot in snapshots:
            found = store.find_snapshot(REPOSITORY, snapshot.commit, TOOLCHAIN.key)
            assert found == replace(snapshot, escapes=canonical_order(snapshot.escapes))
    # No duplicate: exactly one row per distinct content, shared by all snapshots.
    packages = {p.digest: p for s in snapshots for p in split_escapes(s.escapes)}
    files = {f.digest: f for p in packages.values() for f in p.files}
    counts = row_counts(db_url)
    assert counts["snapshot"] == counts["git_commit"] == 3
    assert counts["package_result"] == len(packages)
    assert counts["file_result"] == len(files)
    assert counts["escape_site"] == sum(len(f.rows) for f in files.values())
    assert counts["snapshot_package"] == 3 * 40


def test_kill_inside_the_transaction_leaves_nothing(db_url: str) -> None:
    Store.open(db_url).close()  # the schema exists: the kill must land in the ingest
    sha = sha_for("killed")
    process = spawn(db_url, sha, -1, "--hang-in-transaction")
    try:
        assert read_line(process) == "inside the transaction"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=TIMEOUT) == -signal.SIGKILL
    finally:
        process.kill()
        process.communicate()

    counts = row_counts(db_url)
    assert counts["repository"] == 1  # its own small transaction, committed before the ingest
    assert {table: counts[table] for table in TABLES[1:]} == dict.fromkeys(TABLES[1:], 0)

    # a re-run completes it
    snapshot = shared_base_snapshot(sha, -1)
    with Store.open(db_url) as store:
        assert store.record_snapshot(REPOSITORY, make_commit(sha), snapshot)
        found = store.find_snapshot(REPOSITORY, sha, TOOLCHAIN.key)
    assert found == replace(snapshot, escapes=canonical_order(snapshot.escapes))
    assert row_counts(db_url)["escape_site"] == len(snapshot.escapes)
