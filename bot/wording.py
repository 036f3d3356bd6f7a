"""Counted words for messages: `1 commit`, `22 commits`, never `commit(s)` nor `1 lines`."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n` and `word`, in the plural unless n is 1 (`many` for irregular ones: 'were' for 'was')."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"
