"""Where a line of the built commit is in the commit a check run is attached to.

On `pull_request` escape-bot builds `GITHUB_SHA`, the test merge commit, but the check run goes on
`pull_request.head.sha`, and GitHub places annotations by the lines of that commit. When the base
branch changed a file above a line, the two differ. `git diff -U0 BUILT TARGET` gives the hunks:
a line outside every hunk moves by what the hunks above it added or removed; a line inside a
hunk was changed by the base (it is not in the target as it is): it has no position there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.errors import GitError
from bot.git import run_git
from bot.patch import QUOTE_PATH_OFF, read_diff

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
    """The hunks of each file of `git diff -U0 --no-renames` output (files as in the built commit,
    unquoted by bot.patch). A file the target deleted gets one hunk covering every line: none of
    them maps."""
    found: dict[str, tuple[Hunk, ...]] = {}
    for file in read_diff(diff):
        if file.source is None:  # added in the target: no built line is in it
            continue
        if file.target is None:
            found[file.source] = (Hunk(1, _EVERY_LINE, 0, 0),)
            continue
        found[file.source] = tuple(
            Hunk(h.source_start, h.source_length, h.target_start, h.target_length) for h in file.patched
        )
    return found


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
    proc = run_git(
        repo, *QUOTE_PATH_OFF, "diff", "-U0", "--no-renames", "--no-color", built, target, "--", *names
    )
    if proc.returncode != 0:
        raise GitError(f"cannot compare {built[:12]} with {target[:12]}: {proc.stderr.strip()}")
    return parse_hunks(proc.stdout)


def locate(where: Positions, file: str, line: int) -> int | None:
    """The position of `file:line` in the target (unchanged when the file did not change)."""
    hunks = where.get(file)
    return line if hunks is None else map_line(hunks, line)
