"""The same allocation written differently, or moved to another file and function, is not new
(issue 11, real pairs); compiler-internal result names (`~r0`) never reach users.

Real compiler, real git, exact new and fixed lists (tests/test_accuracy_compiled.py's style).
"""

from __future__ import annotations

from bot import app
from bot.diff import Counting
from bot.gc.model import Escape
from bot.gc.run import BuildOptions
from tests.conftest import GitRepo, go_mod

HELPER = """package p

type Req struct{ vals map[string]string }

func (r *Req) Set(k, v string) {
	if r.vals == nil {
		r.vals = map[string]string{}
	}
	r.vals[k] = v
}
"""

SET_ALL = """package p

//go:noinline
func setAll(r *Req, keys []string) {
	for _, k := range keys {
		r.Set(k, k)
	}
}
"""

ROUTE = """package p

var last []string

func Route(r *Req, keys []string) {
	last = keys
	setAll(r, keys)
}
"""

ROUTE_INLINED = """package p

var last []string

func Route(r *Req, keys []string) {
	last = keys
	// the loop of setAll, written here
	for _, k := range keys {
		r.Set(k, k)
	}
}
"""

WRITE_BASE = """package p

import (
	"fmt"
	"io"
	"reflect"
)

func Write(data any, w io.Writer) {
	w.Write([]byte(data.(string)))
}

func Kind(v reflect.Value) error {
	kind := v.Kind()
	return fmt.Errorf("unsupported kind %s", kind)
}

func Buf(n int) []byte {
	return make([]byte, n)
}
"""

WRITE_HEAD = """package p

import (
	"fmt"
	"io"
	"reflect"
)

func Write(data any, w io.Writer) {
	str, ok := data.(string)
	if !ok {
		str = fmt.Sprint(data)
	}
	w.Write([]byte(str))
}

func Kind(v reflect.Value) error {
	return fmt.Errorf("unsupported kind %s", v.Kind())
}

func Buf(n int) []byte {
	return append([]byte(nil), make([]byte, n)...)
}
"""


def _compare(repo: GitRepo, base: str, head: str) -> app.Comparison:
    return app.compare(repo.path, base, head, BuildOptions(), counting=Counting())


def _heap(records: tuple[Escape, ...]) -> list[tuple[str, str, str]]:
    return [(e.file, e.function, e.expression) for e in records if e.kind.allocates]


def test_a_loop_moved_to_another_file_and_function_is_not_new(repo: GitRepo) -> None:
    base = repo.commit(
        {"go.mod": go_mod(), "p/helper.go": HELPER, "p/set.go": SET_ALL, "p/route.go": ROUTE}, "base"
    )
    head = repo.commit({"p/route.go": ROUTE_INLINED}, "setAll written into Route", remove=("p/set.go",))
    c = _compare(repo, base, head)
    assert _heap(c.result.new) == [] and _heap(c.result.fixed) == []
    # (Route existed in base: its parameter leaks to `last`; setAll is gone in head)
    moved = [e for e in c.result.unchanged if e.origin == "(*Req).Set"]
    assert [(e.file, e.function, e.expression) for e in moved] == [
        ("p/route.go", "Route", "map[string]string{}")
    ]


def test_an_argument_written_differently_is_not_new_and_internal_names_never_show(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": WRITE_BASE}, "base")
    head = repo.commit({"p/p.go": WRITE_HEAD}, "rewrite arguments; Buf allocates differently")
    c = _compare(repo, base, head)
    # the conversion and the boxed kind, only written differently, are matched; Buf allocates
    # differently (the appended copy, not the make): a real change, reported
    assert _heap(c.result.new) == [("p/p.go", "Buf", "append(([]byte)(nil), ...)")]
    assert _heap(c.result.fixed) == [("p/p.go", "Buf", "make([]byte, n)")]
    assert ("p/p.go", "Write", "([]byte)(str)") in _heap(c.result.unchanged)
    kinds = [e for e in c.head.escapes if e.function == "Kind" and e.kind.allocates]
    assert [(e.expression, e.message) for e in kinds if "Kind" in e.expression] == [
        ("v.Kind()", "v.Kind() escapes to heap")
    ]
    assert not [e for e in (*c.base.escapes, *c.head.escapes) if "~" in e.expression or "~r" in e.message]
