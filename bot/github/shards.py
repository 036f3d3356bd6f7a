"""The results of a sharded analysis (`ci --mode analyze --shard K/N`) published as one.

Each shard's job writes the usual results artifact (bot/github/artifact.py) plus a small shard
file: which shard it is, of how many, the repository's module directories at base and head, and
the shard's unchanged and skipped counts per module (a module that failed in one shard is left
out of all: the merge needs to know which files and counts are in it). The publish job finds
one subdirectory per shard under `--artifact DIR`, reads every artifact with the same strict
reader, refuses shards that do not belong together (another pull request, commit,
configuration or toolchain; a shard missing or given twice; different N), and combines them
into one `Results`: the gate then decides once, on the whole change.

Packages are split by import path (bot/gc/shard.py) and every matching pass of bot/diff.py stays
within one package, so the union of the shards' new and fixed escapes is what one job would
have found. A module that does not build in one shard only (one of its packages is broken) is
dropped from every shard, as one job drops the whole module: its new and fixed escapes by
file, its unchanged and skipped units by the other shards' counts for it. A shard file written
before those counts existed merges with its totals as they are.
"""

from __future__ import annotations

import json
import os
import stat
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import msgspec

from bot.annotations import Annotations
from bot.diff import DiffResult, Skipped, merge_skipped
from bot.failures import module_of, without_modules
from bot.gc.model import MAX_ERROR_LINES, Cause, Escape, FailedModule, Kind, record_order
from bot.gc.shard import MAX_SHARDS, Shard, base_package, shard_of
from bot.github.artifact_format import (
    ARTIFACT_FILE,
    MAX_BYTES,
    ArtifactError,
    Name,
    Results,
    SkippedByReason,
    Units,
    read_artifact,
)

SHARD_FILE = "escape-bot-shard.json"
SHARD_FORMAT = "escape-bot-shard"
MAX_SHARD_FILE = 4 * 1024 * 1024  # module directories and their counts
MAX_MODULES = 10_000
MAX_TOTAL_BYTES = 4 * MAX_BYTES  # all shards' artifacts together: one job's results, split
HEAP = (Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP)  # the kinds the artifact's unchanged count counts


@dataclass(frozen=True, slots=True)
class ModuleCounts:
    """A shard's unchanged heap-escape units and skipped counts in one module."""

    unchanged: int = 0
    skipped: tuple[Skipped, ...] = ()


class _ModuleCountsData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    unchanged: Units = 0
    skipped: SkippedByReason = {}


_CountsData = Annotated[dict[Name, _ModuleCountsData], msgspec.Meta(max_length=MAX_MODULES + 1)]


@dataclass(frozen=True, slots=True)
class ShardResults:
    """One shard's artifact and what its shard file says."""

    shard: Shard
    modules: tuple[str, ...]  # module directories at base and head ('' the root)
    results: Results
    where: str  # the directory, for messages
    counts: Mapping[str, ModuleCounts] | None = None  # None: a shard file without them


def module_counts(result: DiffResult, modules: Iterable[str]) -> dict[str, ModuleCounts]:
    """`result`'s unchanged heap-escape units (as the artifact counts them) and skipped counts
    per module directory: the deepest that holds the file, as `without_modules` decides."""
    known = sorted(set(modules))
    unchanged: defaultdict[str, list[Escape]] = defaultdict(list)
    for e in result.unchanged:
        unchanged[module_of(e.file, known)].append(e)
    skipped: defaultdict[str, list[Skipped]] = defaultdict(list)
    for file, records in result.skipped_files.items():
        skipped[module_of(file, known)].extend(records)
    out = {}
    for module in sorted(unchanged.keys() | skipped.keys()):
        units = DiffResult((), (), tuple(unchanged[module]), counting=result.counting).counts(HEAP)
        counts = ModuleCounts(units["unchanged"], merge_skipped(skipped[module]))
        if counts != ModuleCounts():
            out[module] = counts
    return out


def write_shard_file(directory: Path, shard: Shard, modules: Iterable[str], result: DiffResult) -> Path:
    """Write the shard file next to the results artifact in `directory`."""
    directories = sorted(set(modules))
    counts = {
        module: {
            "unchanged": c.unchanged,
            "skipped": {s.reason: {"head": s.head, "new": s.new, "fixed": s.fixed} for s in c.skipped},
        }
        for module, c in module_counts(result, directories).items()
    }
    data = {
        "format": SHARD_FORMAT,
        "shard": shard.index,
        "of": shard.count,
        "modules": directories,
        "counts": counts,
    }
    path = directory / SHARD_FILE
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    return path


def _read_small(path: Path, limit: int) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ArtifactError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ArtifactError(f"{path} is not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ArtifactError(f"{path} is larger than {limit} bytes")
    return data


def read_shard_file(path: Path) -> tuple[Shard, tuple[str, ...], dict[str, ModuleCounts] | None]:
    """The shard, module directories and per-module counts (None when the file has none: an
    older bot wrote it) of a shard file (untrusted: checked field by field)."""
    try:
        data = json.loads(_read_small(path, MAX_SHARD_FILE).decode("utf-8"))
    except (UnicodeError, ValueError):
        raise ArtifactError(f"the shard file {path} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != SHARD_FORMAT:
        raise ArtifactError(f"the shard file {path} is not an escape-bot shard file")
    index, count, modules = data.get("shard"), data.get("of"), data.get("modules")
    if not (
        type(index) is int
        and type(count) is int
        and 1 <= index <= count <= MAX_SHARDS
        and isinstance(modules, list)
        and len(modules) <= MAX_MODULES
        and all(isinstance(m, str) and len(m) <= 4096 for m in modules)
    ):
        raise ArtifactError(
            f"the shard file {path} is malformed: expected shard K of N and module directories"
        )
    if "counts" not in data:
        return Shard(index, count), tuple(modules), None
    try:
        counts = msgspec.convert(data["counts"], _CountsData)
    except msgspec.ValidationError as exc:
        raise ArtifactError(f"the shard file {path} has malformed module counts: {exc}") from None
    strangers = sorted(set(counts) - {"", *modules})
    if strangers:
        raise ArtifactError(
            f"the shard file {path} counts escapes of {_show(strangers[0])}, "
            "not one of its module directories"
        )
    return (
        Shard(index, count),
        tuple(modules),
        {
            module: ModuleCounts(
                c.unchanged, tuple(Skipped(r, n.head, n.new, n.fixed) for r, n in sorted(c.skipped.items()))
            )
            for module, c in counts.items()
        },
    )


def shard_directories(directory: Path) -> list[Path]:
    """The subdirectories of `directory` holding a results artifact (one per shard), sorted."""
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        raise ArtifactError(f"cannot read the results directory {directory}: {exc.strerror}") from None
    return [d for d in entries if d.is_dir() and not d.is_symlink() and (d / ARTIFACT_FILE).exists()]


def read_results(directory: Path) -> Results:
    """The results under `directory`: its own artifact, else the shards' in its subdirectories merged."""
    if (directory / ARTIFACT_FILE).exists():
        return read_artifact(directory)
    shards = shard_directories(directory) if directory.is_dir() else []
    if not shards:
        return read_artifact(directory)  # its "no escape-bot results at ..." error
    total = sum((d / ARTIFACT_FILE).lstat().st_size for d in shards)
    if total > MAX_TOTAL_BYTES:
        raise ArtifactError(
            f"the shards' results under {directory} are larger than {MAX_TOTAL_BYTES >> 20} MiB"
        )
    read = []
    for d in shards:
        if not (d / SHARD_FILE).exists():
            raise ArtifactError(
                f"{d} holds results but no {SHARD_FILE}: only the artifacts of `--shard K/N` jobs are merged"
            )
        shard, modules, counts = read_shard_file(d / SHARD_FILE)
        read.append(ShardResults(shard, modules, read_artifact(d), d.name, counts))
    return merge_results(read)


def _same(shards: Sequence[ShardResults], what: str, value: Any) -> None:
    first = value(shards[0])
    for s in shards[1:]:
        if value(s) != first:
            raise ArtifactError(
                f"not published: the shards do not belong together: {what} is {_show(first)} in "
                f"{shards[0].where} and {_show(value(s))} in {s.where}"
            )


def _show(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) == 40 and text.isalnum() else repr(text[:80])


def check_complete(shards: Sequence[ShardResults]) -> None:
    """Shards 1..N of one N, each once; ArtifactError naming what is wrong otherwise."""
    if not shards:
        raise ArtifactError("not published: no shard results to merge")
    _same(shards, "the number of shards N", lambda s: s.shard.count)
    count = shards[0].shard.count
    seen: dict[int, str] = {}
    for s in shards:
        if s.shard.index in seen:
            raise ArtifactError(
                f"not published: shard {s.shard} is given twice ({seen[s.shard.index]} and {s.where})"
            )
        seen[s.shard.index] = s.where
    missing = [str(k) for k in range(1, count + 1) if k not in seen]
    if missing:
        raise ArtifactError(
            f"not published: shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} of {count} "
            "missing: every shard's job must upload its results (did one fail before writing them?)"
        )


def merge_results(shards: Sequence[ShardResults]) -> Results:
    """One Results from all shards of one analysis (see the module docstring)."""
    check_complete(shards)
    _same(shards, "the repository", lambda s: s.results.repository.lower())
    _same(shards, "the configuration name", lambda s: s.results.name)
    _same(shards, "the pull request", lambda s: s.results.number)
    _same(shards, "the head commit", lambda s: s.results.head_sha)
    _same(shards, "the base commit", lambda s: s.results.base_sha)
    _same(shards, "the commit built as head", lambda s: s.results.head.commit)
    _same(shards, "the base toolchain", lambda s: s.results.base.toolchain)
    _same(shards, "the head toolchain", lambda s: s.results.head.toolchain)
    for s in shards:
        _own_packages_only(s)
        _counts_add_up(s)
    ordered = sorted(shards, key=lambda s: s.shard.index)
    parts = [s.results for s in ordered]
    failed = merge_failed(f for r in parts for f in r.result.failed_modules)
    directories = {d for s in ordered for d in s.modules}
    dropped = [f.directory for f in failed]

    def joined(pick: Any) -> tuple[Escape, ...]:
        escapes = without_modules((e for r in parts for e in pick(r.result)), dropped, directories)
        return tuple(sorted(escapes, key=record_order))

    # the dropped modules' units the other shards counted (a shard without counts: its totals)
    left_out = [s.counts[d] for s in ordered if s.counts is not None for d in dropped if d in s.counts]
    unchanged_units = sum(e.count for r in parts for e in r.result.unchanged) - sum(
        c.unchanged for c in left_out
    )
    unchanged = (
        (Escape("", "", 0, 0, "", Kind.MOVED_TO_HEAP, "", "", Cause.UNKNOWN, count=unchanged_units),)
        if unchanged_units
        else ()
    )
    first = parts[0]
    return replace(
        first,
        result=DiffResult(
            new=joined(lambda r: r.new),
            fixed=joined(lambda r: r.fixed),
            unchanged=unchanged,
            skipped=merge_skipped(
                (s for r in parts for s in r.result.skipped), less=(s for c in left_out for s in c.skipped)
            ),
            failed_modules=failed,
        ),
        annotations=_merge_annotations(r.annotations for r in parts),
        suppressed_lines={f: lines for r in parts for f, lines in r.suppressed_lines.items()},
        base_source="store" if all(r.base_source == "store" for r in parts) else "built",
        head_source="store" if all(r.head_source == "store" for r in parts) else "built",
    )


def _own_packages_only(s: ShardResults) -> None:
    """A shard lists escapes of its own packages only: none can be counted twice by two shards."""
    for e in (*s.results.result.new, *s.results.result.fixed):
        package = base_package(e.package)
        if not s.shard.owns(package):
            raise ArtifactError(
                f"not published: {s.where} (shard {s.shard}) lists escapes of package {_show(package)}, "
                f"which is in shard {shard_of(package, s.shard.count)}"
            )


def merge_failed(failures: Iterable[FailedModule]) -> tuple[FailedModule, ...]:
    """A module failed in any shard failed: on the union of the sides, with all shards' error lines."""
    by_directory: dict[str, FailedModule] = {}
    for f in failures:
        seen = by_directory.get(f.directory)
        if seen is None:
            by_directory[f.directory] = f
            continue
        side = seen.side if seen.side == f.side else "both"
        errors = list(seen.errors) + [e for e in f.errors if e not in seen.errors]
        by_directory[f.directory] = FailedModule(
            seen.module, f.directory, side, tuple(errors[:MAX_ERROR_LINES])
        )
    return tuple(by_directory[d] for d in sorted(by_directory))


def _counts_add_up(s: ShardResults) -> None:
    """A shard's per-module counts sum to its artifact's totals: else they are another run's."""
    if s.counts is None:
        return
    unchanged = sum(e.count for e in s.results.result.unchanged)
    per_module = sum(c.unchanged for c in s.counts.values())
    skipped = merge_skipped(s.results.result.skipped)
    skipped_per_module = merge_skipped(r for c in s.counts.values() for r in c.skipped)
    if per_module != unchanged or skipped_per_module != skipped:
        what = "unchanged" if per_module != unchanged else "skipped"
        raise ArtifactError(
            f"not published: {s.where} (shard {s.shard}): the {what} counts of {SHARD_FILE}'s modules "
            f"do not add up to those of its results"
        )


def _merge_annotations(parts: Iterable[Mapping[str, Annotations]]) -> dict[str, Annotations]:
    """Each file is in one package, so in one shard; the first shard's wins should two claim it."""
    out: dict[str, Annotations] = {}
    for found in parts:
        for file, a in found.items():
            out.setdefault(file, a)
    return out
