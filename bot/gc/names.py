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


def strip_internal(name: str) -> str:
    """Drop the compiler-internal `#hash#` suffixes of a function name.

    A closure inside an inlined function literal is compiled again under a name such as
    `init.func1.func1#RMgI/RZtu4k=#`; the hash is not a Go name and never reaches a user.
    """
    if "#" not in name:
        return name
    out: list[str] = []
    inside = False
    for ch in name:
        if ch == "#":
            inside = not inside
        elif not inside:
            out.append(ch)
    return "".join(out)


_CLOSURE_SUFFIXES = (".func", "-range", ".gowrap", ".deferwrap")


def is_closure(name: str) -> bool:
    """A function literal or compiler wrapper (`F.func1`, `F.func1.2`, `F-range1`), not a declaration."""
    last = name.rsplit(")", 1)[-1]
    if any(s in last for s in _CLOSURE_SUFFIXES):
        return True
    head, dot, tail = last.rpartition(".")
    return bool(dot and head and tail.isdigit() and not head.endswith("init"))


def enclosing_names(name: str) -> list[str]:
    """`F.func1.2` -> [`F.func1.2`, `F.func1`, `F`]: a closure and the functions around it."""
    out = [name]
    while is_closure(name):
        cut = max(name.rfind(".func"), name.rfind("-range"), name.rfind(".gowrap"), name.rfind(".deferwrap"))
        head, dot, tail = name.rpartition(".")
        if dot and tail.isdigit() and len(head) > cut:
            name = head
        elif cut > 0:
            name = name[:cut]
        else:
            break
        out.append(name)
    return out
