"""Path globs matched in linear time (pure).

The syntax is the configuration's (docs/configuration.md): `*` and `?` stay within one path
segment, `**` spans segments (`**/` is "any leading directories, or none"), `[...]` is a class
(`[!...]` negates). The meaning is exactly that of the regular expression escape-bot used to
build (`**/` -> `(?:.*/)?`, `**` -> `.*`, `*` -> `[^/]*`, `?` -> `[^/]`), but a backtracking
engine runs such an expression in time exponential in the number of `**/`: `**/**/**/**/x`
against a path of 60 segments tried every way to split it (issue #13, 186 s for 8 of them).

Here the pattern becomes a small NFA whose set of live states advances one character at a time,
so a match costs O(len(text) x len(pattern)) at worst, whatever the pattern. The state sets are
bit masks, and the transitions computed from them are remembered (a lazily built DFA), so the
usual case is one dictionary lookup per character. Patterns are capped at `MAX_PATTERN`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_PATTERN = 1024  # characters: far above any real path glob, small enough to bound the NFA
_MAX_TRANSITIONS = 8192  # remembered (state set, character) pairs per glob before starting over
_MAX_RESULTS = 4096  # remembered texts per glob: the escapes of one file ask about it many times


class GlobError(ValueError):
    """A pattern that is not a valid glob; the message says why."""


@dataclass(frozen=True, slots=True)
class _Edge:
    """Consume one character accepted by `kind` and go to node `to`."""

    kind: str  # "char", "slash", "noslash", "any", "class"
    to: int
    char: str = ""
    klass: re.Pattern[str] | None = None

    def accepts(self, ch: str) -> bool:
        if self.kind == "char":
            return ch == self.char
        if self.kind == "noslash":
            return ch != "/"
        if self.kind == "slash":
            return ch == "/"
        if self.kind == "any":
            return True
        assert self.klass is not None
        return self.klass.fullmatch(ch) is not None


@dataclass(slots=True)
class _Nfa:
    edges: list[list[_Edge]] = field(default_factory=list)
    eps: list[list[int]] = field(default_factory=list)

    def node(self) -> int:
        self.edges.append([])
        self.eps.append([])
        return len(self.edges) - 1


def _class(pattern: str, i: int) -> tuple[re.Pattern[str], int]:
    """The `[...]` starting at `i`, as a one-character regex, and the index after it."""
    end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
    if end < 0:
        raise GlobError(f"invalid glob {pattern!r}: '[' without a closing ']'")
    body = pattern[i + 1 : end]
    if body.startswith("!"):
        body = "^" + body[1:]
    try:
        # one character class, never more: no repetition, so no backtracking
        return re.compile(f"[{body.replace(chr(92), chr(92) * 2)}]"), end + 1
    except re.error as exc:
        raise GlobError(f"invalid glob {pattern!r}: bad character class ({exc.msg})") from None


def _build(pattern: str) -> tuple[_Nfa, int]:
    """The NFA of `pattern` and its accepting node (node 0 is the start)."""
    nfa = _Nfa()
    current = nfa.node()
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        nxt = nfa.node()
        if pattern.startswith("**/", i):  # (?:.*/)?: nothing, or anything that ends with '/'
            loop = nfa.node()
            nfa.eps[current] += [nxt, loop]
            nfa.edges[loop] += [_Edge("any", loop), _Edge("slash", nxt)]
            i += 3
        elif pattern.startswith("**", i):  # .*
            nfa.edges[current].append(_Edge("any", current))
            nfa.eps[current].append(nxt)
            i += 2
        elif ch == "*":  # [^/]*
            nfa.edges[current].append(_Edge("noslash", current))
            nfa.eps[current].append(nxt)
            i += 1
        elif ch == "?":
            nfa.edges[current].append(_Edge("noslash", nxt))
            i += 1
        elif ch == "[":
            klass, i = _class(pattern, i)
            nfa.edges[current].append(_Edge("class", nxt, klass=klass))
        elif ch == "]":
            raise GlobError(f"invalid glob {pattern!r}: ']' without an opening '['")
        else:
            nfa.edges[current].append(_Edge("char", nxt, char=ch))
            i += 1
        current = nxt
    return nfa, current


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


class GlobMatcher:
    """A compiled glob: `match(text)` is True when the whole of `text` matches."""

    __slots__ = ("_accept", "_closure", "_edges", "_results", "_start", "_transitions", "pattern")

    def __init__(self, pattern: str) -> None:
        if not isinstance(pattern, str) or not pattern:
            raise GlobError("a glob must be a non-empty string")
        if len(pattern) > MAX_PATTERN:
            raise GlobError(f"a glob is at most {MAX_PATTERN} characters (this one has {len(pattern):,})")
        self.pattern = pattern
        nfa, accept = _build(pattern)
        self._edges = nfa.edges
        self._closure = [self._close(nfa, node) for node in range(len(nfa.edges))]
        self._accept = 1 << accept
        self._start = self._closure[0]
        self._transitions: dict[tuple[int, str], int] = {}
        self._results: dict[str, bool] = {}

    @staticmethod
    def _close(nfa: _Nfa, node: int) -> int:
        """The nodes reachable from `node` without consuming a character, as a bit mask."""
        seen, stack = 1 << node, [node]
        while stack:
            for to in nfa.eps[stack.pop()]:
                if not seen >> to & 1:
                    seen |= 1 << to
                    stack.append(to)
        return seen

    def _step(self, state: int, ch: str) -> int:
        """The live nodes after reading `ch` in `state`: O(nodes), remembered."""
        out = 0
        for node in _bits(state):
            for edge in self._edges[node]:
                if edge.accepts(ch):
                    out |= self._closure[edge.to]
        if len(self._transitions) >= _MAX_TRANSITIONS:
            self._transitions.clear()
        self._transitions[(state, ch)] = out
        return out

    def match(self, text: str) -> bool:
        """True when the whole of `text` matches: at most len(text) steps of O(pattern) each."""
        known = self._results.get(text)
        if known is not None:
            return known
        if len(self._results) >= _MAX_RESULTS:
            self._results.clear()
        result = self._results[text] = self._run(text)
        return result

    def _run(self, text: str) -> bool:
        state = self._start
        transitions = self._transitions
        for ch in text:
            nxt = transitions.get((state, ch))
            state = self._step(state, ch) if nxt is None else nxt
            if not state:
                return False
        return bool(state & self._accept)

    def __repr__(self) -> str:
        return f"GlobMatcher({self.pattern!r})"
