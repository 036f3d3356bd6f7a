"""Property tests: the parser never raises on arbitrary text, and never loses a well-formed
record mixed into noise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gc.model import Kind
from bot.gc.parse import parse_log

ident = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
noise_line = st.one_of(
    st.text(max_size=120),
    st.builds(lambda n, t: f"p.go:{n}:3: {t}", st.integers(0, 10**6), st.text(max_size=60)),
    st.sampled_from(
        [
            "p.go:1:1:   flow: {heap} ← x:",
            "p.go:1:1:     from x (assign) at p.go:2:2",
            "p.go:1:1: x escapes to heap in F:",
            "# weird [header",
            "{not json",
            '{"Action": "build-output", "ImportPath": "q", "Output": 7}',
            "p.go:x:y: moved to heap: z",
            ":::::",
            "p.go:3:2: parameter p leaks to {storage for {{{ with derefs=",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(noise_line, max_size=40))
def test_never_raises(lines: list[str]) -> None:
    records, stats = parse_log(lines)
    assert stats.lines == len(lines)
    assert all(e.line >= 0 for e in records)


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(noise_line, max_size=15),
    after=st.lists(noise_line, max_size=15),
    var=ident,
    line=st.integers(1, 5000),
    col=st.integers(1, 200),
)
def test_well_formed_record_survives_noise(
    before: list[str], after: list[str], var: str, line: int, col: int
) -> None:
    pos = f"example.com/m/q/zz_target.go:{line}:{col}"
    record = [
        "# example.com/m/q",
        f"{pos}: {var} escapes to heap in Target:",
        f"{pos}:   flow: ~r0 ← &{var}:",
        f"{pos}:     from &{var} (address-of) at {pos}",
        f"{pos}:     from return &{var} (return) at {pos}",
        f"{pos}: moved to heap: {var}",
    ]
    # noise before the block belongs to other packages; after it, only to its own
    lines = [*before, *record, "# example.com/other", *after]
    records, _ = parse_log(lines)
    found = [e for e in records if e.package == "example.com/m/q" and e.file.endswith("zz_target.go")]
    assert [(e.kind, e.expression, e.line, e.column, e.function) for e in found] == [
        (Kind.MOVED_TO_HEAP, var, line, col, "Target")
    ]
    assert found[0].cause.value == "returned"
