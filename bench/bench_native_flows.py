"""Benchmark: FlowReader.flows in C (bot/gc/_flows.c) against the pure-Python reader, in one process.

    python bench/bench_native_flows.py [--rounds 3] [--log FILE]

Over the standard library's text log (bench/.cache/, see bench_parse.py): the CPU time of the
whole `parse_log` with each reader (`FlowReader(native_flows=...)`), then of the readers alone
over the explanations `parse_log` hands them (compacted, a fresh reader per package, the cyclic
collector off, as `LogParser._build` has it). Which path goes first alternates per round, so the
machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import functools
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.gc import native, parse  # noqa: E402
from bot.gc.flows import FlowReader, compact  # noqa: E402
from bot.gc.lines import Header  # noqa: E402
from bot.gc.model import Flow  # noqa: E402

Package = list[tuple[str | None, bool]]  # a package's explanations: (text, ended)


def install(reader: Callable[..., FlowReader]) -> None:
    """The reader `LogParser` makes (parse.py's global)."""
    vars(parse)["FlowReader"] = reader


def explanations(lines: list[str]) -> list[Package]:
    """The explanations `parse_log` hands its reader, a package at a time."""
    packages: list[Package] = [[]]

    class Keeper(FlowReader):
        def flows(self, header: Header) -> list[Flow]:
            if header.text is None:
                compact(header)
            packages[-1].append((header.text, header.ended))
            return []

        def clear(self) -> None:
            packages.append([])

    install(Keeper)
    try:
        parse.parse_log(iter(lines))
    finally:
        install(FlowReader)
    return packages


def read_all(packages: list[Package], native_flows: bool) -> float:
    cpu = 0.0
    for package in packages:
        reader = FlowReader(lambda line: None, native_flows=native_flows)
        headers = [Header(leak=False, subject="x", function=None, text=t, ended=e) for t, e in package]
        start = time.process_time()
        for header in headers:
            reader.flows(header)
        cpu += time.process_time() - start
    return cpu


def parse_all(lines: list[str], native_flows: bool) -> float:
    install(functools.partial(FlowReader, native_flows=native_flows))
    try:
        start = time.process_time()
        parse.parse_log(iter(lines))
        return time.process_time() - start
    finally:
        install(FlowReader)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--log", type=Path, default=ROOT / "bench" / ".cache" / "std-m2-go1.27.3.log")
    args = ap.parse_args()
    if native.flows is None:
        sys.exit("bot/gc/_flows.c is not built (or ESCAPE_BOT_PURE_PYTHON is set)")
    with open(args.log, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    packages = explanations(lines)
    print(f"{len(lines):,} lines, {sum(map(len, packages)):,} explanations in {len(packages)} packages")
    compare("parse_log", lambda native_flows: parse_all(lines, native_flows), args.rounds)
    compare("FlowReader alone", lambda native_flows: read_all(packages, native_flows), args.rounds)


def compare(name: str, run: Callable[[bool], float], rounds: int) -> None:
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for native_flows in (True, False) if r % 2 == 0 else (False, True):
            gc.disable()
            try:
                cpu[native_flows].append(run(native_flows))
            finally:
                gc.enable()
    for native_flows, label in ((False, "Python"), (True, "C")):
        times = ", ".join(f"{t:.2f}" for t in cpu[native_flows])
        print(f"{name}, {label}: CPU per round {times} s (best {min(cpu[native_flows]):.2f} s)")
    print(f"{name}: Python / C {min(cpu[False]) / min(cpu[True]):.2f}")


if __name__ == "__main__":
    main()
