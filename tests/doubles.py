"""Test doubles for the adapters the use cases take, checked by mypy against the same Protocols as
the real ones (pyproject's [tool.mypy] files include this module)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

from bot.commit import CommitInfo
from bot.gc.model import BlockKey, Escape, Snapshot, Toolchain
from bot.ports import SnapshotStore, StoredPair


class MemoryStore:
    """Records snapshots (and failures) once per (repository, sha, toolchain), like the real store
    (bot/store/repo.py, tested on SQLite and PostgreSQL in tests/store)."""

    def __init__(self) -> None:
        self.snapshots: dict[tuple[str, str, str], tuple[CommitInfo, Snapshot]] = {}
        self.failures: dict[tuple[str, str, str], str] = {}

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        found = self.snapshots.get((repository, sha, toolchain_key))
        return found[1] if found else None

    def find_pair(
        self, repository: str, base_sha: str, head_sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> StoredPair | None:
        """Not split: the use cases then load each side with `find_snapshot` (the real store's
        split is tested on SQLite and PostgreSQL in tests/store/test_pair.py)."""
        return None

    def pair_with_base(
        self, repository: str, base_sha: str, toolchain_key: str, head: Snapshot, renames: Mapping[str, str]
    ) -> StoredPair | None:
        """Not split either (tested on SQLite and PostgreSQL in tests/store/test_pair.py)."""
        return None

    def stored_blocks(
        self, repository: str, sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> list[tuple[BlockKey, tuple[Escape, ...]]]:
        """The snapshot's blocks with its records, whole (the real store reads them without their
        explanations: tests/store/test_blocks.py)."""
        found = self.snapshots.get((repository, sha, toolchain_key))
        if found is None:
            return []
        snapshot = found[1]
        skip = set(renames) | set(renames.values())
        blocks = []
        for block in snapshot.blocks:
            records = tuple(e for e in snapshot.escapes if e.package == block.package)
            if not any(e.file in skip for e in records):
                blocks.append((block, records))
        return blocks

    def snapshot_status(self, repository: str, sha: str, toolchain_key: str) -> str | None:
        key = (repository, sha, toolchain_key)
        return "ok" if key in self.snapshots else "failed" if key in self.failures else None

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        key = (repository, commit.sha, snapshot.toolchain.key)
        if key in self.snapshots or key in self.failures:
            return False
        self.snapshots[key] = (commit, snapshot)
        return True

    def record_failure(self, repository: str, commit: CommitInfo, toolchain: Toolchain, error: str) -> bool:
        key = (repository, commit.sha, toolchain.key)
        if key in self.snapshots or key in self.failures:
            return False
        self.failures[key] = error
        return True

    def writing_in_child(self, shared: Sequence[object]) -> AbstractContextManager[bool]:
        """Never: the records live in this process's memory."""
        return nullcontext(False)

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        """A snapshot of `sha` by another Go version with the same platform, tags and flags."""
        suffix = toolchain.key.removeprefix(toolchain.go_version)
        keys = [k for r, s, k in self.snapshots if (r, s) == (repository, sha) and k != toolchain.key]
        return next((k for k in keys if k.endswith(suffix)), None)


def as_store(store: MemoryStore) -> SnapshotStore:
    """Where mypy checks the double against the contract (a missing or changed method fails it)."""
    return store
