"""Modules that did not build, on either side of a comparison (pure).

A module missing on one side must be missing on the other too: otherwise all of its escapes
would read as new (or fixed). So the escapes of every module that failed on either side are
left out of both sides before they are compared, and the module is reported with the side
that failed (docs/usage.md, "Modules that do not build").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.gc.model import Escape, FailedModule, Snapshot


def failed_modules(base: Snapshot, head: Snapshot) -> tuple[FailedModule, ...]:
    """Each module that failed on a side, with the side: base, head or both."""
    at_base = {f.directory: f for f in base.failed_modules}
    at_head = {f.directory: f for f in head.failed_modules}
    out = []
    for directory in sorted(at_base.keys() | at_head.keys()):
        b, h = at_base.get(directory), at_head.get(directory)
        if h is not None:
            out.append(FailedModule(h.module, directory, "both" if b else "head", h.errors))
        elif b is not None:
            out.append(FailedModule(b.module, directory, "base", b.errors))
    return tuple(out)


def module_of(file: str, directories: Sequence[str]) -> str:
    """The directory of the module a repository file belongs to: the deepest that contains it."""
    best = ""
    for d in directories:
        if d and (file == d or file.startswith(d + "/")) and len(d) > len(best):
            best = d
    return best


def without_modules(
    escapes: Iterable[Escape], failed: Iterable[str], directories: Iterable[str]
) -> tuple[Escape, ...]:
    """`escapes` minus those in the failed modules' directories (`directories`: every module's,
    so that a nested module that built keeps its escapes when the one around it failed)."""
    dropped = set(failed)
    if not dropped:
        return tuple(escapes)
    known = sorted(set(directories) | dropped)
    return tuple(e for e in escapes if module_of(e.file, known) not in dropped)
