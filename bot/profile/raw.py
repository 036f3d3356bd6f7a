"""Read the text that `go tool pprof -raw` prints: sample types, samples, locations.

Pure. The Go toolchain decodes the profile's protocol buffer (`bot.gc.pprof` runs it); this
module only reads its documented text form:

    PeriodType: cpu nanoseconds
    Samples:
    samples/count cpu/nanoseconds
              2   20000000: 1 2 3
    Locations
         1: 0x41f9ee M=1 runtime.mallocgc /go/src/runtime/malloc.go:1619:0 s=1587
         2: 0x4c83c5 M=1 example.com/p.Hot /src/p/p.go:10:0 s=7
                 main.main /src/main.go:15:0 s=10
    Mappings
    ...

A sample lists its locations leaf first; a location lists its inlined frames innermost first
(the lines after the first are the functions it was inlined into).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.errors import ParseError

# `ID: 0xADDR M=N FUNCTION FILE:LINE:COL s=START`; function names may hold spaces
# (`Map[go.shape.interface {}]`), module paths never do, so the file is the last spaced word.
_LOCATION = re.compile(r"^\s*(\d+): 0x[0-9a-f]+(?: M=\d+)?(?: (.*))?$")
_FRAME = re.compile(r"^(.*) (\S+?):(\d+)(?::\d+)? s=\d+$")
_SAMPLE = re.compile(r"^\s*(-?\d+(?:\s+-?\d+)*):((?:\s*\d+)*)\s*$")


@dataclass(frozen=True, slots=True)
class Frame:
    """One function at one line: `example.com/p.(*T).M` at `/src/p/p.go:10`."""

    function: str
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Sample:
    """One stack with its values, one per sample type; `frames` leaf first, inlining expanded."""

    values: tuple[int, ...]
    frames: tuple[Frame, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    """A decoded profile: `types` such as `("samples", "cpu")` or `("alloc_objects", ...)`."""

    period_type: str
    types: tuple[str, ...]
    samples: tuple[Sample, ...]

    def index(self, *names: str) -> int | None:
        """The position of the first sample type among `names`, or None."""
        for name in names:
            if name in self.types:
                return self.types.index(name)
        return None


def _frames(lines: Iterable[str]) -> tuple[Frame, ...]:
    frames = []
    for text in lines:
        match = _FRAME.match(text.strip())
        if match:
            frames.append(Frame(match.group(1), match.group(2), int(match.group(3))))
    return tuple(frames)


def parse_raw(text: str) -> Profile:
    """Decode `go tool pprof -raw` output; ParseError when it is not that."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("PeriodType:"):
        first = lines[0][:80] if lines else "(empty)"
        raise ParseError(f"not the output of `go tool pprof -raw`: it starts with {first!r}")
    period_type = lines[0].removeprefix("PeriodType:").strip()
    try:
        start = lines.index("Samples:")
        locations_at = lines.index("Locations")
    except ValueError:
        raise ParseError("the profile has no Samples or Locations section") from None
    types = tuple(word.split("/")[0] for word in lines[start + 1].split())
    raw_samples: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    for line in lines[start + 2 : locations_at]:
        match = _SAMPLE.match(line)
        if match:  # other lines are labels (`bytes:[96]`)
            values = tuple(int(v) for v in match.group(1).split())
            raw_samples.append((values, tuple(int(i) for i in match.group(2).split())))
    end = lines.index("Mappings") if "Mappings" in lines else len(lines)
    locations: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in lines[locations_at + 1 : end]:
        match = _LOCATION.match(line)
        if match:
            current = locations.setdefault(int(match.group(1)), [])
            if match.group(2):
                current.append(match.group(2))
        elif current is not None and line.strip():
            current.append(line)
    frames = {ident: _frames(texts) for ident, texts in locations.items()}
    samples = tuple(
        Sample(values, tuple(frame for ident in ids for frame in frames.get(ident, ())))
        for values, ids in raw_samples
    )
    return Profile(period_type, types, samples)
