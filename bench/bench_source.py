"""Benchmark: the Go source locator (bot.gc.source) on large and adversarial files.

    python bench/bench_source.py [--repeat N]

Two inputs the tests check for correctness only: a 5,400-line file of 300 methods, each with
closures, braces in strings, runes and comments; and a 700 KB string literal full of escapes,
quotes and braces. Prints the best and median time of `function_spans` on each and the
throughput in lines (or bytes) per second. Goal: each well under 50 ms, so locating functions
never shows in a build of thousands of files.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.gc.source import function_spans  # noqa: E402

CHUNK = textwrap.dedent(
    """\
    // Handler does things { with braces } in comments.
    func (s *Server) Handler%d(w Writer, r *Request) error {
    \tname := "func() { not code }"
    \tcb := func(x int) (int, error) {
    \t\tif x > 0 {
    \t\t\treturn x, nil
    \t\t}
    \t\treturn 0, errors.New(`raw { string`)
    \t}
    \tfor i := range s.items {
    \t\tgo func() { s.process(i, '}') }()
    \t}
    \tvar f func() int
    \t_, _ = name, f
    \treturn nil
    }

    """
)


def large_file() -> str:
    return "package x\n\n" + "".join(CHUNK % i for i in range(300))


def long_literal() -> str:
    body = '\\x00a\\"{' * 100_000
    return f'package x\n\nconst s = "{body}"\n\nfunc F() {{ _ = `{{`; _ = \'"\' }}\n'


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for label, src in (("5,400-line file, 900 functions", large_file()), ("700 KB literal", long_literal())):
        times = timed(lambda src=src: function_spans(src), args.repeat)
        best = min(times)
        lines = src.count("\n")
        print(
            f"{label}: best {best * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms, "
            f"{lines / best / 1e6:.2f} M lines/s, {len(src) / best / 1e6:.1f} MB/s, "
            f"best / 50 ms goal = {best / 0.05:.2f}"
        )


if __name__ == "__main__":
    main()
