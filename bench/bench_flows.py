"""Benchmark: `bot/gc/flows.py` alone (`compact` and `FlowReader.flows`) over the standard
library's explanations, two checkouts' flows.py interleaved in one process (CPU time).

    python bench/bench_flows.py --code /tmp/before [--code DIR] [--rounds 3]

The explanations' lines are collected once from the text log (bench/.cache/, see bench_parse.py)
as the parser hands them over, per package (--events: without their newline, as the lines of
`go build -json` events come). Each round reads every package with each checkout's
`flows.py` in turn (which goes first alternates), a fresh reader per package and the cyclic
collector off, as `LogParser._build` does: the machine's load hits both alike, where separate
processes (and the whole parse, bench_parse.py) wander by more than this part weighs. Both load
this checkout's `bot.gc.lines` and `bot.gc.model`: their `Header` and records must not differ.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import pickle
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.gc.lines import Header  # noqa: E402

PICKLE = ROOT / "bench" / ".cache" / "flows-explanations.pickle"

COLLECT = r"""
import pickle, sys
from bot.gc import flows, parse
from bot.gc.parse import parse_log
packages, current = [], []
def keep(header, compact=flows.compact):
    if header.text is None and header.raw:
        current.append(list(header.raw))
    compact(header)
flows.compact = parse.compact = keep
build = parse.LogParser._build
def _build(self, block, out):
    build(self, block, out)
    packages.append(current[:])
    current.clear()
parse.LogParser._build = _build
with open(sys.argv[1], encoding="utf-8") as f:
    parse_log(f)
with open(sys.argv[2], "wb") as out:
    pickle.dump(packages, out)
"""


def load(code: Path, name: str) -> ModuleType:
    """A checkout's bot/gc/flows.py as a module of its own."""
    spec = importlib.util.spec_from_file_location(name, code / "bot" / "gc" / "flows.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", type=Path, action="append", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--events", action="store_true", help="lines without newline, as `-json` events give them"
    )
    args = ap.parse_args()
    codes = [*args.code, ROOT] if len(args.code) == 1 else args.code[:2]
    if not PICKLE.exists():
        log = next(p for p in sorted((ROOT / "bench" / ".cache").glob("std-m2-*.log")) if "-x2" not in p.name)
        subprocess.run([sys.executable, "-c", COLLECT, str(log), str(PICKLE)], cwd=ROOT, check=True)
    with open(PICKLE, "rb") as f:
        packages = pickle.load(f)
    if args.events:
        packages = [[[line.removesuffix("\n") for line in raw] for raw in package] for package in packages]
    print(f"{sum(len(p) for p in packages):,} explanations in {len(packages)} packages")
    modules = [load(code, f"flows_{i}") for i, code in enumerate(codes)]
    cpu = [[0.0] * args.rounds for _ in codes]
    counts = [[0, 0] for _ in codes]
    gc.disable()
    for r in range(args.rounds):
        for i, package in enumerate(packages):
            for k in (0, 1) if (i + r) % 2 == 0 else (1, 0):
                unknown: list[str] = []
                reader = modules[k].FlowReader(unknown.append)
                headers = [Header(leak=False, subject="x", function=None, raw=list(raw)) for raw in package]
                start = time.process_time()
                for header in headers:
                    counts[k][0] += len(reader.flows(header))
                cpu[k][r] += time.process_time() - start
                counts[k][1] += len(unknown)
    for k, code in enumerate(codes):
        rounds = ", ".join(f"{t:.2f}" for t in cpu[k])
        flows, unknown = (n // args.rounds for n in counts[k])
        print(
            f"{code}: CPU per round {rounds} s (best {min(cpu[k]):.2f} s); "
            f"{flows:,} flows, {unknown} unknown lines"
        )
    print(f"ratio {codes[1].name} / {codes[0].name}: {sum(cpu[1]) / sum(cpu[0]):.3f}")


if __name__ == "__main__":
    main()
