"""How hot an escape is, from a profile: the evidence for ranking new escapes.

Pure. Two kinds of evidence, as pprof reports them:

- a CPU profile (PGO's `default.pgo`, `-cpuprofile`): the share of samples whose stack holds
  the escape's function anywhere (cumulative, like pprof's `cum%`), inlined frames included;
- a memory profile (`go test -bench . -memprofile`): the bytes and objects allocated at the
  escape's own line, the most direct evidence there is. The allocating frame of a sample is its
  first frame outside the runtime (`runtime.newobject`, `runtime.growslice` … are below it).

Functions are matched by file and name, never by package path: pprof names the main package
`main`, and file paths are absolute (or module paths with -trimpath) while escapes carry
repository-relative ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.gc.model import Escape
from bot.gc.names import collapse_generics
from bot.profile.raw import Frame, Profile

_RUNTIME = ("runtime.", "runtime/", "internal/runtime/")


@dataclass(frozen=True, slots=True)
class Hotness:
    """What the profiles say of one escape; None where a profile of that kind was not given."""

    cpu_share: float | None = None  # 0..1 of CPU samples whose stack holds the function
    alloc_bytes: int | None = None  # bytes allocated at the escape's line
    alloc_objects: int | None = None  # objects allocated there
    source: str = ""  # which profiles: "cpu:default.pgo", "memory:mem.pprof" (comma separated)

    @property
    def weight(self) -> float:
        """One number to order by: allocated bytes first (direct evidence), then CPU share."""
        return float(self.alloc_bytes or 0) * 1e6 + (self.cpu_share or 0.0)


def short_function(name: str) -> str:
    """`example.com/p.(*T[go.shape.int]).M.func1` -> `(*T).M.func1` (the compiler's spelling)."""
    name = collapse_generics(name)
    tail = name.rsplit("/", 1)[-1]
    return tail.split(".", 1)[1] if "." in tail else tail


def _same_file(frame_file: str, escape_file: str) -> bool:
    return frame_file == escape_file or frame_file.endswith("/" + escape_file)


def _function_keys(frames: Sequence[Frame]) -> set[tuple[str, str]]:
    """(basename, function) of every frame of a stack, each once."""
    return {(f.file.rsplit("/", 1)[-1], short_function(f.function)) for f in frames}


@dataclass(frozen=True, slots=True)
class CpuWeights:
    """Cumulative sample counts per (file basename, function)."""

    total: int
    counts: Mapping[tuple[str, str], int]
    files: Mapping[tuple[str, str], tuple[str, ...]]  # the full paths seen per key

    def share(self, escape: Escape) -> float:
        key = (escape.file.rsplit("/", 1)[-1], escape.function)
        if not self.total or key not in self.counts:
            return 0.0
        if not any(_same_file(path, escape.file) for path in self.files[key]):
            return 0.0
        return self.counts[key] / self.total


def cpu_weights(profile: Profile) -> CpuWeights:
    """Cumulative counts per function of a CPU profile (by its first sample type, the count)."""
    index = profile.index("samples", "cpu") or 0
    counts: dict[tuple[str, str], int] = defaultdict(int)
    files: dict[tuple[str, str], set[str]] = defaultdict(set)
    total = 0
    for sample in profile.samples:
        value = sample.values[index]
        total += value
        for key in _function_keys(sample.frames):
            counts[key] += value
        for frame in sample.frames:
            files[(frame.file.rsplit("/", 1)[-1], short_function(frame.function))].add(frame.file)
    return CpuWeights(total, dict(counts), {k: tuple(sorted(v)) for k, v in files.items()})


@dataclass(frozen=True, slots=True)
class AllocWeights:
    """Bytes and objects allocated per (full file path, line) of the allocating frame."""

    by_line: Mapping[tuple[str, int], tuple[int, int]]

    def at(self, escape: Escape) -> tuple[int, int]:
        """(bytes, objects) allocated at the escape's line."""
        total_bytes = total_objects = 0
        for (file, line), (size, objects) in self.by_line.items():
            if line == escape.line and _same_file(file, escape.file):
                total_bytes += size
                total_objects += objects
        return total_bytes, total_objects


def _allocating_frame(frames: Sequence[Frame]) -> Frame | None:
    return next((f for f in frames if not f.function.startswith(_RUNTIME)), None)


def alloc_weights(profile: Profile) -> AllocWeights:
    """What a memory profile's samples allocated, per line of the frame that allocated."""
    size_index = profile.index("alloc_space")
    objects_index = profile.index("alloc_objects")
    if size_index is None or objects_index is None:
        raise ValueError(f"not a memory profile: its sample types are {', '.join(profile.types)}")
    by_line: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for sample in profile.samples:
        frame = _allocating_frame(sample.frames)
        if frame is None:
            continue
        entry = by_line[(frame.file, frame.line)]
        entry[0] += sample.values[size_index]
        entry[1] += sample.values[objects_index]
    return AllocWeights({k: (v[0], v[1]) for k, v in by_line.items()})


def is_memory_profile(profile: Profile) -> bool:
    """True for a heap/allocs profile (it has alloc_space), False for CPU."""
    return profile.index("alloc_space") is not None


@dataclass(frozen=True, slots=True)
class NamedProfile:
    """A decoded profile and what to call it in reports (`default.pgo`, `mem.pprof`)."""

    name: str
    profile: Profile


def rank(escapes: Iterable[Escape], profiles: Sequence[NamedProfile]) -> dict[Escape, Hotness]:
    """The hotness of each escape by every profile given (escapes keyed by value)."""
    cpu = [(p.name, cpu_weights(p.profile)) for p in profiles if not is_memory_profile(p.profile)]
    memory = [(p.name, alloc_weights(p.profile)) for p in profiles if is_memory_profile(p.profile)]
    source = ",".join([f"cpu:{name}" for name, _ in cpu] + [f"memory:{name}" for name, _ in memory])
    out: dict[Escape, Hotness] = {}
    for escape in escapes:
        share = max((w.share(escape) for _, w in cpu), default=None)
        allocated = [w.at(escape) for _, w in memory]
        out[escape] = Hotness(
            cpu_share=share,
            alloc_bytes=sum(b for b, _ in allocated) if memory else None,
            alloc_objects=sum(o for _, o in allocated) if memory else None,
            source=source,
        )
    return out
