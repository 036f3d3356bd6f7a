"""Sites the compiler prints as `escapes to heap` that allocate nothing (issue 11, real pairs).

Each test writes a small module, commits a base and a head in a real git repository, builds both
with the real compiler (`app.compare`) and asserts the exact new and fixed lists: long string
constants the compiler prints shortened, nil converted to an interface, empty array and struct
literals, one-byte `string([]byte{b})` conversions.
"""

from __future__ import annotations

from bot import app
from bot.diff import Counting
from bot.gate import GatePolicy, Verdict, evaluate
from bot.gc.causes import CONSTANT_REASON, NIL_REASON, ONE_BYTE_REASON, ZERO_VALUE_REASON
from bot.gc.model import Escape
from bot.gc.run import BuildOptions
from bot.report.text import comparison_text
from tests.conftest import GitRepo, go_mod

LONG = "thousands separator directive must be followed by 3 digit decimals"


def _compare(repo: GitRepo, base: str, head: str) -> app.Comparison:
    return app.compare(repo.path, base, head, BuildOptions(), counting=Counting())


def _listed(records: tuple[Escape, ...]) -> list[tuple[str, str, str]]:
    return [(e.function, e.expression, e.static) for e in records if e.kind.allocates]


def test_a_long_string_constant_printed_shortened_is_static(repo: GitRepo) -> None:
    text = 'package p\n\nfunc F(n int) {\n\tif n > 0 {\n\t\tpanic("RenderFloat(): ' + LONG + '")\n\t}\n}\n'
    base = repo.commit({"go.mod": go_mod(), "p/p.go": text}, "base")
    added = '\nfunc G() {\n\tpanic("G(): ' + LONG + '")\n}\n'
    head = repo.commit({"p/p.go": text.replace("RenderFloat", "FormatFloat") + added}, "message reworded, G")
    c = _compare(repo, base, head)
    shortened = '"FormatFloat(): thousands separator directive must be followed by 3 d...'
    # G's panic is new but allocates nothing; F's reworded message is the same site (one
    # argument of one call rewritten), static in both
    assert _listed(c.result.new) == [("G", '"G(): ' + LONG[:63] + "...", CONSTANT_REASON)]
    assert _listed(c.result.fixed) == []
    assert _listed(c.result.unchanged) == [("F", shortened, CONSTANT_REASON)]
    assert [e.static for e in c.base.escapes if e.kind.allocates] == [CONSTANT_REASON]
    assert c.result.counts() == {"new": 0, "fixed": 0, "unchanged": 0}
    assert evaluate(c.result, GatePolicy()).verdict is Verdict.PASS


STATIC_BASE = """package p

import "net"

type T struct{ a, b int }

type S []int

func IP(s string) (any, error) {
	return net.ParseIP(s), nil
}
"""

STATIC_HEAD = """
func Nil() (any, any, any) {
	return net.IP(nil), []byte(nil), (*T)(nil)
}

func Empty() (any, any, any) {
	return T{}, [0]int{}, [4]byte{}
}

func Digit(v int64) string {
	return string([]byte{byte(v) + 48})
}

func Pair(v int64) string {
	return string([]byte{byte(v), 48})
}

func Slice() any {
	return S{}
}
"""


def test_values_the_runtime_boxes_from_static_data_are_static_and_the_rest_is_new(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": STATIC_BASE}, "base")
    head = repo.commit({"p/p.go": STATIC_BASE + STATIC_HEAD}, "nil, empty literals, one-byte strings")
    c = _compare(repo, base, head)
    # (*T)(nil) is pointer-shaped: the compiler prints nothing for it
    assert _listed(c.result.new) == [
        ("Nil", "net.IP(nil)", NIL_REASON),
        ("Nil", "([]byte)(nil)", NIL_REASON),
        ("Empty", "T{}", ZERO_VALUE_REASON),
        ("Empty", "[0]int{}", ZERO_VALUE_REASON),
        ("Empty", "[4]byte{}", ZERO_VALUE_REASON),
        ("Digit", "string([]byte{...})", ONE_BYTE_REASON),
        ("Pair", "string([]byte{...})", ""),  # two bytes: slicebytetostring calls mallocgc
        ("Slice", "S{}", ""),  # a slice literal: a non-nil slice is allocated
    ]
    assert _listed(c.result.fixed) == []
    # only the real allocations count: S{} is printed twice (its backing array and its box)
    assert [(e.expression, e.count) for e in c.result.new if e.allocates] == [
        ("string([]byte{...})", 1),
        ("S{}", 2),
    ]
    assert c.result.counts()["new"] == 3
    text = comparison_text(c.base, c.head, c.result)
    assert "(nil converted to an interface: no allocation)" in text
    assert "(one-byte string conversion: no allocation)" in text
