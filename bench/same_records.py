"""Check: two checkouts' parsers give the same records from the same logs.

    python bench/same_records.py --code /tmp/before [--code DIR] [--log FILE ...] [--fuzz N] [--pure-first]

Each parser runs in a fresh process (their `bot` packages cannot share one) over the standard
library's text and `-json` logs (bench/.cache/, see bench_parse.py), read as the runner reads
them, and over N generated logs of odd explanations (other positions, lines cut already, `\\r`,
warnings, unknown lines, steps before a flow, with and without newlines). It compares a hash of
the `repr` of every record and of ParseStats, and counts the distinct Flow, Step and Position
objects (records share them). Without a second --code, this checkout is the other one.
`--pure-first`: the first checkout runs its pure-Python parser (`ESCAPE_BOT_PURE_PYTHON=1`), so
`--code . --pure-first` compares this checkout's C loops with its own Python.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import hashlib, json, random, sys
sys.path.insert(0, sys.argv[1])
from bot.gc.parse import parse_log
from bot.gc.events import CHUNK, text_of

def summary(records, stats):
    digest = hashlib.sha256()
    for e in records:
        digest.update(repr(e).encode())
    digest.update(repr(stats).encode())
    flows = {id(f): f for e in records for f in e.explanation}
    steps = {id(s): s for f in flows.values() for s in f.steps}
    at = {id(s.at) for s in steps.values() if s.at is not None}
    return {"records": len(records), "sha256": digest.hexdigest()[:16], "unknown": stats.unknown_lines,
            "objects": [len(flows), len(steps), len(at)]}

def read(path):
    if path.endswith(".jsonl"):
        with open(path, "rb") as f:
            return parse_log(line if len(line) > CHUNK else text_of(line) for line in f)
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_log(f)

def odd_log(rng):
    P, Q = "p/x.go:5:10", "q/y.go:1:2"
    pieces = [
        f"{P}:   flow: {{heap}} ← &{{storage for x}}:", f"{P}:     from x (spill) at p/x.go:5:10",
        f"{P}:     from sink = x (assign) at p/x.go:5:7", f"{P}:   flow: y ← x:",
        f"{P}:     from f(x) (call parameter) at p/x.go:6:3", f"{Q}:     from z (assign) at q/y.go:1:2",
        "    from w (assign) at p/x.go:7:1", "  flow: v ← w:",
        f"{P}:   warning: truncated explanation due to depth", f"{P}:     something else",
        f"{P}:     from x at p/x.go:1:1", f"{P}:     from x (y) at <unknown line number>",
        f"{P}:   flow: ~r0 = x:", "   odd", f"{P}:  flow:x",
    ]
    lines = ["# example.com/p"]
    for n in range(rng.randint(1, 30)):
        pos = P if rng.random() < 0.7 else f"p/x.go:{n}:3"
        lines.append(f"{pos}: x escapes to heap in F:" if rng.random() < 0.5
                     else f"{pos}: parameter x leaks to {{heap}} for F with derefs=0:")
        lines += rng.choices(pieces, k=rng.randint(0, 8))
        lines.append(f"{pos}: x escapes to heap" if rng.random() < 0.5 else f"{pos}: leaking param: x")
        if rng.random() < 0.1:
            lines.append("# example.com/q")
    cr = "\r" if rng.random() < 0.2 else ""
    newline = "\n" if rng.random() < 0.5 else ""
    out = [line + cr + newline for line in lines]
    if out and rng.random() < 0.3:
        out[-1] = out[-1].removesuffix("\n")  # a log cut short
    return out

out = {}
for path in json.loads(sys.argv[2]):
    out[path] = summary(*read(path))
rng = random.Random(18)
fuzz = [summary(*parse_log(odd_log(rng))) for _ in range(int(sys.argv[3]))]
out["fuzz records"] = hashlib.sha256(repr([f["sha256"] for f in fuzz]).encode()).hexdigest()[:16]
out["fuzz unknown lines"] = sum(f["unknown"] for f in fuzz)
out["fuzz objects"] = [sum(f["objects"][i] for f in fuzz) for i in range(3)]
print(json.dumps(out))
"""


def run(code: Path, logs: list[str], fuzz: int, pure: bool = False) -> dict[str, object]:
    env = {**os.environ, "ESCAPE_BOT_PURE_PYTHON": "1" if pure else "0"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(code), json.dumps(logs), str(fuzz)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", type=Path, action="append", required=True)
    ap.add_argument("--log", action="append", default=None)
    ap.add_argument("--fuzz", type=int, default=2000)
    ap.add_argument("--pure-first", action="store_true", help="the first checkout parses in pure Python")
    args = ap.parse_args()
    codes = [*args.code, ROOT] if len(args.code) == 1 else args.code[:2]
    logs = args.log or [
        str(p) for p in sorted((ROOT / "bench" / ".cache").glob("std-m2-*.*")) if "-x2" not in p.name
    ]
    results = [run(code, logs, args.fuzz, pure=args.pure_first and i == 0) for i, code in enumerate(codes)]
    same = True
    for key in results[0]:
        a, b = results[0][key], results[1].get(key)
        if isinstance(a, dict) and isinstance(b, dict):  # objects shared may differ: not a record
            a, b = {**a, "objects": None}, {**b, "objects": None}
        same &= a == b or key == "fuzz objects"
        verdict = "same" if a == b else "sharing differs" if key == "fuzz objects" else "DIFFERENT"
        print(f"{key}: {verdict}\n  {codes[0]}: {results[0][key]}\n  {codes[1]}: {results[1].get(key)}")
    print("records and stats: " + ("identical" if same else "DIFFERENT"))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
