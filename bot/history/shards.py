"""Toolchain keys of sharded history (pure; docs/ci.md, "Sharding").

`--shard K/N` puts `shard=K/N` last in the key's flags (bot/gc/run.py), so each shard's snapshots
have a key of their own. The N keys that differ only in K are one *family*: together they are
the whole repository. A family is written with `*` for K (`shard=*/4`), which `--toolchain`
accepts and trend and top print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# `shard=` is the last flag, right before the records version that ends every key
_SHARD_KEY = re.compile(
    r"(?P<head>.*(?:/flags=| ))shard=(?P<index>\d{1,3}|\*)/(?P<count>\d{1,3})(?P<tail>/records=\d+)"
)


@dataclass(frozen=True, slots=True)
class ShardKey:
    """A toolchain key with `shard=K/N` (`index` K) or `shard=*/N` (`index` None: the family)."""

    head: str  # the key up to `shard=`
    index: int | None
    count: int
    tail: str  # `/records=N`

    def member(self, index: int) -> str:
        """The key of shard `index` of the family."""
        return f"{self.head}shard={index}/{self.count}{self.tail}"

    @property
    def members(self) -> tuple[str, ...]:
        """The keys of shards 1..N, in order."""
        return tuple(self.member(k) for k in range(1, self.count + 1))

    @property
    def family(self) -> str:
        """The family's key: `shard=*/N`."""
        return f"{self.head}shard=*/{self.count}{self.tail}"


def shard_key(key: str) -> ShardKey | None:
    """The shard (or family) a toolchain key names; None for a key of unsharded snapshots."""
    m = _SHARD_KEY.fullmatch(key)
    if m is None:
        return None
    count = int(m.group("count"))
    index = None if m.group("index") == "*" else int(m.group("index"))
    if count < 1 or (index is not None and not 1 <= index <= count):
        return None
    return ShardKey(m.group("head"), index, count, m.group("tail"))


INCOMPLETE = "incomplete: "  # the reason of a commit with a shard missing starts so


def missing_text(missing: tuple[int, ...], count: int) -> str:
    """`incomplete: shard 2/4 not stored`, `incomplete: shards 2/4, 3/4 not stored`."""
    names = ", ".join(f"{k}/{count}" for k in missing)
    return f"{INCOMPLETE}shard{'s' if len(missing) > 1 else ''} {names} not stored"
