"""The one store contract: what the use cases (bot/app.py, bot/ci/) need from a snapshot store.

bot/store/repo.py's `Store` is the implementation; `bot.ci.stores` wraps it (TolerantStore,
UnavailableStore) and the tests have an in-memory double (tests/doubles.py). mypy checks each
of them against this Protocol where it is passed, so no caller asks `isinstance` or `getattr`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from bot.commit import CommitInfo
from bot.gc.model import BlockKey, Escape, Snapshot, Toolchain


@dataclass(frozen=True, slots=True)
class StoredPair:
    """Two snapshots split by file for a diff that works in proportion to the change
    (`bot.diff.diff`'s `same`). Each side's `escapes` are those of its files whose escapes differ
    from the other side's (or are renamed); `same` are the records of the files identical on both
    sides: head's, read once and without their explanations when head is stored (nothing reports
    an unchanged escape's), as built when it is not."""

    base: Snapshot
    head: Snapshot
    same: tuple[Escape, ...]


class SnapshotStore(Protocol):
    """Snapshots by (repository, commit, toolchain key), each recorded once."""

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        """A stored snapshot (status ok), or None."""

    def find_pair(
        self, repository: str, base_sha: str, head_sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> StoredPair | None:
        """Both snapshots (status ok, every module built), split by file; None when either is not
        stored so, or the store cannot split (the caller then loads each with `find_snapshot`).
        `renames` (base path -> head path) are never counted as identical files."""

    def pair_with_base(
        self, repository: str, base_sha: str, toolchain_key: str, head: Snapshot, renames: Mapping[str, str]
    ) -> StoredPair | None:
        """The stored base (status ok, every module built) and `head`, built and not stored yet,
        split by file as `find_pair` splits two stored snapshots; None when the base is not
        stored so, or the store cannot split."""

    def stored_blocks(
        self, repository: str, sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> list[tuple[BlockKey, tuple[Escape, ...]]]:
        """The parsed blocks of a stored snapshot's packages (bot/gc/reuse.py), each key with its
        package's records (possibly without explanations: a store that reads them so also takes
        them as they are when recording a snapshot that holds them); packages with a file in
        `renames` are left out. Empty when none are stored."""

    def snapshot_status(self, repository: str, sha: str, toolchain_key: str) -> str | None:
        """`'ok'`, `'failed'`, or None when nothing is stored for this commit and toolchain."""

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        """Store a snapshot once; True when it was new."""

    def record_failure(self, repository: str, commit: CommitInfo, toolchain: Toolchain, error: str) -> bool:
        """Remember that the commit could not be analysed; False if anything was stored already."""

    def writing_in_child(self, shared: Sequence[object]) -> AbstractContextManager[bool]:
        """While open, `record_snapshot` may run in another process that shares `shared` (the
        escapes about to be recorded) without copying them; True when it does."""

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        """The key of a snapshot of `sha` stored by another Go version (before an upgrade)."""
