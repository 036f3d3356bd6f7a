"""bot/globs.py: the linear-time glob matcher means what the regular expression meant.

The reference below is the translation escape-bot used before (a backtracking regex); hypothesis
compares the two on small patterns and paths, where the regex is still fast. Speed is measured in
bench/bench_globs.py, not here: the pathological case only has its result asserted.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, Glob, parse_config
from bot.globs import MAX_PATTERN, GlobError, GlobMatcher


def _reference(pattern: str) -> str:
    """The former translation: `**/` -> `(?:.*/)?`, `**` -> `.*`, `*` -> `[^/]*`, `?` -> `[^/]`."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            body = pattern[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("vendor/**", ["vendor/a.go", "vendor/x/y/z.go", "vendor/"], ["vendor", "a/vendor/x.go"]),
        ("**/vendor/**", ["vendor/a.go", "a/b/vendor/c/d.go"], ["vendors/a.go", "a/vendor"]),
        ("**/*.go", ["a.go", "a/b/c.go"], ["a.gox", "a/b/c.go/d"]),
        ("*.go", ["a.go", ".go"], ["a/b.go"]),
        ("p/?.go", ["p/a.go"], ["p/ab.go", "p//.go"]),
        ("gen/[!x]*.go", ["gen/a.go", "gen/ab.go"], ["gen/x.go", "gen/.go"]),
        ("[a-c]**", ["a", "b/x/y", "c"], ["d", ""]),
        ("example.com/m/hot/**", ["example.com/m/hot/x"], ["example.com/m/hot", "example.com/m/hotter"]),
        ("(*T).*", ["(*T).M", "(*T).M.func1"], ["T.M"]),
        ("a**b", ["ab", "a/x/b", "axb"], ["a/x/c"]),
        ("**", ["", "anything/at/all"], []),
    ],
)
def test_examples(pattern: str, yes: list[str], no: list[str]) -> None:
    matcher = GlobMatcher(pattern)
    assert [t for t in yes if not matcher.match(t)] == []
    assert [t for t in no if matcher.match(t)] == []


_PATTERN_PART = st.sampled_from(["**/", "**", "*", "?", "a", "b", "/", ".", "[ab]", "[!a]", "[a-]"])
_PATH_PART = st.sampled_from(["a", "b", "/", ".", "c", "-"])


@settings(max_examples=600, deadline=None)
@given(st.lists(_PATTERN_PART, min_size=1, max_size=7), st.lists(_PATH_PART, max_size=12))
def test_same_meaning_as_the_regular_expression(parts: list[str], path: list[str]) -> None:
    pattern, text = "".join(parts), "".join(path)
    expected = re.fullmatch(_reference(pattern), text) is not None
    assert GlobMatcher(pattern).match(text) is expected, (pattern, text)


def test_nested_globstars_against_a_deep_path() -> None:
    # the case that took 186 s as a regex (bench/bench_globs.py measures it)
    pattern = GlobMatcher("**/**/**/**/**/**/**/**/x")
    deep = "/".join(f"d{i}" for i in range(60))
    assert not pattern.match(deep + "/y")
    assert pattern.match(deep + "/x")
    assert not GlobMatcher("**/**/**/**/**/**/**/**/x/**/y").match(deep * 3)


def test_invalid_and_oversized_patterns() -> None:
    with pytest.raises(GlobError, match="'\\[' without a closing"):
        GlobMatcher("a[b")
    with pytest.raises(GlobError, match="'\\]' without an opening"):
        GlobMatcher("a]")
    with pytest.raises(GlobError, match="bad character class"):
        GlobMatcher("[z-a]")
    with pytest.raises(GlobError, match=f"at most {MAX_PATTERN} characters"):
        GlobMatcher("*" * (MAX_PATTERN + 1))
    assert GlobMatcher("*" * MAX_PATTERN).match("abc")
    # through the configuration: one line naming the key
    with pytest.raises(ConfigError, match=r"^\.escape-bot\.toml: exclude\[0\]: a glob is at most 1024"):
        parse_config(f"exclude = ['{'a' * 2000}']")
    with pytest.raises(ConfigError, match=r"allow\[0\]\.package: invalid glob 'x\['"):
        Glob("x[", key="allow[0].package")
