"""The store as a pull request or merge group uses it: failures kept and reported, never fatal."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from types import TracebackType
from typing import TypeVar

from bot.commit import CommitInfo
from bot.errors import StoreError
from bot.gc.model import BlockKey, Escape, Snapshot, Toolchain
from bot.ports import SnapshotStore, StoredPair

T = TypeVar("T")


class TolerantStore:
    """The store as a pull request or merge group uses it: a cache of snapshots whose failures
    (unreachable, read-only) never stop the result; they are kept and reported afterwards."""

    def __init__(self, inner: SnapshotStore) -> None:
        self.inner = inner
        self.errors: list[str] = []

    def _kept(self, call: Callable[[], T], instead: T) -> T:
        """`call()`, or `instead` when it fails with a StoreError, whose message is kept."""
        try:
            return call()
        except StoreError as exc:
            self.errors.append(exc.message)
            return instead

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        # None: built instead
        return self._kept(lambda: self.inner.find_snapshot(repository, sha, toolchain_key), None)

    def find_pair(
        self, repository: str, base_sha: str, head_sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> StoredPair | None:
        # None: each side found or built instead
        return self._kept(
            lambda: self.inner.find_pair(repository, base_sha, head_sha, toolchain_key, renames), None
        )

    def pair_with_base(
        self, repository: str, base_sha: str, toolchain_key: str, head: Snapshot, renames: Mapping[str, str]
    ) -> StoredPair | None:
        # None: the base found or built instead
        return self._kept(
            lambda: self.inner.pair_with_base(repository, base_sha, toolchain_key, head, renames), None
        )

    def stored_blocks(
        self, repository: str, sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> list[tuple[BlockKey, tuple[Escape, ...]]]:
        # nothing: head's packages are parsed instead
        return self._kept(lambda: self.inner.stored_blocks(repository, sha, toolchain_key, renames), [])

    def snapshot_status(self, repository: str, sha: str, toolchain_key: str) -> str | None:
        return self._kept(lambda: self.inner.snapshot_status(repository, sha, toolchain_key), None)

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        return self._kept(lambda: self.inner.record_snapshot(repository, commit, snapshot), False)

    def record_failure(self, repository: str, commit: CommitInfo, toolchain: Toolchain, error: str) -> bool:
        return self._kept(lambda: self.inner.record_failure(repository, commit, toolchain, error), False)

    def writing_in_child(self, shared: Sequence[object]) -> AbstractContextManager[bool]:
        """The inner store's: its errors come back to `record_snapshot` here, and are kept."""
        return self.inner.writing_in_child(shared)

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        return self._kept(lambda: self.inner.other_toolchain_key(repository, sha, toolchain), None)


class UnavailableStore:
    """A store that could not be opened: nothing is found, and recording a snapshot fails with the
    reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        return None

    def find_pair(
        self, repository: str, base_sha: str, head_sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> StoredPair | None:
        return None

    def pair_with_base(
        self, repository: str, base_sha: str, toolchain_key: str, head: Snapshot, renames: Mapping[str, str]
    ) -> StoredPair | None:
        return None

    def stored_blocks(
        self, repository: str, sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> list[tuple[BlockKey, tuple[Escape, ...]]]:
        return []

    def snapshot_status(self, repository: str, sha: str, toolchain_key: str) -> str | None:
        return None

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        raise StoreError(self.reason)

    def record_failure(self, repository: str, commit: CommitInfo, toolchain: Toolchain, error: str) -> bool:
        """Nothing recorded, and no error: the build's failure is the error the job reports."""
        return False

    def writing_in_child(self, shared: Sequence[object]) -> AbstractContextManager[bool]:
        return nullcontext(False)

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        return None


class _Forwarding:
    """Every store method passed on to `_store()`, the wrapped store; a subclass says what that is
    and replaces the methods it changes."""

    def _store(self) -> SnapshotStore:
        raise NotImplementedError

    def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
        return self._store().find_snapshot(repository, sha, toolchain_key)

    def find_pair(
        self, repository: str, base_sha: str, head_sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> StoredPair | None:
        return self._store().find_pair(repository, base_sha, head_sha, toolchain_key, renames)

    def pair_with_base(
        self, repository: str, base_sha: str, toolchain_key: str, head: Snapshot, renames: Mapping[str, str]
    ) -> StoredPair | None:
        return self._store().pair_with_base(repository, base_sha, toolchain_key, head, renames)

    def stored_blocks(
        self, repository: str, sha: str, toolchain_key: str, renames: Mapping[str, str]
    ) -> list[tuple[BlockKey, tuple[Escape, ...]]]:
        return self._store().stored_blocks(repository, sha, toolchain_key, renames)

    def snapshot_status(self, repository: str, sha: str, toolchain_key: str) -> str | None:
        return self._store().snapshot_status(repository, sha, toolchain_key)

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        return self._store().record_snapshot(repository, commit, snapshot)

    def record_failure(self, repository: str, commit: CommitInfo, toolchain: Toolchain, error: str) -> bool:
        return self._store().record_failure(repository, commit, toolchain, error)

    def writing_in_child(self, shared: Sequence[object]) -> AbstractContextManager[bool]:
        return self._store().writing_in_child(shared)

    def other_toolchain_key(self, repository: str, sha: str, toolchain: Toolchain) -> str | None:
        return self._store().other_toolchain_key(repository, sha, toolchain)


class NotRecording(_Forwarding):
    """A store read but never written: `diff` on a read-only database takes the snapshots it holds
    and records nothing of what it builds."""

    def __init__(self, inner: SnapshotStore) -> None:
        self.inner = inner

    def _store(self) -> SnapshotStore:
        return self.inner

    def record_snapshot(self, repository: str, commit: CommitInfo, snapshot: Snapshot) -> bool:
        return False

    def record_failure(self, repository: str, commit: CommitInfo, toolchain: Toolchain, error: str) -> bool:
        return False

    def writing_in_child(self, shared: Sequence[object]) -> AbstractContextManager[bool]:
        return nullcontext(False)  # nothing is written


class LazyStore(_Forwarding):
    """A store opened at its first use, not before: on a pull request's first run, head's go
    starts before it (bot/gc/run.py, `building_early`), so that the SQLAlchemy import and the
    lookups overlap the build instead of delaying it. A store that cannot be opened is an
    UnavailableStore with the reason, as when `ci` opened it first. Closed on leaving."""

    def __init__(self, opener: Callable[[], AbstractContextManager[SnapshotStore]]) -> None:
        self._opener = opener
        self._inner: SnapshotStore | None = None
        self._stack = ExitStack()

    def __enter__(self) -> LazyStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def _store(self) -> SnapshotStore:
        """The store, opened now if it was not yet."""
        if self._inner is None:
            try:
                self._inner = self._stack.enter_context(self._opener())
            except StoreError as exc:
                # the result does not depend on the store: report and publish it first, then
                # say the snapshot could not be recorded
                self._inner = UnavailableStore(exc.message)
        return self._inner
