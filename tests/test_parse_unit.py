"""Parser behaviour on hand-written log fragments of each Go version's form."""

from __future__ import annotations

import json

from bot.gc.model import Cause, Kind
from bot.gc.parse import LogParser, module_file_mapper, parse_lines, parse_log

NEW_FORM = """# example.com/m/p
example.com/m/p/p.go:10:2: t escapes to heap in RetPtr:
example.com/m/p/p.go:10:2:   flow: ~r0 ← &t:
example.com/m/p/p.go:10:2:     from &t (address-of) at example.com/m/p/p.go:11:9
example.com/m/p/p.go:10:2:     from return &t (return) at example.com/m/p/p.go:11:2
example.com/m/p/p.go:10:2: moved to heap: t
"""

OLD_FORM = """# example.com/m/p
./p.go:10:2: t escapes to heap:
./p.go:10:2:   flow: ~r0 = &t:
./p.go:10:2:     from &t (address-of) at ./p.go:11:9
./p.go:10:2:     from return &t (return) at ./p.go:11:2
./p.go:9:6: can inline RetPtr with cost 10 as: func() *T { t := T{...}; return &t }
./p.go:10:2: moved to heap: t
"""


def test_new_form_with_function_in_header() -> None:
    (e,), stats = parse_log(NEW_FORM.splitlines())
    assert (e.file, e.line, e.column, e.function, e.kind, e.expression) == (
        "example.com/m/p/p.go",
        10,
        2,
        "RetPtr",
        Kind.MOVED_TO_HEAP,
        "t",
    )
    assert e.cause is Cause.RETURNED
    assert [(f.dst, f.src) for f in e.explanation] == [("~r0", "&t")]
    assert [s.why for s in e.explanation[0].steps] == ["address-of", "return"]
    assert e.explanation[0].steps[0].at is not None and e.explanation[0].steps[0].at.line == 11
    assert stats.unknown_lines == 0 and stats.packages == 1


def test_old_form_without_function_uses_declarations() -> None:
    (e,), stats = parse_log(OLD_FORM.splitlines())
    assert e.function == "RetPtr"  # nearest `can inline` declaration above, no source given
    assert e.file == "p.go"
    assert e.cause is Cause.RETURNED
    assert [(f.dst, f.src) for f in e.explanation] == [("~r0", "&t")]
    assert stats.unknown_lines == 0


def test_old_form_function_from_source() -> None:
    source = (
        "package p\n\ntype T struct{}\n\nfunc A() {}\n\n"
        + "func (x *T) RetPtr() *T {\n\n\n\tt := T{}\n\treturn &t\n}\n"
    )
    log = OLD_FORM.replace(
        "./p.go:9:6: can inline RetPtr with cost 10 as: func() *T { t := T{...}; return &t }\n", ""
    )
    (e,), _ = parse_log(log.splitlines(), sources=lambda name: source if name == "./p.go" else None)
    assert e.function == "(*T).RetPtr"
    assert e.line_text == "t := T{}"


def test_explanations_link_by_position_not_text() -> None:
    log = [
        "# m/p",
        "p.go:5:10: x escapes to heap in F:",
        "p.go:5:10:   flow: {heap} ← &{storage for x}:",
        "p.go:5:10:     from x (spill) at p.go:5:10",
        "p.go:5:10:     from sink = x (assign) at p.go:5:7",
        "p.go:5:10: 1000 escapes to heap",
    ]
    (e,), _ = parse_log(log)
    assert e.expression == "1000" and e.function == "F" and e.cause is Cause.GLOBAL


def test_json_events_are_unwrapped() -> None:
    events = [
        json.dumps({"ImportPath": "example.com/m/p", "Action": "build-output", "Output": NEW_FORM}),
        json.dumps({"ImportPath": "example.com/m/p", "Action": "build-fail"}),
    ]
    (e,), stats = parse_log(events)
    assert e.package == "example.com/m/p" and e.function == "RetPtr"
    assert stats.unknown_lines == 0


def test_json_output_drops_header_lines_only_at_a_line_start() -> None:
    """`# package` lines inside an event's Output are the framing's (dropped, not counted twice);
    `# ` inside a line (a string literal in a message) is the line's own text."""
    literal = 'example.com/m/p/p.go:4:9: "# " + s escapes to heap\n'
    output = NEW_FORM + "# example.com/m/p\n" + literal
    events = [json.dumps({"ImportPath": "example.com/m/p", "Action": "build-output", "Output": output})]
    records, stats = parse_log(events)
    assert [e.expression for e in records] == ['"# " + s', "t"]
    assert stats.unknown_lines == 0 and stats.packages == 1
    # the framing names the package: both header lines count once each, as in the text log
    _, text_stats = parse_log(output.splitlines())
    assert stats.lines == text_stats.lines


def test_test_package_headers() -> None:
    log = ["# example.com/m/p [example.com/m/p.test]", "p_test.go:3:2: moved to heap: x"]
    (e,), _ = parse_log(log)
    assert e.package == "example.com/m/p"
    assert e.cause is Cause.UNKNOWN  # no explanation at -m


def test_noise_is_skipped_and_unknown_counted() -> None:
    log = [
        "# m/p",
        "p.go:3:6: can inline F with cost 2 as: func() {  }",
        "p.go:4:6: cannot inline G: function too complex: cost 100 exceeds budget 80",
        "p.go:5:13: inlining call to fmt.Println",
        "p.go:6:2: x does not escape",
        "p.go:7:2: G capturing by ref: x (addr=false assign=true width=8)",
        "p.go:8:9: zero-copy string->[]byte conversion",
        "p.go:9:9: devirtualizing a.run to dog",
        "p.go:10:9: an entirely new message",
        "garbage without position",
    ]
    records, stats = parse_log(log)
    assert records == []
    assert stats.unknown_lines == 2
    assert stats.unknown_samples == ("p.go:10:9: an entirely new message", "garbage without position")


def test_only_go_command_files_are_skipped_and_generated_headers_are_marked() -> None:
    log = [
        "# m/p",
        "<autogenerated>:1: leaking param: .this",
        "_cgo_gotypes.go:9:2: moved to heap: c",
        "x.cgo1.go:9:2: moved to heap: d",
        "p.go:3:2: moved to heap: a",
        "gen.go:3:2: moved to heap: b",
        "fast_cgo_util.go:3:2: moved to heap: e",
        "net_cgo_shim/_cgo_x.go:3:2: moved to heap: f",
    ]
    sources = {"gen.go": "// Code generated by stringer. DO NOT EDIT.\n\npackage p\n", "p.go": "package p\n"}
    records, stats = parse_log(log, sources=sources.get)
    assert [(e.file, e.expression, e.generated) for e in records] == [
        ("fast_cgo_util.go", "e", False),
        ("gen.go", "b", True),
        ("net_cgo_shim/_cgo_x.go", "f", False),
        ("p.go", "a", False),
    ]
    assert stats.generated_skipped == 2  # heap escapes only: the wrapper's leak is a contract


def test_multiset_kept_generics_collapsed_inlined_copies_reported_with_origin() -> None:
    log = [
        "# m/p",
        "p.go:3:6: can inline mk with cost 5 as: func() *T { return &T{...} }",
        "p.go:5:24: inlining call to mk",
        "p.go:3:23: &T{...} escapes to heap in mk:",
        "p.go:3:23: &T{...} escapes to heap",
        "p.go:5:24: &T{...} escapes to heap in A:",
        "p.go:5:24: &T{...} escapes to heap",
        "p.go:8:17: moved to heap: v",
        "p.go:8:17: v escapes to heap in Gen[go.shape.int]:",
        "p.go:8:17: v escapes to heap in Gen[go.shape.string]:",
        "p.go:8:17: moved to heap: v",
        "p.go:8:6: v escapes to heap in Gen[string]:",
        "p.go:8:6: moved to heap: v",
        "p.go:9:19: []int{...} escapes to heap in D:",
        "p.go:9:19: []int{...} escapes to heap in D:",
        "p.go:9:19: []int{...} escapes to heap",
        "p.go:9:19: []int{...} escapes to heap",
    ]
    records, stats = parse_log(log)
    got = [(e.line, e.function, e.expression, e.count, e.origin, e.origin_at) for e in records]
    assert got == [
        (3, "mk", "&T{...}", 1, "", ""),
        (5, "A", "&T{...}", 1, "mk", "p.go:3"),
        (8, "Gen", "v", 1, "", ""),
        (9, "D", "[]int{...}", 2, "", ""),
    ]
    assert stats.duplicates_collapsed == 2  # the second shape, the wrapper


def test_closure_compiled_twice_is_one_site_without_internal_names() -> None:
    log = [
        "# m/p",
        "p.go:11:15: n escapes to heap in F.func1.func1#s4obnG1cEaI=#:",
        "p.go:11:15:   flow: {heap} ← &n:",
        "p.go:11:15:     from sink = &n (assign) at p.go:11:29",
        "p.go:11:15: moved to heap: n",
        "p.go:11:15: n escapes to heap in F.func1.1:",
        "p.go:11:15:   flow: {heap} ← &n:",
        "p.go:11:15:     from sink = &n (assign) at p.go:11:29",
        "p.go:11:15: moved to heap: n",
        "p.go:20:15: n escapes to heap in G.func1.func1#RMgI/RZtu4k=#:",
        "p.go:20:15: moved to heap: n",
    ]
    records, _ = parse_log(log)
    got = [(e.line, e.function, e.count) for e in records]
    assert got == [(11, "F.func1.1", 1), (20, "G.func1.func1", 1)]


def test_appends_to_one_destination_are_one_site() -> None:
    log = [
        "# m/p",
        "p.go:5:16: append(e.buf, s...) escapes to heap in (*E).Log:",
        "p.go:5:16:   flow: {heap} ← &{storage for append(e.buf, s...)}:",
        "p.go:5:16:     from e.buf = append(e.buf, s...) (assign) at p.go:5:8",
        "p.go:6:16: append(e.buf, byte(32)) escapes to heap in (*E).Log:",
        "p.go:6:16:   flow: {heap} ← &{storage for append(e.buf, byte(32))}:",
        "p.go:6:16:     from e.buf = append(e.buf, byte(32)) (assign) at p.go:6:8",
        "p.go:7:16: append(out, f(a, b)) escapes to heap in (*E).Log:",
        "p.go:5:16: append escapes to heap",
        "p.go:6:16: append escapes to heap",
        "p.go:7:16: append escapes to heap",
        "p.go:9:13: append escapes to heap",
    ]
    sources = {"p.go": "package p\n" * 8 + "\t_ = 1; x = append(x, 1)\n"}
    records, _ = parse_log(log, sources=sources.get)
    got = [(e.line, e.function, e.expression, e.appends, e.count) for e in records]
    assert got == [
        (5, "(*E).Log", "append(e.buf, ...)", 2, 1),
        (7, "(*E).Log", "append(out, ...)", 1, 1),
        (9, "init", "append(x, ...)", 1, 1),
    ]


def test_constants_are_marked_static() -> None:
    log = [
        "# m/p",
        'p.go:3:14: "11223" escapes to heap',
        "p.go:3:23: 42 escapes to heap",
        "p.go:4:9: time.Duration(1000000000) escapes to heap",
        "p.go:5:9: strconv.Itoa(1) escapes to heap",
        "p.go:6:9: x escapes to heap",
        "p.go:7:9: Name escapes to heap",  # Go ≤ 1.21 prints a named constant by its name
        "p.go:7:15: Code escapes to heap",
    ]
    sources = {
        "p.go": "package p\n\n\tfmt.Println(...)\n\treturn time.Second\n\treturn strconv.Itoa(1)\n\n"
        '\tfmt.Println(Name, Code)\n\nconst Name = "x"\n\nconst (\n\tA = iota\n\tCode\n)\n'
    }
    records, _ = parse_log(log, sources=sources.get)
    assert [(e.expression, bool(e.static), e.allocates) for e in records] == [
        ('"11223"', True, False),
        ("42", True, False),
        ("time.Duration(1000000000)", True, False),
        ("strconv.Itoa(1)", False, True),
        ("x", False, True),
        ("Name", True, False),
        ("Code", True, False),
    ]


def test_leaking_param_with_storage_destination() -> None:
    log = [
        "# m/p",
        "p.go:4:37: &L{...} escapes to heap in (*L).Push:",
        "p.go:4:37:   flow: ~r0 ← &{storage for &L{...}}:",
        "p.go:4:37:     from &L{...} (spill) at p.go:4:37",
        "p.go:4:37:     from return &L{...} (return) at p.go:4:30",
        "p.go:4:7: parameter l leaks to {storage for &L{...}} for (*L).Push with derefs=0:",
        "p.go:4:7:   flow: {storage for &L{...}} ← l:",
        "p.go:4:7:     from L{...} (struct literal element) at p.go:4:39",
        "p.go:4:7: leaking param: l",
        "p.go:4:37: &L{...} escapes to heap",
    ]
    records, _ = parse_log(log)
    leak = next(e for e in records if e.kind is Kind.LEAKING_PARAM)
    assert leak.function == "(*L).Push"
    assert leak.cause is Cause.RETURNED  # the literal holding it is returned


def test_streaming_yields_per_package() -> None:
    parser = LogParser()
    out = list(parser.feed("# a"))
    out += list(parser.feed("a.go:1:2: moved to heap: x"))
    assert out == []
    out = list(parser.feed("# b"))  # the next header finishes package a
    assert [e.package for e in out] == ["a"]
    assert [e.package for e in parser.close()] == []
    assert [e.package for e in parse_lines(["# c", "c.go:1:2: moved to heap: y"])] == ["c"]


def test_module_file_mapper_prefers_longest_module() -> None:
    mapper = module_file_mapper({"example.com/m": "", "example.com/m/sub": "sub"})
    assert mapper("example.com/m/p/x.go") == "p/x.go"
    assert mapper("example.com/m/sub/q/y.go") == "sub/q/y.go"
    assert mapper("./z.go") == "z.go"


def test_function_name_helpers() -> None:
    from bot.gc.names import enclosing_names, is_closure, strip_internal

    assert strip_internal("init.func1.func1#RMgI/RZtu4k=#") == "init.func1.func1"
    assert [
        n for n in ("F", "(*T).M", "init.0", "F.func1", "F.func1.2", "F-range1", "F.gowrap1") if is_closure(n)
    ] == [
        "F.func1",
        "F.func1.2",
        "F-range1",
        "F.gowrap1",
    ]
    assert enclosing_names("(*T).M.func1.2") == ["(*T).M.func1.2", "(*T).M.func1", "(*T).M"]
    assert enclosing_names("pool.func1") == ["pool.func1", "pool"]
