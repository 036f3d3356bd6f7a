"""The scripted history (built once per session) and databases it was backfilled into.

Query tests only read, so each backend is backfilled once for the whole session; tests that
write (resume, interruption) get an empty database of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.gc.run import BuildOptions, toolchain
from tests.conftest import GitRepo
from tests.store.conftest import database, postgresql_server

from . import scripted

__all__ = ["postgresql_server"]  # the session fixture, for the PostgreSQL databases below

NAME = "acme/service"  # the repository's name in the database (what docs/queries.md's SQL uses)
REMOTE = "git@github.com:acme/service.git"


def cli_command(*args: str) -> list[str]:
    """The argv that runs `escape-bot ARGS` (the one place to change for `python -m bot`)."""
    return [sys.executable, "-m", "bot", *args]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `escape-bot ARGS` as a user does; never raises on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_REPOSITORY", "GITHUB_SERVER_URL")}
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> scripted.Scripted:
    """The scripted repository (tests must not change it)."""
    repo = GitRepo(tmp_path_factory.mktemp("scripted") / "repo")
    built = scripted.build(repo)
    repo.git("remote", "add", "origin", REMOTE)
    return built


@pytest.fixture(scope="session")
def toolchain_key(history: scripted.Scripted) -> str:
    """The key backfill records under (go env of the test toolchain, default flags)."""
    return toolchain(BuildOptions(), history.repo.path).key


@dataclass(frozen=True)
class Backfilled:
    """A database holding the scripted history, and the backfill run that filled it."""

    url: str
    backend: str
    run: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backfilled(
    request: pytest.FixtureRequest, history: scripted.Scripted, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backfilled]:
    """The scripted history backfilled by the CLI, on each backend."""
    with database(request.param, request, tmp_path_factory.mktemp("backfilled")) as url:
        proc = run_cli("backfill", "--repo", str(history.repo.path), "--db", url, "--name", NAME)
        assert proc.returncode == 0, proc.stderr
        yield Backfilled(url, request.param, proc)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database, on each backend."""
    with database(request.param, request, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    """A URL of a new SQLite file."""
    return f"sqlite:///{tmp_path}/escapes.db"
