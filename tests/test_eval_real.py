"""bench/eval_real.py: the manifest, the scoring, and one run through the real CLI on a real git mirror."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench import eval_real
from bench.eval_real import Item, ManifestError, Reported, parse_manifest, score_pair, summarize
from tests.conftest import GitRepo, go_mod

SHA_A = "a" * 40
SHA_B = "b" * 40


def manifest_data(**pair: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "p1", "repo": "r", "base": SHA_A, "head": SHA_B, "category": "real"}
    base["note"] = "n"
    return {"repo": [{"name": "r", "github": "o/r"}], "pair": [base | pair]}


def item(kind: str, file: str, function: str, expression: str, category: str = "real") -> Item:
    return Item(kind=kind, file=file, function=function, expression=expression, category=category)


def test_the_shipped_manifest_is_valid_and_big_enough() -> None:
    m = eval_real.load_manifest(eval_real.DEFAULT_MANIFEST)
    assert len(m.pairs) >= 30
    assert len({p.repo for p in m.pairs}) >= 5
    assert {p.category for p in m.pairs} == set(eval_real.CATEGORIES)
    assert all(not p.expect for p in m.pairs if p.category == "refactor")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base": "abc"}, "pair 'p1': `base` must be a full 40-hex commit sha"),
        ({"repo": "nope"}, "pair 'p1': unknown repo 'nope'"),
        ({"category": "misc"}, "pair 'p1': unknown category 'misc'"),
        ({"surprise": 1}, "pair[0]: unknown key `surprise`"),
        (
            {
                "category": "refactor",
                "expect": [{"kind": "new", "file": "f", "function": "F", "expression": "x"}],
            },
            "pair 'p1': a refactor expects no new or fixed allocation",
        ),
        (
            {"expect": [{"kind": "added", "file": "f", "function": "F", "expression": "x"}]},
            "pair 'p1' expect[0]: `kind` must be new or fixed, not 'added'",
        ),
    ],
)
def test_a_bad_manifest_names_the_entry(change: dict[str, object], message: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse_manifest(manifest_data(**change))
    assert str(err.value).startswith(message)


def test_items_inherit_the_pair_category() -> None:
    m = parse_manifest(
        manifest_data(
            category="inlining",
            expect=[
                {"kind": "new", "file": "f.go", "function": "F", "expression": "x"},
                {"kind": "new", "file": "f.go", "function": "G", "expression": "y", "category": "real"},
            ],
        )
    )
    assert [i.category for i in m.pairs[0].expect] == ["inlining", "real"]


def test_strict_and_lenient_scores_and_false_escapes() -> None:
    pair = eval_real.Pair(
        id="p",
        repo="r",
        base=SHA_A,
        head=SHA_B,
        category="real",
        note="",
        expect=(
            item("new", "a.go", "F", "make([]int, n)"),
            item("new", "a.go", "F", "&T{...}"),  # reported twice: one match, one false
            item("fixed", "b.go", "G", "s", "inlining"),  # reported in another function: lenient only
            item("new", "c.go", "H", "x"),  # not reported
        ),
        not_allocations=(item("new", "a.go", "F", "300"),),
    )
    reported = [
        Reported("new", "a.go", "F", "make([]int, n)"),
        Reported("new", "a.go", "F", "&T{...}"),
        Reported("new", "a.go", "F", "&T{...}"),
        Reported("fixed", "b.go", "Other", "s"),
        Reported("new", "a.go", "F", "300"),
    ]
    r = score_pair(pair, reported)
    assert (r.strict.matched_expected, r.strict.expected, r.strict.matched_reported, r.strict.reported) == (
        2,
        4,
        2,
        5,
    )
    assert (r.lenient.matched_expected, r.lenient.matched_reported) == (3, 3)
    assert [i.expression for i in r.missed] == ["s", "x"]
    assert [f.expression for f in r.false] == ["&T{...}", "s", "300"]
    assert [f.expression for f in r.non_allocations] == ["300"]
    s = summarize(
        [r, eval_real.failed_pair(pair, error="boom"), eval_real.failed_pair(pair, skipped="later")]
    )
    assert s.pairs == 1
    assert s.recall_by_item == {"real": (3, 2, 2), "inlining": (1, 0, 1)}
    assert s.strict.recall == 0.5
    assert s.lenient.precision == 0.6


def test_reported_items_keep_heap_escapes_that_allocate() -> None:
    def esc(kind: str, expression: str, **extra: object) -> dict[str, object]:
        return {"kind": kind, "file": "f.go", "function": "F", "expression": expression, "line": 3} | extra

    doc = {
        "new": [
            esc("escapes-to-heap", "x"),
            esc("leaking-param", "p"),
            esc("escapes-to-heap", '"k"', allocates=False),
        ],
        "fixed": [esc("moved-to-heap", "v"), esc("escapes-to-heap", "append(e.buf, ...)")],
    }
    assert eval_real.reported_items(doc) == [
        Reported("new", "f.go", "F", "x", 3),
        Reported("fixed", "f.go", "F", "v", 3),
        Reported("fixed", "f.go", "F", "append", 3, shown="append(e.buf, ...)"),
    ]
    assert len(eval_real.reported_items({"builds": [doc, doc]})) == 6


BASE = """package p

type T struct{ A int }

func Sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
"""

HEAD = (
    BASE
    + """
func Buf(n int) []byte {
	return make([]byte, n)
}

func NewT() *T {
	return &T{A: 1}
}
"""
)


def test_a_run_through_the_real_cli(
    tmp_path: Path, repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real repository, mirrored bare as `fetch` leaves it; the real escape-bot and compiler."""
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE}, "base")
    head = repo.commit({"p/p.go": HEAD}, "head")
    mirrors = tmp_path / "mirrors"
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(repo.path), str(mirrors / "acme+demo" / "repo")], check=True
    )
    # the manifest expects Buf's make (right), a wrong expression in NewT (missed) and forgets NewT's
    # literal (a false escape); a refactor pair (head against itself) expects nothing
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        f"""
[[repo]]
name = "demo"
github = "acme/demo"

[[pair]]
id = "adds"
repo = "demo"
base = "{base}"
head = "{head}"
category = "real"
note = "two new functions"
expect = [
  {{ kind = "new", file = "p/p.go", function = "Buf", expression = "make([]byte, n)" }},
  {{ kind = "new", file = "p/p.go", function = "NewT", expression = "new(T)" }},
]

[[pair]]
id = "same"
repo = "demo"
base = "{head}"
head = "{head}"
category = "refactor"
note = "nothing changes"
""",
        encoding="utf-8",
    )
    out_json = tmp_path / "results.json"
    args = ["--manifest", str(manifest), "--mirrors", str(mirrors), "--work", str(tmp_path / "work")]
    assert eval_real.main([*args, "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "missed  new p/p.go NewT: new(T)" in text
    assert "false   new p/p.go:" in text and "NewT: &T{...}" in text
    results = {r["id"]: r for r in json.loads(out_json.read_text())}
    assert results["adds"]["strict"] == {
        "expected": 2,
        "reported": 2,
        "matched_expected": 1,
        "matched_reported": 1,
    }
    assert results["adds"]["missed"] == [["new", "p/p.go", "NewT", "new(T)"]]
    assert results["same"]["strict"]["reported"] == 0
    assert "recall 50.0% (1/2), precision 50.0% (1/2), false escapes 1" in text
    assert results["adds"]["sources"] == ["built", "built"]

    # with --db, the first run stores what it builds and the second takes every side from the
    # store: the same scores from the stored snapshots
    db = ["--db", f"sqlite:///{tmp_path / 'escapes.db'}", "--json", str(out_json)]
    assert eval_real.main([*args, *db]) == 0
    assert "sides taken from the store: 2 of 4" in capsys.readouterr().out  # "same": adds' head, twice
    assert eval_real.main([*args, *db]) == 0
    stored_text = capsys.readouterr().out
    assert "sides taken from the store: 4 of 4" in stored_text
    stored = {r["id"]: r for r in json.loads(out_json.read_text())}
    assert stored["adds"]["sources"] == ["store", "store"]
    assert {k: (r["strict"], r["missed"], r["false"]) for k, r in stored.items()} == {
        k: (r["strict"], r["missed"], r["false"]) for k, r in results.items()
    }

    # a repository that was never fetched is a harness error, named with the fetch to run
    missing = [
        "--mirrors",
        str(tmp_path / "none"),
        "--work",
        str(tmp_path / "work2"),
        "--manifest",
        str(manifest),
    ]
    assert eval_real.main(missing) == 3
    assert "fetch github:acme/demo" in capsys.readouterr().out


def test_a_bad_manifest_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[pair]]\nid = 1\n", encoding="utf-8")
    assert eval_real.main(["--manifest", str(bad)]) == 2
    assert "eval_real: pair[0]: `id` must be a non-empty string" in capsys.readouterr().err
