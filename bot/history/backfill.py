"""Backfill: record every first-parent commit the store does not have yet, oldest first.

Each commit is built in its own temporary worktree (bot.app.build_snapshot); the Go build cache
is shared and `-trimpath` makes the compiler's output independent of the checkout directory,
so a commit recompiles only the packages it changed (and their dependants) and the compiler
replays the diagnostics of the others from the cache; the parser then takes those packages'
records from the previous commit's (bot/gc/reuse.py) instead of reading them again, and the
store their digests.

Resumable by construction: every commit is one transaction, and a run first asks the store
which commits it has for this toolchain key. A commit that does not build is recorded as
failed (with the compiler's error) and the run goes on; a re-run skips it unless asked to retry.
Ctrl-C stops at once: the worktree is removed on the way out and what was recorded stays.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from bot import app
from bot.commit import CommitInfo
from bot.errors import BotError, BuildError, GitError, ParseError, ToolchainError
from bot.gc.model import Toolchain
from bot.gc.reuse import BlockCache
from bot.gc.run import BuildOptions, toolchain
from bot.history import gitlog
from bot.store import Store

Status = Literal["recorded", "failed", "error", "stored"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a backfill will do."""

    revisions: str  # the branch, or the range given
    commits: tuple[CommitInfo, ...]  # the selected first-parent commits, oldest first
    todo: tuple[CommitInfo, ...]  # those not stored yet
    toolchain: Toolchain

    @property
    def already_stored(self) -> int:
        """Selected commits that the store has (results, or a recorded failure)."""
        return len(self.commits) - len(self.todo)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one commit.

    recorded: results stored; failed: the build failed, recorded as failed; error: not
    recorded (git or an unexpected error), a re-run tries again; stored: another writer stored
    it meanwhile.
    """

    commit: CommitInfo
    status: Status
    heap_escapes: int
    seconds: float
    message: str = ""


class Listener(Protocol):
    """Progress of a run (a rich progress bar, plain lines, or nothing)."""

    def building(self, index: int, commit: CommitInfo) -> None:
        """Commit number `index` (from 0) of the plan's `todo` starts building."""

    def package(self, name: str) -> None:
        """The compiler's output for package `name` is being read."""

    def finished(self, index: int, outcome: Outcome) -> None:
        """Commit number `index` is done."""


def plan(
    root: Path,
    store: Store,
    repository: str,
    options: BuildOptions,
    *,
    revisions: str,
    branch: str | None,
    since: datetime | None = None,
    last: int | None = None,
    retry_failed: bool = False,
) -> Plan:
    """Select the commits and find those to build (the toolchain key comes from `go env`)."""
    commits = gitlog.first_parent_commits(root, revisions, branch=branch, since=since, last=last)
    tc = toolchain(options, root)
    stored = store.stored_commits(repository, tc.key, include_failed=not retry_failed)
    todo = tuple(c for c in commits if c.sha not in stored)
    return Plan(revisions, tuple(commits), todo, tc)


_COMMIT_FAILURES = (BuildError, ParseError, ToolchainError)
"""What a commit's own content causes (it does not compile, has no go.mod, asks for a newer Go
than the toolchain key's): recorded as failed. `plan` checked the toolchain itself already."""


def _failure_text(exc: BotError) -> str:
    return f"{exc.message}\n{exc.details}".strip()


def build_one(
    root: Path,
    store: Store,
    repository: str,
    commit: CommitInfo,
    options: BuildOptions,
    tc: Toolchain,
    on_package: Callable[[str], None],
    cache: BlockCache | None = None,
) -> Outcome:
    """Build and record one commit; a build failure is recorded, never raised. `cache` holds the
    previous commit's package blocks: the packages this commit did not change are taken from it
    instead of parsed (bot/gc/reuse.py), and it is left holding this commit's."""
    started = time.monotonic()
    cache = cache if cache is not None else BlockCache()
    try:
        # with a cache, the snapshot also names its blocks (stored: a later head reuses them)
        snapshot = app.build_snapshot(root, commit.sha, options, on_package, reuse=cache)
    except _COMMIT_FAILURES as exc:
        store.record_failure(repository, commit, tc, _failure_text(exc))
        return Outcome(commit, "failed", 0, time.monotonic() - started, exc.message)
    except GitError as exc:
        return Outcome(commit, "error", 0, time.monotonic() - started, exc.message)
    # only this commit's blocks are kept: the next commit is compared with this one
    kept = {bytes.fromhex(block.key) for block in snapshot.blocks}
    cache.blocks = {key: block for key, block in cache.blocks.items() if key in kept}
    new = store.record_snapshot(repository, commit, snapshot)
    heap = sum(1 for e in snapshot.escapes if e.kind.allocates)
    # recorded without the modules that did not build: say which, and why
    missing = "; ".join(f"module {f.where} did not build: {f.reason}" for f in snapshot.failed_modules)
    return Outcome(commit, "recorded" if new else "stored", heap, time.monotonic() - started, missing)


def run(
    root: Path,
    store: Store,
    repository: str,
    todo: tuple[CommitInfo, ...],
    options: BuildOptions,
    tc: Toolchain,
    listener: Listener,
) -> Iterator[Outcome]:
    """Build and record `todo` in order, yielding each outcome. A commit's failure never stops the
    run; a StoreError, another BotError or a KeyboardInterrupt does (what was recorded stays)."""
    cache = BlockCache()  # the last commit's package blocks, for the next to take (oldest first)
    for index, commit in enumerate(todo):
        listener.building(index, commit)
        started = time.monotonic()
        try:
            outcome = build_one(root, store, repository, commit, options, tc, listener.package, cache)
        except BotError:
            raise  # the store or the toolchain: every later commit would fail the same way
        except Exception as exc:  # a bug met on this commit: report it, and record the others
            message = f"unexpected {type(exc).__name__}: {exc}"
            outcome = Outcome(commit, "error", 0, time.monotonic() - started, message)
        listener.finished(index, outcome)
        yield outcome
