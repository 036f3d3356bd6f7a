"""Use cases: collect one revision, compare two. Adapters (git, compiler, store) are called here;
the CLI only parses options and prints what these return."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Protocol

from bot import git
from bot.annotations import Annotations, scan
from bot.attribution import Attribution, ChangedLines, attribute
from bot.commit import CommitInfo
from bot.diff import EXCLUDED, Counting, DiffResult, diff
from bot.gc.model import Escape, Snapshot
from bot.gc.parse import module_file_mapper
from bot.gc.run import BuildOptions, collect, find_modules, toolchain

Progress = Callable[[str], None]
"""Receives short status lines ('building base abc1234', a package name)."""


class SnapshotStore(Protocol):
    """What the use cases need from the store (see bot/store/repo.py)."""

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        """A stored snapshot, or None."""

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        """Store a snapshot once; True when it was new."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both sides and what changed."""

    base: Snapshot
    head: Snapshot
    result: DiffResult
    base_source: Literal["built", "store"]
    head_source: Literal["built", "store"]
    renames: dict[str, str]

    @property
    def same_toolchain(self) -> bool:
        """False when a Go upgrade (or other flags) may explain the difference."""
        return self.base.toolchain == self.head.toolchain


def _quiet(_: str) -> None:
    pass


@contextlib.contextmanager
def checkout(repo: Path, sha: str | None) -> Iterator[Path]:
    """The working tree itself (sha None) or a temporary worktree of `sha`."""
    if sha is None:
        yield repo
    else:
        with git.worktree(repo, sha) as path:
            yield path


def build_snapshot(
    repo: Path, rev: str | None, options: BuildOptions, progress: Progress = _quiet
) -> Snapshot:
    """Build one revision (None: the working tree as it is) and return its escapes."""
    sha = git.resolve(repo, rev) if rev is not None else ""
    with checkout(repo, sha or None) as tree:
        progress(f"building {rev or 'working tree'}" + (f" ({sha[:12]})" if sha else ""))
        built = collect(tree, options, on_package=progress)
    return Snapshot(rev or "", sha, built.toolchain, tuple(built.escapes), built.stats)


def repository_name(repo: Path) -> str:
    """The name snapshots are stored under: `owner/name` in Actions, else the directory name."""
    return os.environ.get("GITHUB_REPOSITORY") or repo.name


def snapshot_of(
    repo: Path,
    rev: str,
    options: BuildOptions,
    store: SnapshotStore | None,
    progress: Progress = _quiet,
) -> tuple[Snapshot, Literal["built", "store"]]:
    """A revision's snapshot: from the store when it holds one for this toolchain, else built (and stored)."""
    sha = git.resolve(repo, rev)
    name = repository_name(repo)
    if store is not None:
        key = toolchain(options, repo).key
        stored = store.find_snapshot(name, sha, key)
        if stored is not None:
            progress(f"{rev} ({sha[:12]}) taken from the store")
            return Snapshot(rev, sha, stored.toolchain, stored.escapes, stored.stats), "store"
    snapshot = build_snapshot(repo, rev, options, progress)
    if store is not None:
        store.record_snapshot(name, git.commit_info(repo, sha), snapshot)
    return snapshot, "built"


def annotations_at(repo: Path, sha: str, files: Iterable[str]) -> dict[str, Annotations]:
    """The `//escape-bot:allow` and `//gcassert:noescape` comments of `files` at commit `sha`."""
    found = {}
    for file in sorted(set(files)):
        text = git.file_at(repo, sha, file)
        if text is not None:
            found[file] = scan(text)
    return found


def compare(
    repo: Path,
    base_rev: str,
    head_rev: str,
    options: BuildOptions,
    *,
    store: SnapshotStore | None = None,
    progress: Progress = _quiet,
    keep: Callable[[Escape], bool] | None = None,
    counting: Counting | None = None,
) -> Comparison:
    """Build (or load) base and head and diff them. Both builds share the Go build cache.

    Escapes that `keep` refuses (include/exclude globs) are matched like the others, then
    counted as skipped (`excluded`) instead of listed; snapshots are stored unfiltered.
    `counting` says whether constants and generated files count (`[gate]`).
    """
    root = git.repo_root(repo)
    base_sha = git.resolve(root, base_rev)
    head_sha = git.resolve(root, head_rev)
    base, base_source = snapshot_of(root, base_rev, options, store, progress)
    head, head_source = snapshot_of(root, head_rev, options, store, progress)
    renames = git.renames(root, base_sha, head_sha)
    skip = (lambda e: None if keep(e) else EXCLUDED) if keep is not None else None
    result = diff(base.escapes, head.escapes, renames, skip=skip, counting=counting)
    if keep is not None:  # the sides as reported: only the wanted files
        base = replace(base, escapes=tuple(e for e in base.escapes if keep(e)))
        head = replace(head, escapes=tuple(e for e in head.escapes if keep(e)))
    return Comparison(base, head, result, base_source, head_source, renames)


def attribute_new(root: Path, comparison: Comparison) -> dict[Escape, Attribution]:
    """Why each new heap escape of a comparison appeared (bot/attribution.py): the change's lines
    from git, head's sources, and the compiler's file names mapped to repository paths."""
    base_sha, head_sha = comparison.base.commit, comparison.head.commit
    if not base_sha or not head_sha:
        return {}
    changes = ChangedLines(git.changed_lines(root, base_sha, head_sha))
    modules = {m.path: m.directory for m in find_modules(root)}
    return attribute(
        comparison.result.new,
        comparison.base,
        comparison.head,
        changes,
        source=functools.cache(lambda file: git.file_at(root, head_sha, file)),
        files=module_file_mapper(modules),
    )
