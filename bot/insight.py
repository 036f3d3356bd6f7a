"""What explains and ranks the new escapes of a comparison (pure).

- `attributions`: the change responsible for each new heap escape (bot/attribution.py);
- `hotness`: what the profiles say of each (bot/profile/hotness.py);
- `toolchain`: when base and head were built by different Go versions, the escapes the compiler
  alone changed, kept apart from the pull request's own effect.

The use case fills it (bot/app.py); JSON, the comment and the gate read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.attribution import Attribution
from bot.diff import DiffResult
from bot.gc.model import Escape
from bot.profile.hotness import Hotness


@dataclass(frozen=True, slots=True)
class ToolchainEffect:
    """Escapes changed by the compiler alone: the base built by its old toolchain and by head's.

    `result` is None when the base could not be built with head's toolchain: then the comparison
    mixes both effects, and `note` says so.
    """

    before: str  # go1.26.6
    after: str  # go1.27.3
    result: DiffResult | None
    note: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Insight:
    """Attribution, hotness and the toolchain's effect; empty when none was asked for."""

    attributions: Mapping[Escape, Attribution] = field(default_factory=dict)
    hotness: Mapping[Escape, Hotness] = field(default_factory=dict)
    toolchain: ToolchainEffect | None = None
    profiles: tuple[str, ...] = ()  # the profiles' names, for "ranked by default.pgo"

    def order(self, escapes: Iterable[Escape]) -> list[Escape]:
        """Hottest first (allocated bytes, then CPU share); the given order otherwise."""
        listed = list(escapes)
        if not self.hotness:
            return listed
        none = Hotness()
        return sorted(listed, key=lambda e: -self.hotness.get(e, none).weight)

    def is_hot(self, escape: Escape, threshold: float) -> bool:
        """True when the escape's function holds at least `threshold` of the CPU samples, or the
        memory profile saw its line allocate."""
        found = self.hotness.get(escape)
        if found is None:
            return False
        return (found.cpu_share or 0.0) >= threshold or bool(found.alloc_bytes)
