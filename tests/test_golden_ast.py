"""An independent check of the golden records: every position and function in
tests/data/golden/expected/ is checked against Go's own go/parser and go/ast.

The expected files are written by the parser under test (ESCAPE_BOT_REGOLD=1), so on their own
they can only say that the parser did not change. Here a small Go program (tests/tools/astpos,
run with the real toolchain) says what really stands at each position: the enclosing function
declaration, how many function literals contain it, and which expression or statement starts
there. A record whose function, closure depth or expression disagrees with the source fails,
however it was generated.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.gc.run import go_binary

TESTS = Path(__file__).parent
PROJECT = TESTS.parent
EXPECTED = TESTS / "data" / "golden" / "expected"
TOOL = TESTS / "tools" / "astpos"
CLOSURE = re.compile(r"func\d+|\d+")
WRAPPER = re.compile(r"(gowrap|deferwrap)\d+")


@pytest.fixture(scope="session")
def astpos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("astpos") / "astpos"
    env = {**os.environ, "GOFLAGS": "", "GOWORK": "off"}
    subprocess.run(
        [go_binary(), "build", "-o", str(binary), "."], cwd=TOOL, env=env, check=True, capture_output=True
    )
    return binary


def ask(astpos: Path, rows: list[list[Any]]) -> list[dict[str, Any]]:
    queries = "".join(f"{row[1]} {row[2]} {row[3]}\n" for row in rows)
    out = subprocess.run(
        [str(astpos)], input=queries, cwd=PROJECT, capture_output=True, text=True, check=True
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def split_function(name: str) -> tuple[str, int]:
    """`(*T).M.func1.1` -> ("(*T).M", 2): the declaration and the closure depth the name says."""
    receiver = ""
    if name.startswith("("):
        receiver, _, name = name.partition(").")
        receiver += ")."
    parts = [p.split("-range")[0] for p in name.split(".")]
    top = parts.pop(0)
    if receiver or (parts and not CLOSURE.fullmatch(parts[0]) and not WRAPPER.fullmatch(parts[0])):
        top = receiver + (f"{top}.{parts.pop(0)}" if not receiver else top)
    if top == "init" and parts and parts[0].isdigit():
        parts.pop(0)  # init.0, init.1: the package's init functions in order, not closures
    return top, sum(1 for p in parts if CLOSURE.fullmatch(p))


def expression_fits(kind: str, expression: str, nodes: list[dict[str, str]]) -> bool:
    """Whether something the compiler could print as `expression` starts at the position."""
    kinds = {n["kind"] for n in nodes}
    texts = {n.get("text", "") for n in nodes}
    if kind == "moved-to-heap" or kind.startswith("leaking-param"):
        word = expression.split(maxsplit=1)[0]
        return word in texts or any(word in t.split(",") for t in texts if t)
    if expression == "func literal":  # a func literal, or the wrapper of a go/defer statement
        return bool(kinds & {"FuncLit", "GoStmt", "DeferStmt"})
    if expression in texts:  # a variable, a selector, a literal boxed into an interface
        return True
    # an inlined call is reported at the call site: the callee's allocation at its parenthesis
    allowed = {"CallParen"}
    if "{" in expression:
        allowed |= {"CompositeBrace", "UnaryExpr"}
    return bool(kinds & allowed)


VERSIONS = sorted(p.stem for p in EXPECTED.glob("*.json"))

# Known defects, each listed until the parser is fixed (the test fails when one is fixed, so the
# entry is removed then). Go <= 1.24 prints the copy of `&node{...}` inlined into the generic
# dictionary wrapper `(*List[string]).Push` at the method's declaration, and the parser keeps that
# copy instead of the body's own position (33:11), which Go 1.25+ keep.
KNOWN = {
    (version, "tests/data/corpus/generic/generic.go:32:6")
    for version in ("go1.21.13", "go1.22.10", "go1.24.11")
}


def test_the_check_covers_every_version() -> None:
    assert len(VERSIONS) >= 5


@pytest.mark.parametrize("version", VERSIONS)
def test_golden_positions_and_functions_agree_with_go_ast(astpos: Path, version: str) -> None:
    rows = json.loads((EXPECTED / f"{version}.json").read_text(encoding="utf-8"))
    assert rows
    problems = []
    known = []
    for row, found in zip(rows, ask(astpos, rows), strict=True):
        _package, file, line, column, function, kind, expression = row[:7]
        where = f"{file}:{line}:{column} {function} {kind} {expression!r}"
        if (version, f"{file}:{line}:{column}") in KNOWN:
            known.append(expression_fits(kind, expression, found["nodes"] or []))
            continue
        top, depth = split_function(function)
        if top != found["decl"] and not (found["var"] and top in {found["var"], "init"}):
            problems.append(f"{where}: go/ast says it is in {found['decl'] or 'var ' + found['var']!r}")
        if depth != found["closures"]:
            problems.append(
                f"{where}: {found['closures']} enclosing function literals, the name says {depth}"
            )
        if not expression_fits(kind, expression, found["nodes"] or []):
            problems.append(f"{where}: go/ast finds {found['nodes']} there")
    assert not problems, "\n".join(problems)
    assert not any(known), "a known defect is fixed: remove it from KNOWN"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("F", ("F", 0)),
        ("F.func1.1", ("F", 2)),
        ("(*T).M.func2", ("(*T).M", 1)),
        ("T.String", ("T.String", 0)),
        ("init.0", ("init", 0)),
        ("init.func1", ("init", 1)),
        ("F.gowrap1", ("F", 0)),
        ("RangeOverFunc-range1", ("RangeOverFunc", 0)),
        ("(*List).Push", ("(*List).Push", 0)),
    ],
)
def test_split_function(name: str, expected: tuple[str, int]) -> None:
    assert split_function(name) == expected


def test_the_check_catches_a_wrong_record(astpos: Path) -> None:
    """A record moved by one column, or given another function, does not pass."""
    rows = json.loads((EXPECTED / "go1.27.3.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r[5] == "moved-to-heap")
    shifted = [row[0], row[1], row[2], row[3] + 1, *row[4:]]
    (found,) = ask(astpos, [shifted])
    assert not expression_fits(shifted[5], shifted[6], found["nodes"] or [])
    other = next(r for r in rows if r[4] != row[4] and r[1] == row[1])
    (found,) = ask(astpos, [other])
    assert split_function(row[4])[0] != found["decl"]
