"""The Go modules of a checkout: found by their go.mod (vendor, testdata and hidden directories
skipped), in workspace mode when a go.work `use`s them, and selected by [build] modules globs."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bot.config import Glob
from bot.errors import BuildError

_MODULE_LINE = re.compile(r'^\s*module\s+"?([^"\s]+)"?', re.MULTILINE)


_SKIP_DIRS = frozenset({"vendor", "testdata", "node_modules"})


@dataclass(frozen=True, slots=True)
class Module:
    """A Go module inside the repository."""

    path: str  # module path from go.mod
    directory: str  # relative to the repository root, '' for the root
    in_workspace: bool = False  # listed by a go.work `use`: built in workspace mode

    @property
    def name(self) -> str:
        """The directory as module globs see it: `.` for the root."""
        return self.directory or "."


_USE_BLOCK = re.compile(r"^\s*use\s*\((.*?)\)", re.MULTILINE | re.DOTALL)


_USE_LINE = re.compile(r"^\s*use\s+(\S+)", re.MULTILINE)


_REPLACE_BLOCK = re.compile(r"^\s*replace\s*\((.*?)\)", re.MULTILINE | re.DOTALL)


_REPLACE_LINE = re.compile(r"^\s*replace\s+([^(\n][^\n]*)$", re.MULTILINE)


def _inside(root: Path, entry: str) -> bool:
    """True when `entry` (relative to root, or absolute) stays inside `root`, symlinks resolved."""
    target = (root / entry).resolve()
    return target == root.resolve() or root.resolve() in target.parents


def workspace_dirs(root: Path) -> set[str] | None:
    """Directories a root `go.work` uses (relative, normalised), or None without one.

    A `use` or a local `replace` that leaves the repository is refused (BuildError): the
    workspace would compile code from outside the checkout.
    """
    work = root / "go.work"
    if not work.is_file():
        return None
    text = re.sub(r"//[^\n]*", "", work.read_text(encoding="utf-8", errors="replace"))
    entries = [e for block in _USE_BLOCK.findall(text) for e in block.split()]
    entries += _USE_LINE.findall(_USE_BLOCK.sub("", text))
    replaces = [line for block in _REPLACE_BLOCK.findall(text) for line in block.splitlines()]
    replaces += _REPLACE_LINE.findall(_REPLACE_BLOCK.sub("", text))
    for line in replaces:
        target = line.partition("=>")[2].split()
        if target and target[0].strip('"').startswith((".", "/")) and not _inside(root, target[0].strip('"')):
            raise BuildError(f"go.work replaces a module with {target[0]}, outside the repository: refused")
    dirs = set()
    for quoted in entries:
        entry = quoted.strip('"')
        if not _inside(root, entry):
            raise BuildError(
                f"go.work uses {entry}, outside the repository: refused (a workspace may only use "
                "directories of the repository)"
            )
        rel = os.path.normpath(entry)
        dirs.add("" if rel == "." else Path(rel).as_posix())
    return dirs


def find_modules(root: Path) -> list[Module]:
    """Every Go module below `root` (each go.mod, skipping vendor/, testdata/ and hidden dirs).

    With a `go.work` at the root, the modules it uses are built in workspace mode (so their
    cross-module `use` resolution holds) and the others with `GOWORK=off`. A go.work anywhere
    else is never used.
    """
    used = workspace_dirs(root) or set()
    found: list[Module] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith((".", "_")))
        if "go.mod" in filenames:
            text = (Path(dirpath) / "go.mod").read_text(encoding="utf-8", errors="replace")
            m = _MODULE_LINE.search(text)
            if m:
                rel = Path(dirpath).relative_to(root).as_posix()
                directory = "" if rel == "." else rel
                found.append(Module(m.group(1), directory, directory in used))
    return found


def _module_matches(pattern: str, module: Module) -> bool:
    """A glob matches a module by its directory (`.` the root; `bench/**` takes `bench` too) or path."""
    glob = Glob(pattern, key="modules")
    return any(glob.match(name) for name in (module.name, module.name + "/", module.path))


def select_modules(modules: list[Module], patterns: tuple[str, ...]) -> list[Module]:
    """The modules `patterns` select: those an include glob matches (every one when there are
    only excludes) and no `!` glob matches. An include glob that matches nothing is an error."""
    includes = [p for p in patterns if not p.startswith("!")]
    excludes = [p[1:] for p in patterns if p.startswith("!")]
    names = ", ".join(m.name for m in modules) or "none"
    for pattern in includes:
        if not any(_module_matches(pattern, m) for m in modules):
            raise BuildError(f"module glob {pattern!r} matches no module of the repository ({names})")
    chosen = [
        m
        for m in modules
        if (not includes or any(_module_matches(p, m) for p in includes))
        and not any(_module_matches(p, m) for p in excludes)
    ]
    if not chosen:
        raise BuildError(f"module globs {list(patterns)} select none of the modules ({names})")
    return chosen
