"""Profiles for ranking escapes: find them and have the Go toolchain decode them.

The adapter half of bot/profile: `go tool pprof -raw` turns a profile's protocol buffer into
text (bot.profile.raw reads it), so no protobuf decoder is written here. `-symbolize=none`:
Go profiles carry their symbols, and pprof must never reach for a symbol server.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from bot.errors import ParseError, UsageError
from bot.profile.hotness import NamedProfile
from bot.profile.raw import parse_raw

PGO_NAME = "default.pgo"  # what `go build -pgo=auto` uses from a main package's directory
_SKIPPED_DIRS = {"vendor", "testdata", "node_modules", ".git"}


def decode(go: str, path: Path) -> NamedProfile:
    """Decode one profile file (CPU or memory) with `go tool pprof -raw`."""
    if not path.is_file():
        raise UsageError(f"profile {path}: no such file")
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    proc = subprocess.run(
        [go, "tool", "pprof", "-symbolize=none", "-raw", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        raise ParseError(f"profile {path.name}: `go tool pprof` cannot read it: {reason}")
    return NamedProfile(path.name, parse_raw(proc.stdout))


def pgo_profiles(root: Path) -> list[Path]:
    """Every `default.pgo` of the repository (main packages' PGO profiles), sorted."""
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith((".", "_")))
        if PGO_NAME in files:
            found.append(Path(directory) / PGO_NAME)
    return found


def load_profiles(go: str, root: Path, explicit: Iterable[Path], *, pgo: bool = True) -> list[NamedProfile]:
    """The profiles given (relative paths are taken from `root`), else the repository's PGO ones."""
    paths = [p if p.is_absolute() else root / p for p in explicit]
    if not paths and pgo:
        paths = pgo_profiles(root)
    return [decode(go, p) for p in paths]
