"""Benchmark: encode + decode a large results artifact, the hand-written codec versus msgspec's.

    python bench/bench_artifact.py [--log FILE] [--before REV] [--repeat N]

The artifact holds the standard library's escapes (the `-m=2` log of bench/bench_parse.py,
built once into bench/.cache/) as new ones, with every explanation, cut to the largest artifact
the publish job accepts (MAX_BYTES, 32 MiB). "before" is the codec of commit REV (default
17377de, the last one with the JSON Schema, jsonschema and hand-written readers and writers),
loaded from git into this process; "after" is the working tree's. Both decoders read the
same bytes (each writer's own output, and the other's), and must give the same records.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_parse import std_log  # noqa: E402
from bot.diff import DiffResult  # noqa: E402
from bot.gc.model import Escape, Snapshot, Toolchain  # noqa: E402
from bot.gc.parse import parse_log  # noqa: E402
from bot.github import artifact, artifact_format  # noqa: E402
from bot.memory import gc_paused  # noqa: E402

BEFORE = "17377de"
BASE, HEAD, MERGE = "1" * 40, "2" * 40, "3" * 40


def load_before(rev: str) -> tuple[types.ModuleType, types.ModuleType]:
    """bot/github/artifact_format.py and artifact.py as they were at `rev`, as modules."""

    def source(path: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True, check=True
        ).stdout

    modules = []
    saved = sys.modules["bot.github.artifact_format"]
    try:
        for path in ("bot/github/artifact_format.py", "bot/github/artifact.py"):
            name = "bench_before_" + Path(path).stem
            module = types.ModuleType(name)
            sys.modules[name] = module  # dataclasses look their module up
            exec(compile(source(path), f"{rev}:{path}", "exec"), module.__dict__)
            modules.append(module)
            if path.endswith("artifact_format.py"):  # the old writer imports the old format
                sys.modules["bot.github.artifact_format"] = module
    finally:
        sys.modules["bot.github.artifact_format"] = saved
    return modules[0], modules[1]


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def write(writer: types.ModuleType, directory: Path, escapes: tuple[Escape, ...]) -> bytes:
    tc = Toolchain("go1.27.3", "linux", "amd64")
    writer.write_artifact(
        directory,
        name="std",
        repository="octo/demo",
        number=7,
        head_sha=HEAD,
        base=Snapshot("main", BASE, tc, ()),
        head=Snapshot("pr", MERGE, tc, ()),
        result=DiffResult(new=escapes, fixed=(), unchanged=()),
    )
    return (directory / artifact_format.ARTIFACT_FILE).read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", type=Path, default=None)
    ap.add_argument("--before", default=BEFORE)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with open(args.log or std_log(), encoding="utf-8", errors="replace") as f:
        parsed, _ = parse_log(f)
    # the old writer wrote explanations whole, which the old reader then refused beyond 1,000 steps
    records = [
        e for e in parsed if sum(len(flow.steps) for flow in e.explanation) <= artifact_format.MAX_STEPS
    ]
    old_format, old_writer = load_before(args.before)
    with tempfile.TemporaryDirectory() as tmp:
        # the largest artifact publish accepts: as many std escapes as fit in MAX_BYTES
        n = len(records)
        for _ in range(4):  # escapes are not all alike: scale the count until the size fits
            size = len(write(artifact, Path(tmp) / "size", tuple(records[:n])))
            if 0.95 * artifact_format.MAX_BYTES <= size <= artifact_format.MAX_BYTES:
                break
            n = min(len(records), int(n * 0.975 * artifact_format.MAX_BYTES / size))
        escapes = tuple(records[:n])
        enc_before, data_before = best(args.repeat, lambda: write(old_writer, Path(tmp) / "b", escapes))
        enc_after, data_after = best(args.repeat, lambda: write(artifact, Path(tmp) / "a", escapes))
    dec_before, read_before = best(args.repeat, lambda: old_format.parse_artifact(data_before))
    dec_after, read_after = best(args.repeat, lambda: artifact_format.parse_artifact(data_after))
    # each decoder reads the other writer's artifact, and all four give the same records
    crossed = [old_format.parse_artifact(data_after), artifact_format.parse_artifact(data_before)]
    for r in (read_after, *crossed):
        assert r.result.new == read_before.result.new, "the codecs disagree"
    assert len(data_after) <= artifact_format.MAX_BYTES
    steps = sum(len(flow.steps) for e in escapes for flow in e.explanation)
    print(f"artifact: {len(escapes):,} escapes with {steps:,} explanation steps")
    print(f"  size: before {len(data_before) / 2**20:.1f} MiB, after {len(data_after) / 2**20:.1f} MiB")
    print(f"encode (write_artifact, best of {args.repeat}):")
    print(f"  before {enc_before:.2f} s, after {enc_after:.2f} s: {enc_before / enc_after:.1f}x faster")
    print(f"decode (parse_artifact: validate + records, best of {args.repeat}):")
    print(f"  before {dec_before:.2f} s, after {dec_after:.2f} s: {dec_before / dec_after:.1f}x faster")
    with gc_paused():  # as parse_artifact decodes
        typed, _ = best(args.repeat, lambda: artifact_format._DECODER.decode(data_after))
    dups, _ = best(args.repeat, lambda: artifact_format._check_duplicate_keys(data_after))
    print(f"  of which: msgspec typed decode {typed:.2f} s, duplicate-key check {dups:.2f} s,")
    print(f"  typed records -> Escape/Results {dec_after - typed - dups:.2f} s")
    total_before, total_after = enc_before + dec_before, enc_after + dec_after
    print(f"encode + decode: before {total_before:.2f} s, after {total_after:.2f} s")
    print(f"ratio before / after: {total_before / total_after:.1f}x")


if __name__ == "__main__":
    main()
