"""Benchmark: glob matching (bot/globs.py) on the pathological case of issue #13 and in bulk.

    python bench/bench_globs.py [--segments N] [--regex-up-to N]

1. `**/**/**/**/**/**/**/**/x` against a path of N (default 60) segments that does not match:
   the linear-time matcher, then the former backtracking regex (`**/` -> `(?:.*/)?`) on growing
   paths up to --regex-up-to segments (default 16: beyond, it takes minutes).
2. The default excludes (`vendor/**`, `**/vendor/**`, ...) against 100,000 file paths, all
   distinct or 2,000 files asked about 50 times each, as `Config.wants` runs them on every
   escape of a large build.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Config  # noqa: E402
from bot.globs import GlobMatcher  # noqa: E402

PATHOLOGICAL = "**/**/**/**/**/**/**/**/x"


def _regex(pattern: str) -> re.Pattern[str]:
    """The former translation (only the parts the pathological pattern uses)."""
    return re.compile(pattern.replace("**/", "\0").replace("\0", "(?:.*/)?"))


def _timed(fn: object, *args: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=60)
    parser.add_argument("--regex-up-to", type=int, default=16)
    args = parser.parse_args()

    path = "/".join(f"d{i}" for i in range(args.segments)) + "/y"
    matcher = GlobMatcher(PATHOLOGICAL)
    seconds, result = _timed(matcher.match, path)
    print(f"{PATHOLOGICAL} vs {args.segments} segments: linear matcher {seconds * 1e3:.2f} ms ({result})")
    regex = _regex(PATHOLOGICAL)
    for n in range(4, args.regex_up_to + 1, 4):
        short = "/".join(f"d{i}" for i in range(n)) + "/y"
        seconds, result = _timed(regex.fullmatch, short)
        mine, _ = _timed(GlobMatcher(PATHOLOGICAL).match, short)
        print(f"  {n:3} segments: former regex {seconds:8.3f} s, linear matcher {mine * 1e3:6.2f} ms")

    config = Config()
    distinct = [f"pkg{i % 300}/sub{i % 7}/file{i}.go" for i in range(100_000)]
    repeated = [f"pkg{i % 40}/file{i % 2000}.go" for i in range(100_000)]  # 2,000 files, 50 escapes each
    for label, files in (("distinct", distinct), ("2,000 repeated", repeated)):
        seconds, kept = _timed(lambda files=files: sum(1 for f in files if config.wants(f)))
        print(
            f"default excludes over {len(files):,} {label} paths: {seconds:.2f} s "
            f"({seconds / len(files) * 1e6:.1f} µs a path, {kept:,} kept)"
        )


if __name__ == "__main__":
    main()
