"""Accuracy on real code: `escape-bot diff` on hand-labelled commit pairs of public Go repositories.

    python bench/eval_real.py                          # every pair of bench/manifests/real_pairs.toml
    python bench/eval_real.py --only btree-clone --format markdown
    python bench/eval_real.py --mirrors /work/.mirror --work /tmp/eval-real --json results.json

The manifest names, per pair, a repository and two commits and lists what really changed: the heap
allocations the head adds (`new`) or removes (`fixed`), each with its file, function and the
expression as the compiler prints it, and a category (real, rename, moved, inlining, refactor).
Constants converted to interfaces are listed under `not_allocations`: they allocate nothing, so a
tool that reports them as new is wrong. No source code is copied: only names, shas and expressions.

Repositories are read from bare mirrors (`fetch github:OWNER/NAME` puts one at
`MIRRORS/OWNER+NAME/repo`); each is cloned once with `git clone --shared` under `--work`, because
`escape-bot` wants a working tree. Every pair goes through the real CLI, `escape-bot diff --format
json --no-store`, with the shared Go build cache. Per pair and in total this prints recall and
precision, strict (file + function + expression) and lenient (file + expression), and every false
escape. Exit 0 whatever the figures; 2 for a bad manifest or option; 3 when a pair could not be run
(a missing mirror, `escape-bot` failing, unreadable output).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = ROOT / "bench" / "manifests" / "real_pairs.toml"
CATEGORIES = ("real", "rename", "moved", "inlining", "append", "refactor")
HEAP_KINDS = ("moved-to-heap", "escapes-to-heap")
GO_ENV = {"GOTOOLCHAIN": "local", "GOPROXY": "off", "GOSUMDB": "off"}


class ManifestError(Exception):
    """The manifest is not what this script reads (one line, names the entry)."""


# --- the manifest ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One expected change: a heap allocation added (`new`) or removed (`fixed`) by the head."""

    kind: str  # new | fixed
    file: str
    function: str
    expression: str
    category: str
    check: str = ""  # how it was checked by hand

    def strict(self) -> tuple[str, str, str, str]:
        return (self.kind, self.file, self.function, self.expression)

    def lenient(self) -> tuple[str, str, str]:
        return (self.kind, self.file, self.expression)


@dataclass(frozen=True, slots=True)
class Repo:
    """A public repository and where its mirror is."""

    name: str
    github: str  # OWNER/NAME
    modules: tuple[str, ...] = ()  # module selection passed as --module (globs, `!` excludes)

    @property
    def mirror_name(self) -> str:
        return self.github.replace("/", "+")


@dataclass(frozen=True, slots=True)
class Pair:
    """Two commits of one repository and what really changed between them."""

    id: str
    repo: str
    base: str
    head: str
    category: str
    note: str
    expect: tuple[Item, ...] = ()
    not_allocations: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class Manifest:
    repos: dict[str, Repo]
    pairs: tuple[Pair, ...]


def _str(entry: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise ManifestError(f"{where}: `{key}` must be a non-empty string")
    return value


def _keys(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ManifestError(f"{where}: unknown key `{unknown[0]}`")


def _item(entry: Any, where: str, default_category: str) -> Item:
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: must be a table")
    _keys(entry, {"kind", "file", "function", "expression", "category", "check"}, where)
    kind = _str(entry, "kind", where)
    if kind not in ("new", "fixed"):
        raise ManifestError(f"{where}: `kind` must be new or fixed, not {kind!r}")
    category = _str(entry, "category", where, default_category)
    if category not in CATEGORIES:
        raise ManifestError(f"{where}: unknown category {category!r} (one of {', '.join(CATEGORIES)})")
    return Item(
        kind=kind,
        file=_str(entry, "file", where),
        function=_str(entry, "function", where),
        expression=_str(entry, "expression", where),
        category=category,
        check=_str(entry, "check", where, ""),
    )


def parse_manifest(data: dict[str, Any]) -> Manifest:
    """Validate a loaded manifest; ManifestError names the first bad entry."""
    _keys(data, {"repo", "pair"}, "manifest")
    repos: dict[str, Repo] = {}
    for i, entry in enumerate(data.get("repo", [])):
        where = f"repo[{i}]"
        _keys(entry, {"name", "github", "modules", "note"}, where)
        name = _str(entry, "name", where)
        github = _str(entry, "github", where)
        if github.count("/") != 1:
            raise ManifestError(f"{where}: `github` must be OWNER/NAME")
        modules = entry.get("modules", [])
        if not isinstance(modules, list) or not all(isinstance(m, str) and m for m in modules):
            raise ManifestError(f"{where}: `modules` must be a list of globs")
        if name in repos:
            raise ManifestError(f"{where}: repository {name!r} listed twice")
        repos[name] = Repo(name=name, github=github, modules=tuple(modules))
    pairs: list[Pair] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("pair", [])):
        where = f"pair[{i}]"
        _keys(entry, {"id", "repo", "base", "head", "category", "note", "expect", "not_allocations"}, where)
        pid = _str(entry, "id", where)
        where = f"pair {pid!r}"
        if pid in seen:
            raise ManifestError(f"{where}: id listed twice")
        seen.add(pid)
        repo = _str(entry, "repo", where)
        if repo not in repos:
            raise ManifestError(f"{where}: unknown repo {repo!r}")
        category = _str(entry, "category", where)
        if category not in CATEGORIES:
            raise ManifestError(f"{where}: unknown category {category!r} (one of {', '.join(CATEGORIES)})")
        shas = []
        for key in ("base", "head"):
            sha = _str(entry, key, where)
            if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
                raise ManifestError(f"{where}: `{key}` must be a full 40-hex commit sha")
            shas.append(sha)
        expect = tuple(
            _item(e, f"{where} expect[{j}]", category) for j, e in enumerate(entry.get("expect", []))
        )
        nonalloc = tuple(
            _item(e, f"{where} not_allocations[{j}]", category)
            for j, e in enumerate(entry.get("not_allocations", []))
        )
        if category == "refactor" and expect:
            raise ManifestError(f"{where}: a refactor expects no new or fixed allocation")
        pairs.append(
            Pair(
                id=pid,
                repo=repo,
                base=shas[0],
                head=shas[1],
                category=category,
                note=_str(entry, "note", where),
                expect=expect,
                not_allocations=nonalloc,
            )
        )
    if not pairs:
        raise ManifestError("manifest: no [[pair]]")
    return Manifest(repos=repos, pairs=tuple(pairs))


def load_manifest(path: Path) -> Manifest:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ManifestError(f"{path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    return parse_manifest(data)


# --- scoring (pure) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reported:
    """One heap escape that `escape-bot diff` reported as new or fixed."""

    kind: str  # new | fixed
    file: str
    function: str
    expression: str  # as the compiler prints it (what the manifest labels)
    line: int = 0
    shown: str = ""  # as escape-bot printed it, when it differs

    def strict(self) -> tuple[str, str, str, str]:
        return (self.kind, self.file, self.function, self.expression)

    def lenient(self) -> tuple[str, str, str]:
        return (self.kind, self.file, self.expression)

    def label(self) -> str:
        return f"{self.kind} {self.file}:{self.line} {self.function}: {self.shown or self.expression}"


def compiler_expression(expression: str) -> str:
    """The compiler's text for an expression escape-bot may print otherwise.

    Grouped appends to one destination (docs/causes.md, `append-growth`) are shown as
    `append(e.buf, ...)`; the compiler, and so the manifest, says `append`.
    """
    if expression.startswith("append(") and expression.endswith(", ...)"):
        return "append"
    return expression


def reported_items(doc: dict[str, Any]) -> list[Reported]:
    """The heap escapes of a `diff --format json` document (leaking params and non-allocations left out)."""
    builds = doc.get("builds", [doc])
    items: list[Reported] = []
    for build in builds:
        for kind in ("new", "fixed"):
            for e in build[kind]:
                # `allocates: false` (constants boxed into interfaces) is not a reported allocation
                if e["kind"] not in HEAP_KINDS or e.get("allocates", True) is False:
                    continue
                expression = compiler_expression(e["expression"])
                items.append(
                    Reported(
                        kind=kind,
                        file=e["file"],
                        function=e["function"],
                        expression=expression,
                        line=int(e.get("line", 0)),
                        shown=e["expression"] if expression != e["expression"] else "",
                    )
                )
    return items


@dataclass(frozen=True, slots=True)
class Score:
    """One pair (or a sum of pairs) under one matching rule."""

    expected: int
    reported: int
    matched_expected: int  # expected items found
    matched_reported: int  # reported items that are expected

    def __add__(self, other: Score) -> Score:
        return Score(
            self.expected + other.expected,
            self.reported + other.reported,
            self.matched_expected + other.matched_expected,
            self.matched_reported + other.matched_reported,
        )

    @property
    def recall(self) -> float | None:
        return self.matched_expected / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        return self.matched_reported / self.reported if self.reported else None


ZERO = Score(0, 0, 0, 0)


def _match(expected: Sequence[Any], reported: Sequence[Any]) -> tuple[list[bool], list[bool]]:
    """Multiset matching of keys: which expected and which reported entries found a partner."""
    pool = Counter(reported)
    found = []
    for key in expected:
        ok = pool[key] > 0
        if ok:
            pool[key] -= 1
        found.append(ok)
    pool = Counter(expected)
    used = []
    for key in reported:
        ok = pool[key] > 0
        if ok:
            pool[key] -= 1
        used.append(ok)
    return found, used


@dataclass(frozen=True, slots=True)
class PairResult:
    """What one pair scored, and what was missed or wrongly reported."""

    pair: Pair
    strict: Score
    lenient: Score
    missed: tuple[Item, ...]  # expected, not reported (strict)
    missed_lenient: tuple[Item, ...]
    false: tuple[Reported, ...]  # reported, not expected (strict)
    false_lenient: tuple[Reported, ...]
    non_allocations: tuple[Reported, ...]  # false escapes that the manifest knows allocate nothing
    error: str = ""  # the pair could not be run (a harness error)
    skipped: str = ""  # the pair needs what this escape-bot lacks (not an error)
    sources: tuple[str, ...] = ()  # base and head: `built` or `store` (with --db)


def score_pair(pair: Pair, reported: Sequence[Reported]) -> PairResult:
    """Score the reported heap escapes of one pair against its expectations."""
    exp_found, rep_used = _match([i.strict() for i in pair.expect], [r.strict() for r in reported])
    len_found, len_used = _match([i.lenient() for i in pair.expect], [r.lenient() for r in reported])
    false = tuple(r for r, ok in zip(reported, rep_used, strict=True) if not ok)
    nonalloc = {i.lenient() for i in pair.not_allocations}
    return PairResult(
        pair=pair,
        strict=Score(len(pair.expect), len(reported), sum(exp_found), sum(rep_used)),
        lenient=Score(len(pair.expect), len(reported), sum(len_found), sum(len_used)),
        missed=tuple(i for i, ok in zip(pair.expect, exp_found, strict=True) if not ok),
        missed_lenient=tuple(i for i, ok in zip(pair.expect, len_found, strict=True) if not ok),
        false=false,
        false_lenient=tuple(r for r, ok in zip(reported, len_used, strict=True) if not ok),
        non_allocations=tuple(r for r in false if r.lenient() in nonalloc),
    )


def failed_pair(pair: Pair, error: str = "", skipped: str = "") -> PairResult:
    """A pair that did not run: its expectations are listed, nothing was reported."""
    score = Score(len(pair.expect), 0, 0, 0)
    return PairResult(pair, score, score, pair.expect, pair.expect, (), (), (), error=error, skipped=skipped)


@dataclass(slots=True)
class Summary:
    """Totals over pairs, overall and per category."""

    strict: Score = ZERO
    lenient: Score = ZERO
    pairs: int = 0
    false: int = 0
    false_lenient: int = 0
    refactor_false: int = 0
    by_category: dict[str, tuple[Score, Score, int, int]] = field(default_factory=dict)
    recall_by_item: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # expected, strict, lenient


def summarize(results: Iterable[PairResult]) -> Summary:
    """Sum the pairs that ran (failed and skipped pairs are reported, not counted)."""
    s = Summary()
    for r in results:
        if r.error or r.skipped:
            continue
        s.pairs += 1
        s.strict += r.strict
        s.lenient += r.lenient
        s.false += len(r.false)
        s.false_lenient += len(r.false_lenient)
        if r.pair.category == "refactor":
            s.refactor_false += len(r.false)
        st, le, n, f = s.by_category.get(r.pair.category, (ZERO, ZERO, 0, 0))
        s.by_category[r.pair.category] = (st + r.strict, le + r.lenient, n + 1, f + len(r.false))
        missed = {id(i) for i in r.missed}
        missed_lenient = {id(i) for i in r.missed_lenient}
        for item in r.pair.expect:
            e, st_n, le_n = s.recall_by_item.get(item.category, (0, 0, 0))
            s.recall_by_item[item.category] = (
                e + 1,
                st_n + (id(item) not in missed),
                le_n + (id(item) not in missed_lenient),
            )
    return s


# --- running --------------------------------------------------------------------------------------


class HarnessError(Exception):
    """A pair or a repository could not be run (one line)."""


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def mirror_dir(mirrors: Path, repo: Repo) -> Path:
    """The bare mirror of `repo` that `fetch` made (`repo/` or, for clones with a work tree, `repo/.git`)."""
    base = mirrors / repo.mirror_name / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "objects").is_dir() and (candidate / "HEAD").is_file():
            return candidate
    raise HarnessError(f"no mirror of {repo.github} at {base}: fetch it with `fetch github:{repo.github}`")


def clone(mirrors: Path, work: Path, repo: Repo) -> Path:
    """A working clone of the mirror (escape-bot needs a work tree); objects shared, made once."""
    target = work / repo.mirror_name
    if (target / ".git").is_dir():
        return target
    source = mirror_dir(mirrors, repo)
    work.mkdir(parents=True, exist_ok=True)
    # --shared: the mirror's object store by reference, so every commit of the mirror resolves,
    # even one no branch reaches any more; --no-checkout: escape-bot builds in its own worktrees
    proc = _git("clone", "--quiet", "--shared", "--no-checkout", str(source), str(target))
    if proc.returncode != 0:
        raise HarnessError(f"git clone of {source} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return target


def cli_supports_module(command: Sequence[str], cwd: Path) -> bool:
    """Whether this checkout's `escape-bot diff` has module selection (`--module GLOB`)."""
    proc = subprocess.run([*command, "diff", "--help"], capture_output=True, text=True, check=False, cwd=cwd)
    return "--module" in proc.stdout


def run_diff(
    command: Sequence[str], clone_dir: Path, pair: Pair, modules: Sequence[str], db: str = ""
) -> dict[str, Any]:
    """`escape-bot diff --format json --no-store` of one pair, through the real CLI; with `db`, the
    snapshots are stored there (as the repository's manifest name) and taken from it when stored."""
    for sha in (pair.base, pair.head):
        if _git("-C", str(clone_dir), "cat-file", "-e", f"{sha}^{{commit}}").returncode != 0:
            raise HarnessError(f"commit {sha[:12]} is not in the mirror (fetch it again?)")
    args = [*command, "diff", "--repo", str(clone_dir), "--base", pair.base, "--head", pair.head]
    args += ["--format", "json", *(["--db", db, "--name", pair.repo] if db else ["--no-store"])]
    for glob in modules:
        args += ["--module", glob]
    # cwd: the clone's parent, so that `python -m bot` never imports a bot/ of the current directory
    proc = subprocess.run(
        args, capture_output=True, text=True, check=False, env=os.environ | GO_ENV, cwd=clone_dir.parent
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise HarnessError(f"escape-bot diff exited {proc.returncode}: {lines[-1] if lines else 'no output'}")
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"escape-bot diff printed no JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise HarnessError("escape-bot diff printed JSON that is not an object")
    return doc


# --- output ---------------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def pair_lines(r: PairResult) -> list[str]:
    """A pair's line and, indented, its misses and false escapes."""
    p = r.pair
    head = f"{p.id:<32} {p.category:<9}"
    if r.error:
        return [f"{head} ERROR {r.error}"]
    if r.skipped:
        return [f"{head} skipped: {r.skipped}"]
    lines = [
        f"{head} expected {r.strict.expected:>2} reported {r.strict.reported:>2}  "
        f"strict R {pct(r.strict.recall):>6} P {pct(r.strict.precision):>6}  "
        f"lenient R {pct(r.lenient.recall):>6} P {pct(r.lenient.precision):>6}  false {len(r.false)}"
    ]
    lines += [f"    missed  {i.kind} {i.file} {i.function}: {i.expression}" for i in r.missed]
    nonalloc = set(map(id, r.non_allocations))
    lines += [
        f"    false   {f.label()}" + ("  (allocates nothing)" if id(f) in nonalloc else "") for f in r.false
    ]
    return lines


def summary_lines(s: Summary) -> list[str]:
    lines = [
        f"total: {s.pairs} pairs, {s.strict.expected} expected, {s.strict.reported} reported",
        f"  strict  (file+function+expression): recall {pct(s.strict.recall)} "
        f"({s.strict.matched_expected}/{s.strict.expected}), precision {pct(s.strict.precision)} "
        f"({s.strict.matched_reported}/{s.strict.reported}), false escapes {s.false}",
        f"  lenient (file+expression):          recall {pct(s.lenient.recall)} "
        f"({s.lenient.matched_expected}/{s.lenient.expected}), precision {pct(s.lenient.precision)} "
        f"({s.lenient.matched_reported}/{s.lenient.reported}), false escapes {s.false_lenient}",
        f"  false escapes on pure refactors: {s.refactor_false}",
    ]
    return lines


def markdown(results: Sequence[PairResult], s: Summary) -> str:
    """The tables of docs/accuracy.md."""
    out = [
        "| category | pairs | expected | reported | strict recall | strict precision "
        "| lenient recall | lenient precision | false escapes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for cat in CATEGORIES:
        if cat not in s.by_category:
            continue
        st, le, n, f = s.by_category[cat]
        out.append(
            f"| {cat} | {n} | {st.expected} | {st.reported} | {pct(st.recall)} | {pct(st.precision)} "
            f"| {pct(le.recall)} | {pct(le.precision)} | {f} |"
        )
    out.append(
        f"| **total** | {s.pairs} | {s.strict.expected} | {s.strict.reported} | {pct(s.strict.recall)} "
        f"| {pct(s.strict.precision)} | {pct(s.lenient.recall)} | {pct(s.lenient.precision)} | {s.false} |"
    )
    out += [
        "",
        "| item category | expected | found (strict) | found (lenient) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for cat in CATEGORIES:
        if cat in s.recall_by_item:
            e, st_n, le_n = s.recall_by_item[cat]
            out.append(f"| {cat} | {e} | {st_n} | {le_n} |")
    out += [
        "",
        "| pair | repository | base..head | category | expected | reported | strict R | strict P "
        "| lenient R | lenient P | false |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        p = r.pair
        lead = f"| `{p.id}` | {p.repo} | `{p.base[:10]}..{p.head[:10]}` | {p.category}"
        if r.error or r.skipped:
            why = f"error: {r.error}" if r.error else f"skipped: {r.skipped}"
            out.append(f"{lead} | {why} | | | | | | |")
            continue
        out.append(
            f"{lead} | {r.strict.expected} | {r.strict.reported} "
            f"| {pct(r.strict.recall)} | {pct(r.strict.precision)} | {pct(r.lenient.recall)} "
            f"| {pct(r.lenient.precision)} | {len(r.false)} |"
        )
    return "\n".join(out)


def result_dict(r: PairResult) -> dict[str, Any]:
    def score(x: Score) -> dict[str, Any]:
        return {
            "expected": x.expected,
            "reported": x.reported,
            "matched_expected": x.matched_expected,
            "matched_reported": x.matched_reported,
        }

    return {
        "id": r.pair.id,
        "repo": r.pair.repo,
        "base": r.pair.base,
        "head": r.pair.head,
        "category": r.pair.category,
        "error": r.error or None,
        "skipped": r.skipped or None,
        "sources": list(r.sources),
        "strict": score(r.strict),
        "lenient": score(r.lenient),
        "missed": [i.strict() for i in r.missed],
        "false": [f.label() for f in r.false],
        "non_allocations_reported": [f.label() for f in r.non_allocations],
    }


# --- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument(
        "--mirrors", type=Path, default=Path("/work/.mirror"), help="where `fetch` puts mirrors"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/escape-bot-eval-real"), help="working clones")
    parser.add_argument("--only", action="append", default=[], help="pair id (repeatable)")
    parser.add_argument("--repo", action="append", default=[], help="only this manifest repo (repeatable)")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.add_argument("--json", type=Path, help="also write per-pair results here")
    parser.add_argument(
        "--db",
        default="",
        help="store snapshots in this database (sqlite:///PATH, postgresql://...) instead of --no-store: "
        "a second run takes every side from the store",
    )
    parser.add_argument(
        "--escape-bot",
        default=f"{shlex.quote(sys.executable)} -m bot",
        help="the command to run (default: this Python's `-m bot`; run from --work, never from here)",
    )
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(args.manifest)
    except ManifestError as exc:
        print(f"eval_real: {exc}", file=sys.stderr)
        return 2
    unknown = [i for i in args.only if i not in {p.id for p in manifest.pairs}]
    if unknown:
        print(f"eval_real: no pair {unknown[0]!r} in {args.manifest}", file=sys.stderr)
        return 2
    pairs = [
        p
        for p in manifest.pairs
        if (not args.only or p.id in args.only) and (not args.repo or p.repo in args.repo)
    ]
    command = shlex.split(args.escape_bot)
    args.work.mkdir(parents=True, exist_ok=True)
    has_module = cli_supports_module(command, args.work)
    results: list[PairResult] = []
    clones: dict[str, Path | HarnessError] = {}
    for pair in pairs:
        repo = manifest.repos[pair.repo]
        if repo.modules and not has_module:
            # a nested module of this repository needs third-party modules: without --module the
            # whole diff fails to build, so the pair waits for module selection
            results.append(
                failed_pair(pair, skipped="needs module selection (--module), which this escape-bot lacks")
            )
            if args.format == "text":
                print("\n".join(pair_lines(results[-1])), flush=True)
            continue
        try:
            if pair.repo not in clones:
                try:
                    clones[pair.repo] = clone(args.mirrors, args.work, repo)
                except HarnessError as exc:
                    clones[pair.repo] = exc
            where = clones[pair.repo]
            if isinstance(where, HarnessError):
                raise where
            doc = run_diff(command, where, pair, repo.modules, args.db)
            sources = (str(doc.get("base_source")), str(doc.get("head_source")))
            result = replace(score_pair(pair, reported_items(doc)), sources=sources)
        except (HarnessError, KeyError, TypeError, ValueError) as exc:
            text = str(exc) if isinstance(exc, HarnessError) else f"unreadable diff JSON ({exc!r})"
            result = failed_pair(pair, text)
        results.append(result)
        if args.format == "text":
            print("\n".join(pair_lines(result)), flush=True)
    summary = summarize(results)
    if args.format == "markdown":
        print(markdown(results, summary))
    print("\n".join(summary_lines(summary)))
    if args.db:
        stored = sum(side == "store" for r in results for side in r.sources)
        print(f"sides taken from the store: {stored} of {2 * sum(bool(r.sources) for r in results)}")
    skipped = [r for r in results if r.skipped]
    if skipped:
        print(f"{len(skipped)} pairs skipped: " + ", ".join(r.pair.id for r in skipped))
    errors = [r for r in results if r.error]
    if args.json:
        args.json.write_text(json.dumps([result_dict(r) for r in results], indent=2) + "\n", encoding="utf-8")
    if errors:
        print(f"eval_real: {len(errors)} of {len(results)} pairs could not be run", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
