"""A stop signal in the middle of `diff` (real git, real go): every worktree, temporary directory
and go process is gone afterwards, one line says why, and the exit code is 128 + the signal.

The build runs with an empty GOCACHE, so that go compiles the standard library first and is
still running when the signal arrives; the test waits for what it needs (a registered worktree,
a running go) by polling, never for a fixed time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GitRepo, go_mod

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="reads processes from /proc")

DEADLINE = 120.0  # seconds; only ever reached when something is broken

# net/http: from an empty build cache, seconds of compiling the standard library
SOURCE = """package p

import _ "net/http"

type T struct{ v [4]int }

func New() *T { return &T{} }
"""


def _processes_in(directory: Path) -> dict[int, list[str]]:
    """Running processes whose working directory is under `directory`: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if cwd.startswith(str(directory) + "/"):
            found[int(entry.name)] = argv
    return found


def _go_building(directory: Path) -> bool:
    """`go build` runs in the worktree, and has started a compiler."""
    argvs = _processes_in(directory).values()
    return any(Path(a[0]).name == "go" and "build" in a for a in argvs) and any(
        Path(a[0]).name == "compile" for a in argvs
    )


def _worktrees(repo: GitRepo) -> int:
    return repo.git("worktree", "list", "--porcelain").count("worktree ")


def _worktree_registered(repo: GitRepo) -> bool:
    """`git worktree list` names a second worktree (while `worktree add` writes the registration,
    git itself may fail to read it: not yet)."""
    proc = subprocess.run(
        ["git", "-C", str(repo.path), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0 and proc.stdout.count("worktree ") == 2


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert proc.poll() is None, f"diff ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} after {DEADLINE} s"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("sig", "moment"),
    [(signal.SIGTERM, "go build"), (signal.SIGHUP, "worktree"), (signal.SIGINT, "go build")],
)
def test_a_stop_signal_mid_diff_cleans_up(
    repo: GitRepo, tmp_path: Path, sig: signal.Signals, moment: str
) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": SOURCE}, "base")
    repo.commit({"p/q.go": "package p\n\nfunc Q() any { return New() }\n"}, "head")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "GOCACHE": str(tmp_path / "gocache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "diff", "--repo", str(repo.path), "--base", "HEAD~1", "--no-store"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # nothing the test sends reaches pytest
    )
    if moment == "worktree":
        _wait_for(lambda: _worktree_registered(repo), proc, "temporary worktree")
    else:
        _wait_for(lambda: _go_building(temp), proc, "go build in the worktree")
    # what a CI runner's cancel or `kill` does: the signal to the bot alone, not to its children
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=DEADLINE)

    assert proc.returncode == 128 + sig, err
    assert err.splitlines() == [f"escape-bot: interrupted ({sig.name})"]
    assert _worktrees(repo) == 1
    assert repo.git("worktree", "prune", "--dry-run", "--verbose") == ""
    assert _processes_in(temp) == {}  # go and the compilers it started were stopped
    assert sorted(p.name for p in temp.iterdir()) == []  # worktree, go's $WORK, stderr file
