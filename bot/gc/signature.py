"""Named results of a Go function from its source text (pure).

The compiler calls unnamed results `~r0`, `~r1`, but a named result keeps its name, so a flow
whose root is `r` reads like an ordinary variable. Knowing the names tells `returned` from
`outlives-scope` (docs/causes.md).
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"[A-Za-z_]\w*")


def _group(text: str, start: int, open_ch: str, close_ch: str) -> int:
    """Index just past the bracket group opening at `start` (or len(text))."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def named_results(func_text: str) -> frozenset[str]:
    """Names of the results of the function whose text starts with its `func` keyword."""
    text = func_text[: func_text.find("{")] if "{" in func_text else func_text
    # keep brace-free prefix only when no type literal with braces precedes; good enough for
    # signatures, where `struct{...}`/`interface{...}` results are rare and unnamed in practice
    i = _skip_space(text, len("func"))
    if text[i : i + 1] == "(":  # receiver, or the parameters of a literal
        i = _skip_space(text, _group(text, i, "(", ")"))
    m = _IDENT.match(text, i)
    if m:  # a declaration: name, optional type parameters, parameters
        i = _skip_space(text, m.end())
        if text[i : i + 1] == "[":
            i = _skip_space(text, _group(text, i, "[", "]"))
        if text[i : i + 1] == "(":
            i = _skip_space(text, _group(text, i, "(", ")"))
    if text[i : i + 1] != "(":
        return frozenset()
    inner = text[i + 1 : _group(text, i, "(", ")") - 1]
    entries = _split_top(inner)
    if not any(len(e.split()) >= 2 and _IDENT.fullmatch(e.split()[0]) for e in entries):
        return frozenset()  # `(int, error)`: unnamed
    names = {e.split()[0] for e in entries if e.split() and _IDENT.fullmatch(e.split()[0])}
    return frozenset(n for n in names if n != "_")


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts
