"""Function names as the compiler prints them, and generic instantiations collapsed.

`Gen[go.shape.int]`, `Gen[go.shape.string]` (shaped bodies) and `Gen[int]` (dictionary
wrappers) are one source function, `Gen`; `(*List[go.shape.string]).Push` is `(*List).Push`.
"""

from __future__ import annotations


def collapse_generics(name: str) -> str:
    """Drop every balanced `[...]` type-argument list from a function name."""
    if "[" not in name:
        return name
    out: list[str] = []
    depth = 0
    for ch in name:
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def is_shaped(name: str) -> bool:
    """A shaped generic body (`Gen[go.shape.int]`): the instantiation the compiler really compiles."""
    return "[go.shape." in name or ",go.shape." in name


def is_wrapper_instance(name: str) -> bool:
    """A dictionary wrapper of a generic function (`Gen[int]`): calls the shaped body."""
    return "[" in name and not is_shaped(name)
