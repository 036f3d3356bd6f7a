"""Folding the compiled copies of one source position into one record (generic shapes and their
wrappers, closures compiled twice, inlined calls, appends to one destination). Pure."""

from __future__ import annotations

from bot.gc.lines import Block, Linked
from bot.gc.model import Escape, Kind, replace
from bot.gc.names import collapse_generics, is_closure, is_wrapper_instance, strip_internal


def collapse_sites(block: Block, records: list[Linked]) -> tuple[list[Escape], int]:
    """One source site, one record: fold compiled copies of one source position; returns the
    records and how many copies were folded.

    A generic body prints once per shape (`Gen[go.shape.int]`, `Gen[go.shape.string]`) and
    again in its dictionary wrappers (`Gen[int]`); a closure inside an inlined literal is
    compiled twice (`F.func1.1`, `F.func1.func1#hash#`). Those are one site. A same-package
    function inlined at a call site is a new allocation site in the caller: it is kept, at
    the call, with its origin (`via inlined mk`); only closures called in place fold into
    their own body, which sits in the same function. A true multiset (`S = []int{1}`
    allocates twice at one position) keeps its count: the largest count any one compiled
    copy printed. Appends to one destination in one function are one site (`append-growth`).
    """
    out: list[Escape] = []
    collapsed = 0
    sites: dict[tuple[str, Kind, str], Escape] = {}
    # compiler name -> (a dictionary wrapper?, its name with `#hash#`s and generics dropped):
    # a function's records share its name
    names: dict[str, tuple[bool, str]] = {}
    for r in records:
        named = names.get(r.raw)
        if named is None:
            named = names[r.raw] = (is_wrapper_instance(r.raw), collapse_generics(strip_internal(r.raw)))
        if not named[0]:
            e = r.escape
            sites.setdefault((e.function, e.kind, e.expression), e)
            # `inlining call to init.func2` names the compiler's function, not the stable one
            sites.setdefault((named[1], e.kind, e.expression), e)
    # a site's first record (the last without `#` in its compiler name wins); and for the few
    # sites of several records, how many each compiler name printed
    first: dict[tuple[str, int, int, Kind, str], Linked] = {}
    per_site: dict[tuple[str, int, int, Kind, str], dict[str, int]] = {}
    inlined_at, local_funcs = block.inlined_at, block.local_funcs
    for r in records:
        e = r.escape
        if names[r.raw][0] and (e.function, e.kind, e.expression) in sites:
            collapsed += 1
            continue
        origin = None
        for callee in inlined_at.get(r.summary.pos, ()):  # a defaultdict: `get` adds nothing
            c = collapse_generics(callee)
            if c == e.function or c not in local_funcs:
                continue
            own = sites.get((c, e.kind, e.expression))
            if own is not None:
                origin = (c, own)
        if origin is not None:
            if is_closure(origin[0]):
                collapsed += 1
                continue
            own = origin[1]
            r.escape = e = replace(e, origin=origin[0], origin_at=f"{own.file}:{own.line}")
        site = (e.file, e.line, e.column, e.kind, e.expression)
        seen = first.get(site)
        if seen is None:
            first[site] = r
            continue
        by_raw = per_site.get(site)
        if by_raw is None:  # the site's second record: `seen` is still its first
            by_raw = per_site[site] = {seen.raw: 1}
        by_raw[r.raw] = by_raw.get(r.raw, 0) + 1
        if "#" in seen.raw:
            first[site] = r
    groups: dict[tuple[str, str, str], list[Escape]] = {}
    for site, r in first.items():
        e = r.escape
        by_raw = per_site.get(site)
        if by_raw is not None:
            n = max(by_raw.values())
            collapsed += sum(by_raw.values()) - n
            if n > 1:
                e = replace(e, count=n)
        if r.destination is None:
            out.append(e)
        else:
            # `init` spans the package's files: group per file too
            groups.setdefault((e.file, e.function, r.destination), []).append(e)
    for (_file, _function, destination), appends in groups.items():
        appends.sort(key=lambda a: (a.line, a.column))
        collapsed += len(appends) - 1
        out.append(
            replace(
                appends[0],
                expression=f"append({destination}, ...)",
                count=max(a.count for a in appends),
                appends=len(appends),
            )
        )
    return out, collapsed
