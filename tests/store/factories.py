"""Synthetic, deterministic snapshots with realistic field sizes (tests and bench/bench_store.py).

Shapes follow the compiler's `-m=2` output: functions like `(*Server).handle.func1`,
messages like `&Buffer{...} escapes to heap`, a source line per escape and, for part of
them, a flow explanation with a few steps. Imported as a plain module (no relative
imports) so that worker scripts and the benchmark can load it from its directory.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.commit import CommitInfo
from bot.gc.model import Cause, Escape, Flow, Kind, ParseStats, Position, Snapshot, Step, Toolchain

MODULE = "example.com/acme/service"
REPOSITORY = "acme/service"
TOOLCHAIN = Toolchain("go1.23.4", "linux", "amd64", tags=("netgo", "osusergo"), flags=("-trimpath",))

_TYPES = ["Server", "Client", "Request", "Handler", "Buffer", "Config", "Token", "Record", "Node", "Pool"]
_VERBS = ["handle", "parse", "encode", "decode", "serve", "flush", "lookup", "resolve", "visit", "build"]
_VARS = ["buf", "req", "resp", "cfg", "node", "item", "key", "msg", "err", "ctx", "opts", "entry"]
_WHYS = ["spill", "assign", "return", "call parameter", "interface-converted", "captured by a closure"]
# Which causes go with which kind in practice (a leak is never "too large", ...).
_CAUSES = {
    Kind.MOVED_TO_HEAP: [
        Cause.CLOSURE_CAPTURE, Cause.RETURNED, Cause.STORED_IN_HEAP, Cause.TOO_LARGE, Cause.OUTLIVES_SCOPE,
        Cause.GO_DEFER,
    ],
    Kind.ESCAPES_TO_HEAP: [
        Cause.INTERFACE_CONVERSION, Cause.RETURNED, Cause.STORED_IN_HEAP, Cause.LEAKING_CALL,
        Cause.UNKNOWN_SIZE, Cause.CHANNEL_SEND, Cause.PANIC, Cause.GLOBAL, Cause.UNKNOWN,
    ],
    Kind.LEAKING_PARAM: [Cause.RETURNED, Cause.STORED_IN_HEAP, Cause.LEAKING_CALL, Cause.GLOBAL],
    Kind.LEAKING_PARAM_CONTENT: [Cause.LEAKING_CALL, Cause.STORED_IN_HEAP, Cause.UNSAFE],
}  # fmt: skip


def sha_for(seed: int | str) -> str:
    """A deterministic 40-hex commit id."""
    return hashlib.sha1(f"commit-{seed}".encode()).hexdigest()


def make_commit(sha: str, *, parents: Sequence[str] = (), index: int = 0) -> CommitInfo:
    """Commit metadata for `sha` (times one minute apart by `index`)."""
    when = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=index)
    return CommitInfo(
        sha=sha,
        parents=tuple(parents),
        author_name="Ada Lovelace",
        author_email="ada@example.com",
        authored_at=when,
        committed_at=when + timedelta(seconds=30),
        subject=f"service: change number {index}",
        branch="main",
    )


def _function(rng: random.Random) -> str:
    t, v = rng.choice(_TYPES), rng.choice(_VERBS)
    shape = rng.randrange(5)
    if shape == 0:
        return f"New{t}"
    if shape == 1:
        return f"(*{t}).{v.capitalize()}"
    if shape == 2:
        return f"(*{t}).{v}.func{rng.randint(1, 3)}"
    if shape == 3:
        return f"{v}{t}"
    return f"({t}).{v.capitalize()}Into"


def _escape(rng: random.Random, package: str, file: str, line: int) -> Escape:
    var, typ = rng.choice(_VARS), rng.choice(_TYPES)
    kind = rng.choices(list(Kind), weights=[3, 8, 4, 2])[0]
    if kind is Kind.MOVED_TO_HEAP:
        expression, message = var, f"moved to heap: {var}"
        line_text = f"\tvar {var} {typ}"
    elif kind is Kind.ESCAPES_TO_HEAP:
        expression = rng.choice(
            [
                f"&{typ}{{...}}",
                f"make([]byte, {rng.choice(['n', '4096', 'len(p)'])})",
                f'fmt.Sprintf("%s: %v", {var}.Name, err)',
                "func literal",
                f"{var} (interface)",
            ]
        )
        message = f"{expression} escapes to heap"
        line_text = f"\t{var} := {expression.removesuffix(' (interface)')} // {rng.choice(_VERBS)} the {typ}"
    elif kind is Kind.LEAKING_PARAM:
        expression = var
        message = f"leaking param: {var}" + rng.choice(["", " to result ~r0 level=0"])
        line_text = f"func (s *{typ}) {rng.choice(_VERBS).capitalize()}({var} *{typ}) error {{"
    else:
        expression, message = var, f"leaking param content: {var}"
        line_text = f"func {rng.choice(_VERBS)}{typ}({var} []{typ}) int {{"
    explanation: tuple[Flow, ...] = ()
    if rng.random() < 0.4:
        steps = tuple(
            Step(where=rng.choice([expression, var, f"~r{rng.randint(0, 1)}"]), why=rng.choice(_WHYS), at=at)
            for at in (
                Position(file, line + rng.randint(0, 6), rng.randint(2, 40)) for _ in range(rng.randint(1, 3))
            )
        )
        explanation = (Flow(dst=rng.choice(["~r0", "{heap}", f"{var}.buf"]), src=expression, steps=steps),)
    return Escape(
        package=package,
        file=file,
        line=line,
        column=rng.randint(2, 60),
        function=_function(rng),
        kind=kind,
        expression=expression,
        message=message,
        cause=rng.choice(_CAUSES[kind]),
        explanation=explanation,
        count=rng.choices([1, 2], weights=[19, 1])[0],
        line_text=line_text,
    )


def make_escapes(
    n_packages: int, escapes_per_package: int, seed: int = 0, *, files_per_package: int = 8
) -> list[Escape]:
    """`n_packages` packages of `escapes_per_package` escapes spread over a few files each."""
    rng = random.Random(seed)
    escapes: list[Escape] = []
    for p in range(n_packages):
        package = f"{MODULE}/internal/pkg{p:03d}"
        directory = f"internal/pkg{p:03d}"
        for i in range(escapes_per_package):
            n = i % files_per_package
            file = f"{directory}/{_VERBS[n % len(_VERBS)]}_{n}.go"
            escapes.append(_escape(rng, package, file, rng.randint(10, 900)))
    return escapes


def edit_package(escapes: Sequence[Escape], package: str, rng: random.Random) -> list[Escape]:
    """A typical edit of one file of `package`: lines inserted above some escapes, and
    sometimes one escape added or removed. Other files and packages are unchanged."""
    files = sorted({e.file for e in escapes if e.package == package})
    if not files:
        return list(escapes)
    file = rng.choice(files)
    at, shift = rng.randint(10, 900), rng.randint(1, 12)
    edited = [replace(e, line=e.line + shift) if e.file == file and e.line >= at else e for e in escapes]
    roll = rng.random()
    if roll < 0.3:
        edited.append(_escape(rng, package, file, at + rng.randint(0, shift)))
    elif roll < 0.5:
        in_file = [i for i, e in enumerate(edited) if e.file == file]
        if len(in_file) > 1:
            del edited[rng.choice(in_file)]
    return edited


def snapshot_of(escapes: Sequence[Escape], sha: str, toolchain: Toolchain = TOOLCHAIN) -> Snapshot:
    """A snapshot of `escapes` at `sha`, with plausible parse statistics."""
    packages = len({e.package for e in escapes})
    stats = ParseStats(
        lines=len(escapes) * 6,
        packages=packages + 3,
        unknown_lines=1,
        generated_skipped=2,
        duplicates_collapsed=len(escapes) // 50,
        unknown_samples=("./x.go:1:2: some new diagnostic",),
    )
    return Snapshot(revision=sha, commit=sha, toolchain=toolchain, escapes=tuple(escapes), stats=stats)


def make_snapshot(
    n_packages: int, escapes_per_package: int, seed: int = 0, *, sha: str | None = None
) -> Snapshot:
    """A synthetic snapshot; the commit is `sha_for(seed)` unless given."""
    return snapshot_of(make_escapes(n_packages, escapes_per_package, seed), sha or sha_for(seed))


_SHARED_BASE = make_escapes(40, 25, seed=100)


def shared_base_snapshot(sha: str, edit: int) -> Snapshot:
    """One fixed 40-package module with package number `edit` edited (none if `edit` < 0)."""
    escapes = list(_SHARED_BASE)
    if edit >= 0:
        package = sorted({e.package for e in _SHARED_BASE})[edit]
        escapes = edit_package(_SHARED_BASE, package, random.Random(edit))
    return snapshot_of(escapes, sha)
