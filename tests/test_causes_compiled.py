"""Every cause id the toolchain can produce, from a real compile of a small module each."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.gc.model import Cause, Escape, Kind
from bot.gc.run import BuildOptions, collect
from tests.conftest import go_mod, write_files

# cause -> (Go source of package p, function, expression or moved variable)
CASES: dict[str, tuple[Cause, str, str, str]] = {
    "returned pointer": (
        Cause.RETURNED,
        "type T struct{ A int }\n\nfunc F() *T {\n\tt := T{A: 1}\n\treturn &t\n}\n",
        "F",
        "t",
    ),
    "returned slice": (
        Cause.RETURNED,
        "func F(n int) []int {\n\ts := make([]int, n)\n\treturn s\n}\n",
        "F",
        "make([]int, n)",
    ),
    "returned map": (
        Cause.RETURNED,
        'func F() map[string]int {\n\treturn map[string]int{"a": 1}\n}\n',
        "F",
        "map[string]int{...}",
    ),
    "named result": (Cause.RETURNED, "func F() (r *int) {\n\tt := 3\n\tr = &t\n\treturn\n}\n", "F", "t"),
    "literal in a named result": (
        Cause.RETURNED,  # `make` is stored in `&T{...}`, which goes into the named result `b`
        "type T struct{ s []int }\n\nfunc F(n int) (b *T) {\n\tb = &T{s: make([]int, n)}\n\treturn\n}\n",
        "F",
        "make([]int, n)",
    ),
    "named result set in a deferred recover": (
        Cause.RETURNED,  # the closure captures `err` by reference and does not escape
        'import "fmt"\n\ntype E struct{ m string }\n\nfunc (e *E) Error() string { return e.m }\n\n'
        "func F() (err error) {\n\tdefer func() {\n\t\tif r := recover(); r != nil {\n"
        "\t\t\terr = &E{m: fmt.Sprint(r)}\n\t\t}\n\t}()\n\treturn nil\n}\n",
        "F.func1",
        "&E{...}",
    ),
    "channel send": (
        Cause.CHANNEL_SEND,
        "type T struct{ A int }\n\nfunc F(ch chan *T) {\n\tt := &T{}\n\tch <- t\n}\n",
        "F",
        "&T{}",
    ),
    "closure capture": (
        Cause.CLOSURE_CAPTURE,
        "func F() func() int {\n\tx := 0\n\treturn func() int { x++; return x }\n}\n",
        "F",
        "x",
    ),
    "stored in slice": (
        Cause.STORED_IN_HEAP,
        "type T struct{ A int }\n\nfunc F(xs []*T) {\n\tv := T{}\n\txs[0] = &v\n}\n",
        "F",
        "v",
    ),
    "stored in map": (
        Cause.STORED_IN_HEAP,
        "func F(m map[*int]bool) {\n\tk := 1\n\tm[&k] = true\n}\n",
        "F",
        "k",
    ),
    "stored through pointer": (
        Cause.STORED_IN_HEAP,
        "type N struct{ next *N }\n\nfunc F(n *N) {\n\tm := N{}\n\tn.next = &m\n}\n",
        "F",
        "m",
    ),
    "appended": (
        Cause.STORED_IN_HEAP,
        "func F(xs []*int) []*int {\n\tv := 1\n\treturn append(xs, &v)\n}\n",
        "F",
        "v",
    ),
    "global": (
        Cause.GLOBAL,
        "type T struct{ A int }\n\nvar G *T\n\nfunc F() {\n\tg := T{}\n\tG = &g\n}\n",
        "F",
        "g",
    ),
    "fmt.Println argument": (
        Cause.INTERFACE_CONVERSION,
        'import "fmt"\n\nfunc F(a int) {\n\tfmt.Println(a)\n}\n',
        "F",
        "a",
    ),
    "interface method": (
        Cause.LEAKING_CALL,
        "type Sink interface{ Take(*int) }\n\nfunc F(s Sink) {\n\tv := 1\n\ts.Take(&v)\n}\n",
        "F",
        "v",
    ),
    "func value": (Cause.LEAKING_CALL, "func F(f func(*int)) {\n\tv := 2\n\tf(&v)\n}\n", "F", "v"),
    "defer in loop": (
        Cause.GO_DEFER,
        "func F(n int) {\n\tfor i := 0; i < n; i++ {\n\t\tdefer func() {}()\n\t}\n}\n",
        "F",
        "func literal",
    ),
    "go statement": (Cause.GO_DEFER, "func F() {\n\tgo func() {}()\n}\n", "F", "func literal"),
    "panic": (
        Cause.PANIC,
        'import "fmt"\n\nfunc F(x int) {\n\tpanic(fmt.Sprint(x))\n}\n',
        "F",
        "fmt.Sprint(... argument...)",
    ),
    "too large": (
        Cause.TOO_LARGE,
        "func F() {\n\tc := new([10000]int)\n\t_ = c\n}\n",
        "F",
        "new([10000]int)",
    ),
    "too large array": (Cause.TOO_LARGE, "func F() {\n\tvar b [1 << 20]byte\n\t_ = b\n}\n", "F", "b"),
    "zero-sized element": (
        Cause.UNKNOWN_SIZE,
        "func F(n int) []struct{} {\n\ts := make([]struct{}, n)\n\treturn s\n}\n",
        "F",
        "make([]struct {}, n)",
    ),
    "outer loop variable": (
        Cause.OUTLIVES_SCOPE,
        "func F() int {\n\tvar p *int\n\tfor i := 0; i < 3; i++ {\n"
        "\t\tx := i\n\t\tp = &x\n\t}\n\treturn *p\n}\n",
        "F",
        "x",
    ),
    "uintptrescapes": (
        Cause.UNSAFE,
        'import "unsafe"\n\n//go:uintptrescapes\n//go:noinline\nfunc keep(p uintptr) {}\n\n'
        "func F() {\n\tx := 42\n\tkeep(uintptr(unsafe.Pointer(&x)))\n}\n",
        "F",
        "x",
    ),
}


def _collect(tmp_path: Path, body: str) -> list[Escape]:
    write_files(tmp_path, {"go.mod": go_mod(), "p/p.go": "package p\n\n" + body})
    return collect(tmp_path, BuildOptions()).escapes


@pytest.mark.parametrize("name", sorted(CASES))
def test_cause_from_real_compiler(tmp_path: Path, name: str) -> None:
    cause, body, function, subject = CASES[name]
    escapes = [e for e in _collect(tmp_path, body) if e.kind.allocates and e.function == function]
    matching = [e for e in escapes if e.expression == subject]
    assert matching, f"no escape of {subject!r} in {[(e.expression, e.cause) for e in escapes]}"
    assert matching[0].cause is cause, matching[0]
    assert matching[0].explanation, "the explanation (flows) must be kept"


def test_every_producible_cause_is_covered() -> None:
    covered = {case[0] for case in CASES.values()}
    # `unknown` is what nothing matched; it cannot be produced on purpose
    assert covered == set(Cause) - {Cause.UNKNOWN}


def test_seed_example_module(tmp_path: Path) -> None:
    """The seed's own categories in one package: the causes a PR comment groups by."""
    body = (
        'import "fmt"\n\ntype T struct{ A int }\n\n'
        "func P() *T { t := T{}; return &t }\n"
        "func S() []int { return make([]int, 10) }\n"
        "func M() map[int]int { return map[int]int{} }\n"
        "func C(ch chan *T) { ch <- &T{} }\n"
        "func K() func() int { n := 0; return func() int { n++; return n } }\n"
        "func X(xs []*T) { v := T{}; xs[0] = &v }\n"
        "func L(a int) { fmt.Println(a) }\n"
    )
    got = {(e.function, e.expression): e.cause for e in _collect(tmp_path, body) if e.kind.allocates}
    assert got[("P", "t")] is Cause.RETURNED
    assert got[("S", "make([]int, 10)")] is Cause.RETURNED
    assert got[("M", "map[int]int{}")] is Cause.RETURNED
    assert got[("C", "&T{}")] is Cause.CHANNEL_SEND
    assert got[("K", "n")] is Cause.CLOSURE_CAPTURE
    assert got[("X", "v")] is Cause.STORED_IN_HEAP
    assert got[("L", "a")] is Cause.INTERFACE_CONVERSION
    assert Kind.MOVED_TO_HEAP.allocates
