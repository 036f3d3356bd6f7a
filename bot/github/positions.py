"""Where a line of the built commit is in the commit a check run is attached to.

On `pull_request` escape-bot builds `GITHUB_SHA`, the test merge commit, but the check run goes on
`pull_request.head.sha`, and GitHub places annotations by the lines of that commit. When the base
branch changed a file above a line, the two differ. `git diff -U0 BUILT TARGET` gives the hunks:
a line outside every hunk moves by what the hunks above it added or removed; a line inside a
hunk was changed by the base (it is not in the target as it is): it has no position there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.errors import GitError
from bot.git import run_git

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_EVERY_LINE = 2**31


@dataclass(frozen=True, slots=True)
class Hunk:
    """`@@ -old_start,old_count +new_start,new_count @@` of a zero-context diff."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int


Positions = Mapping[str, tuple[Hunk, ...]]  # file -> hunks from the built commit to the target


def parse_hunks(diff: str) -> dict[str, tuple[Hunk, ...]]:
    """The hunks of each file of `git diff -U0 --no-renames` output (files as in the built commit).

    A file the target deleted gets one hunk covering every line: none of them maps.
    """
    found: dict[str, list[Hunk]] = {}
    current: str | None = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            name = line[4:]
            current = name[2:] if name.startswith("a/") else None  # /dev/null: a file the target added
            if current is not None:
                found[current] = []
        elif line.startswith("+++ /dev/null") and current is not None:
            found[current] = [Hunk(1, _EVERY_LINE, 0, 0)]
            current = None
        elif current is not None and (m := _HUNK.match(line)):
            old_start, old_count, new_start, new_count = m.groups()
            found[current].append(
                Hunk(
                    int(old_start),
                    1 if old_count is None else int(old_count),
                    int(new_start),
                    1 if new_count is None else int(new_count),
                )
            )
    return {name: tuple(hunks) for name, hunks in found.items()}


def map_line(hunks: Iterable[Hunk], line: int) -> int | None:
    """`line` of the built commit in the target, or None when the target changed that line."""
    shift = 0
    for h in hunks:
        if h.old_count and h.old_start <= line < h.old_start + h.old_count:
            return None
        # a pure insertion sits after line old_start; a replacement or deletion starts at it
        end = h.old_start + h.old_count - 1 if h.old_count else h.old_start
        if end < line:
            shift += h.new_count - h.old_count
    return line + shift


def positions(repo: Path, built: str, target: str, files: Iterable[str]) -> Positions:
    """The hunks from `built` to `target` for `files` (none when the commits are the same)."""
    names = sorted(set(files))
    if built == target or not names:
        return {}
    proc = run_git(repo, "diff", "-U0", "--no-renames", "--no-color", built, target, "--", *names)
    if proc.returncode != 0:
        raise GitError(f"cannot compare {built[:12]} with {target[:12]}: {proc.stderr.strip()}")
    return parse_hunks(proc.stdout)


def locate(where: Positions, file: str, line: int) -> int | None:
    """The position of `file:line` in the target (unchanged when the file did not change)."""
    hunks = where.get(file)
    return line if hunks is None else map_line(hunks, line)
