"""`--shard K/N`: which packages one of N CI jobs builds (pure; docs/ci.md, "Sharding").

A package belongs to shard `1 + sha256(import path) mod N`. The import path is the same at base
and head and in every run, so a package is compared with itself in one shard; no shard needs to
know what the others build. (Python's `hash()` is salted per process: never used here.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.errors import UsageError
from bot.gc.model import Escape

MAX_SHARDS = 256  # a CI matrix larger than this is not a matrix any more

_SPEC = re.compile(r"(\d{1,3})/(\d{1,3})")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, import_path: str) -> bool:
        """True when the package `import_path` is built by this shard."""
        return shard_of(import_path, self.count) == self.index


def parse_shard(text: str, option: str = "--shard") -> Shard:
    """`K/N` with 1 ≤ K ≤ N ≤ MAX_SHARDS; UsageError naming the option otherwise."""
    m = _SPEC.fullmatch(text.strip())
    if m is None:
        raise UsageError(f"{option} {text!r}: expected K/N, e.g. 2/4 (shard 2 of 4)")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"{option} {text!r}: N must be between 1 and {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise UsageError(f"{option} {text!r}: K must be between 1 and N ({count})")
    return Shard(index, count)


def shard_of(import_path: str, count: int) -> int:
    """The shard (1-based) that builds package `import_path` when there are `count` shards."""
    digest = hashlib.sha256(import_path.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def base_package(package: str) -> str:
    """`p [p.test]`, `p_test` and `p.test` are compiled for package `p`."""
    name = package.split(" [", 1)[0]
    return name.removesuffix("_test").removesuffix(".test")


def own_escapes(escapes: Iterable[Escape], packages: Iterable[str]) -> Iterator[Escape]:
    """Escapes of the shard's own packages only. `-gcflags=-m=2` applies to the packages named on
    the command line, not to the dependencies go compiles for them; this holds the shard to that
    should a flag or a toolchain ever widen it, so that no escape is reported by two shards."""
    own = set(packages)
    return (e for e in escapes if e.package in own or base_package(e.package) in own)
