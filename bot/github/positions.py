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
    """The hunks of each file of `git diff -U0 --no-renames` output (files as in the built commit;
    unidiff reads git's quoting of unusual names). A file the target deleted gets one hunk
    covering every line: none of them maps."""
    from unidiff.patch import PatchSet

    found: dict[str, tuple[Hunk, ...]] = {}
    for patched in PatchSet(diff):
        if patched.is_added_file:
            continue
        name = unquote(patched.source_file).removeprefix("a/")
        if patched.is_removed_file:
            found[name] = (Hunk(1, _EVERY_LINE, 0, 0),)
            continue
        found[name] = tuple(
            Hunk(h.source_start, h.source_length, h.target_start, h.target_length) for h in patched
        )
    return found


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(name: str) -> str:
    """A file name as git prints it: C-quoted (`"a/\\317\\200 x.go"`) when it holds a quote, a
    backslash, a control or (with core.quotePath) a non-ASCII character; else as is."""
    if not (len(name) >= 2 and name[0] == name[-1] == '"'):
        return name
    out = bytearray()
    body, i = name[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            octal = body[i + 1 : i + 4]
            if len(octal) == 3 and all(c in "01234567" for c in octal):
                out.append(int(octal, 8))
                i += 4
                continue
            out.append(_ESCAPES.get(body[i + 1], ord("?")))
            i += 2
            continue
        out += ch.encode("utf-8")
        i += 1
    return out.decode("utf-8", errors="replace")


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
