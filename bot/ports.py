"""The one store contract: what the use cases (bot/app.py, bot/ci/) need from a snapshot store.

bot/store/repo.py's `Store` is the implementation; `bot.ci.stores` wraps it (TolerantStore,
UnavailableStore) and the tests have an in-memory double (tests/doubles.py). mypy checks each
of them against this Protocol where it is passed, so no caller asks `isinstance` or `getattr`.
"""

from __future__ import annotations

from typing import Protocol

from bot.commit import CommitInfo
from bot.gc.model import Snapshot, Toolchain


class SnapshotStore(Protocol):
    """Snapshots by (repository, commit, toolchain key), each recorded once."""

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        """A stored snapshot (status ok), or None."""

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        """Store a snapshot once; True when it was new."""

    def record_failure(self, repository: str, commit: CommitInfo, toolchain: Toolchain, error: str) -> bool:
        """Remember that the commit could not be analysed; False if anything was stored already."""

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        """The key of a snapshot of `sha` stored by another Go version (before an upgrade)."""
