"""Each gate rule on real compiled examples, through `escape-bot diff --fail-on-new`."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import GitRepo, go_mod

BASE = {"go.mod": go_mod(), "p/p.go": "package p\n", "hot/hot.go": "package hot\n", "p/gen.go": "package p\n"}

TWO = """package p

func A() *int {
	a := 1
	return &a
}

func B() *int {
	b := 2
	return &b
}
"""


def diff(repo: GitRepo, base: str, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "diff", "--repo", str(repo.path), "--base", base, "--format", "json",
         "--fail-on-new", "--no-store", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, data, proc.stderr


def test_default_gate_fails_on_any_new_escape(repo: GitRepo) -> None:
    base = repo.commit(BASE, "base")
    repo.commit({"p/p.go": TWO}, "two escapes")
    code, data, _ = diff(repo, base)
    assert code == 1
    assert data["gate"]["verdict"] == "fail" and data["gate"]["reason"] == "2 new heap escapes"


def test_budget_passed_and_exceeded(repo: GitRepo) -> None:
    base = repo.commit({**BASE, ".escape-bot.toml": "[gate]\nmax-new = 2\n"}, "base")
    repo.commit({"p/p.go": TWO}, "two escapes")
    code, data, _ = diff(repo, base)
    assert (code, data["gate"]["verdict"]) == (0, "pass")
    assert data["gate"]["reason"] == "2 new heap escapes, within the budget of 2"
    repo.commit(
        {".escape-bot.toml": "[[gate.budget]]\npackage = 'example.com/m/p'\nmax-new = 1\n"}, "tighter"
    )
    code, data, _ = diff(repo, base)
    assert code == 1
    assert data["gate"]["exceeded"] == ["package example.com/m/p: 2 new, max 1"]


def test_never_budget_beats_the_allow_list(repo: GitRepo) -> None:
    config = """
[gate]
max-new = 10

[[gate.budget]]
package = "example.com/m/hot"
max-new = "never"

[[allow]]
package = "example.com/m/hot"
function = "*"
reason = "would allow anything"
"""
    base = repo.commit({**BASE, ".escape-bot.toml": config}, "base")
    repo.commit({"hot/hot.go": "package hot\n\nfunc H() *int {\n\tx := 1\n\treturn &x\n}\n"}, "hot escape")
    code, data, _ = diff(repo, base)
    assert code == 1 and data["gate"]["allowed"] == []
    assert "no new heap escapes allowed" in data["gate"]["reason"]


def test_allow_list_by_function(repo: GitRepo) -> None:
    config = (
        '[[allow]]\npackage = "example.com/m/p"\nfunction = "A"\nreason = "A is called once at start-up"\n'
    )
    base = repo.commit({**BASE, ".escape-bot.toml": config}, "base")
    repo.commit({"p/p.go": TWO}, "two escapes")
    code, data, _ = diff(repo, base)
    assert code == 1  # B is not allowed
    assert [(a["function"], a["reason"]) for a in data["gate"]["allowed"]] == [
        ("A", "allowed (allow[0]): A is called once at start-up")
    ]
    assert data["gate"]["reason"] == "1 new heap escape, 1 allowed"


def test_inline_suppression_with_and_without_reason(repo: GitRepo) -> None:
    base = repo.commit(BASE, "base")
    allowed = TWO.replace("\ta := 1\n", "\ta := 1 //escape-bot:allow returned to a pool by the caller\n")
    allowed = allowed.replace(
        "\tb := 2\n", "\t//escape-bot:allow the result outlives the call by design\n\tb := 2\n"
    )
    repo.commit({"p/p.go": allowed}, "suppressed")
    code, data, _ = diff(repo, base)
    assert code == 0, data
    reasons = sorted(a["reason"] for a in data["gate"]["allowed"])
    assert reasons == [
        "allowed inline (line 4): returned to a pool by the caller",
        "allowed inline (line 9): the result outlives the call by design",
    ]
    repo.commit({"p/p.go": TWO.replace("\ta := 1\n", "\ta := 1 //escape-bot:allow\n")}, "no reason")
    code, data, stderr = diff(repo, base)
    assert code == 2 and data == {}
    assert "p/p.go:4: //escape-bot:allow needs a reason" in stderr


def test_gcassert_noescape_is_always_gated(repo: GitRepo) -> None:
    base = repo.commit({**BASE, ".escape-bot.toml": "[gate]\nmax-new = 10\n"}, "base")
    annotated = TWO.replace("func A()", "// A must not allocate.\n//\n//gcassert:noescape\nfunc A()")
    repo.commit({"p/p.go": annotated}, "annotated")
    code, data, _ = diff(repo, base)
    assert code == 1
    assert [e["function"] for e in data["gate"]["broken_annotations"]] == ["A"]
    assert data["gate"]["reason"] == "1 new heap escape where //gcassert:noescape says none may be"
    markdown = subprocess.run(
        [sys.executable, "-m", "bot", "diff", "--repo", str(repo.path), "--base", base,
         "--format", "markdown", "--no-store"],
        capture_output=True, text=True, timeout=300, check=False,
    ).stdout  # fmt: skip
    assert "the annotation is broken" in markdown


def test_generated_file_is_ignored(repo: GitRepo) -> None:
    base = repo.commit(BASE, "base")
    generated = "// Code generated by stringer. DO NOT EDIT.\n\n" + TWO
    repo.commit({"p/gen.go": generated}, "generated")
    code, data, _ = diff(repo, base)
    assert (code, data["counts"]["new"]) == (0, 0)


def test_build_configurations_are_reported_separately(repo: GitRepo) -> None:
    config = '[[build]]\nname = "amd64"\ngoarch = "amd64"\n\n[[build]]\nname = "i386"\ngoarch = "386"\n'
    base = repo.commit({**BASE, ".escape-bot.toml": config}, "base")
    big = "package p\n\nfunc Big() int {\n\tc := new([10000]int)\n\treturn c[0]\n}\n"
    repo.commit({"p/p.go": big}, "big array")
    code, data, _ = diff(repo, base)
    assert code == 1
    builds = {b["build"]: b for b in data["builds"]}
    assert builds["amd64"]["counts"]["new"] == 1 and builds["amd64"]["head"]["goarch"] == "amd64"
    assert builds["i386"]["counts"]["new"] == 0 and builds["i386"]["gate"]["verdict"] == "pass"
