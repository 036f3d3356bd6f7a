"""Base vs head -> new, fixed, unchanged escapes (pure).

Identity never relies on line numbers (docs/architecture.md, "Identity of an escape"):
an escape is its package, file, enclosing function, kind and normalised expression; several
identical ones in a function are told apart by the text of their source line, then by their
order. Matching runs in passes from strict to loose, each pass only over what is still
unmatched:

1. package, file, function, kind, expression and the line's text;
2. package, file, function, kind, expression (in source order: the ordinal);
3. package, function, kind, expression (the function moved to another file of the package);
4. package, file, kind, expression and the line's text (the enclosing function was renamed);
5. package, kind, expression and the line's text, from a function gone in head into one that
   existed in base (code moved to another function in another file: `setPathValue`'s loop
   written into `routeHTTP`);
6. the same allocation written differently: package, file, function, kind and cause, where the
   two lines differ in one place inside an open parenthesis (`f([]byte(data.(string)))` ->
   `f([]byte(str))`, `Errorf(..., fieldKind)` -> `Errorf(..., fieldVal.Kind())`): one argument
   of one call rewritten, not an allocation added and another removed.

Renamed files (git's rename detection) are mapped before matching.

Everything is matched, then split: records in files the policy does not gate (a `// Code
generated` header, an `exclude` glob) are counted per reason in `skipped`, never listed; a
constant boxed into an interface (`static`) is listed but not counted unless `Counting` says so.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.gc.model import Escape, FailedModule, Kind, record_order

_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=1 << 16)  # each record's expression is keyed in up to six passes
def normalize_expression(expression: str) -> str:
    """Whitespace-insensitive expression text."""
    return _SPACE.sub(" ", expression).strip()


def fingerprint(escape: Escape) -> str:
    """A stable identity string (SARIF partialFingerprints, allow-lists): no line number."""
    return "|".join(
        (
            escape.package,
            escape.file,
            escape.function,
            escape.kind.value,
            normalize_expression(escape.expression),
        )
    )


GENERATED = "generated"  # a `// Code generated ... DO NOT EDIT.` header
EXCLUDED = "excluded"  # an `exclude` glob (or outside the `include` globs)


@dataclass(frozen=True, slots=True)
class Counting:
    """What counts (and is gated): `[gate] constants` and `[gate] generated`."""

    constants: bool = False  # constants boxed into interfaces allocate nothing
    generated: bool = False  # escapes in files with a `// Code generated` header

    def counts(self, escape: Escape) -> bool:
        """True when a listed record counts towards new / fixed and the gate."""
        return self.constants or not escape.static


@dataclass(frozen=True, slots=True)
class Skipped:
    """Heap-escape units of one reason that are neither listed nor gated."""

    reason: str
    head: int  # in the head snapshot
    new: int = 0  # of them, added by the change
    fixed: int = 0  # removed by the change


@dataclass(frozen=True, slots=True)
class DiffResult:
    """What changed between two snapshots. `count` on each record says how many units."""

    new: tuple[Escape, ...]
    fixed: tuple[Escape, ...]
    unchanged: tuple[Escape, ...]  # head's records
    skipped: tuple[Skipped, ...] = ()
    counting: Counting = field(default_factory=Counting)
    failed_modules: tuple[FailedModule, ...] = ()  # compared on neither side (bot/failures.py)
    # `skipped` split by file (a base file by its head path): a sharded analysis' module counts
    skipped_files: Mapping[str, tuple[Skipped, ...]] = field(default_factory=dict)

    def counts(self, kinds: Iterable[Kind] | None = None) -> dict[str, int]:
        """Units new / fixed / unchanged, optionally only of some kinds; constants only when
        `counting.constants`."""
        wanted = set(kinds) if kinds is not None else set(Kind)
        counted = self.counting.counts

        def total(records: Sequence[Escape]) -> int:
            return sum(e.count for e in records if e.kind in wanted and counted(e))

        return {"new": total(self.new), "fixed": total(self.fixed), "unchanged": total(self.unchanged)}

    def counted(self, records: Iterable[Escape]) -> list[Escape]:
        """The heap escapes among `records` that count (what the gate looks at)."""
        return [e for e in records if e.kind.allocates and self.counting.counts(e)]


Unit = tuple[int, Escape]  # (ordinal among the escape's `count`, record)
_Key = Callable[[Escape], Hashable]


def _passes() -> list[_Key]:
    def expr(e: Escape) -> str:
        return normalize_expression(e.expression)

    return [
        lambda e: (e.package, e.file, e.function, e.kind, expr(e), e.line_text or None),
        lambda e: (e.package, e.file, e.function, e.kind, expr(e)),
        lambda e: (e.package, e.function, e.kind, expr(e)),
        lambda e: (e.package, e.file, e.kind, expr(e), e.line_text or None),
    ]


def _match_moved_into(
    base: list[Unit], head: list[Unit], before: set[tuple[str, str]], after: set[tuple[str, str]]
) -> tuple[list[Unit], list[Unit], list[tuple[Unit, Unit]]]:
    """Pass 5: package, kind, expression and the line's text, from a function that no longer
    exists into one that already existed (`setPathValue`'s loop written into `routeHTTP`, in
    another file). A function renamed is left to git's renames and the fourth pass. `before`
    and `after` are the (package, function) pairs with any record in base and head."""
    gone = [u for u in base if (u[1].package, u[1].function) not in after]
    into = [u for u in head if (u[1].package, u[1].function) in before]
    _, _, pairs = _match(
        gone, into, lambda e: (e.package, e.kind, normalize_expression(e.expression), e.line_text or None)
    )
    paired = {id(u) for pair in pairs for u in pair}
    return [u for u in base if id(u) not in paired], [u for u in head if id(u) not in paired], pairs


def _common(a: str, b: str) -> int:
    """Length of the common prefix of two strings."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _rewritten(a: str, b: str) -> bool:
    """Two versions of one source line that differ in one place inside an open parenthesis,
    keeping at least half of the longer line (the call and its other arguments)."""
    if not a or not b:
        return False
    p = _common(a, b)
    s = _common(a[p:][::-1], b[p:][::-1])
    prefix = a[:p]
    return prefix.count("(") > prefix.count(")") and 2 * (p + s) >= max(len(a), len(b))


def _match_rewrites(
    base: list[Unit], head: list[Unit]
) -> tuple[list[Unit], list[Unit], list[tuple[Unit, Unit]]]:
    """Pass 6: pair a head unit with the first unmatched base unit of the same package, file,
    function, kind and cause whose line is the head's line with one argument rewritten."""
    pool: dict[Hashable, list[Unit]] = defaultdict(list)
    for unit in base:
        e = unit[1]
        pool[(e.package, e.file, e.function, e.kind, e.cause)].append(unit)
    taken: set[int] = set()
    left_head: list[Unit] = []
    pairs: list[tuple[Unit, Unit]] = []
    for unit in head:
        h = unit[1]
        group = pool.get((h.package, h.file, h.function, h.kind, h.cause), [])
        match = next(
            (b for b in group if id(b) not in taken and _rewritten(b[1].line_text, h.line_text)), None
        )
        if match is None:
            left_head.append(unit)
        else:
            taken.add(id(match))
            pairs.append((match, unit))
    return [u for u in base if id(u) not in taken], left_head, pairs


def _units(records: Iterable[Escape]) -> list[Unit]:
    ordered = sorted(records, key=record_order)
    return [(i, e) for e in ordered for i in range(e.count)]


def _match(
    base: list[Unit], head: list[Unit], key: _Key
) -> tuple[list[Unit], list[Unit], list[tuple[Unit, Unit]]]:
    """Pair units with equal keys in source order; returns (unmatched base, unmatched head, pairs)."""
    pool: dict[Hashable, list[Unit]] = defaultdict(list)
    for unit in base:
        k = key(unit[1])
        if k is not None and None not in (k if isinstance(k, tuple) else (k,)):
            pool[k].append(unit)
    left_head: list[Unit] = []
    pairs: list[tuple[Unit, Unit]] = []
    taken: set[int] = set()
    cursor: Counter[Hashable] = Counter()
    for unit in head:
        k = key(unit[1])
        candidates = pool.get(k) if k is not None else None
        if candidates and cursor[k] < len(candidates):
            match = candidates[cursor[k]]
            taken.add(id(match))
            cursor[k] += 1
            pairs.append((match, unit))
        else:
            left_head.append(unit)
    left_base = [u for u in base if id(u) not in taken]
    return left_base, left_head, pairs


def pair_units(
    base: Iterable[Escape],
    head: Iterable[Escape],
    *,
    same: Iterable[Escape] = (),
    same_functions: Iterable[tuple[str, str]] = (),
) -> tuple[list[tuple[Unit, Unit]], list[Unit], list[Unit]]:
    """The matching itself: (base unit, head unit) pairs, then the unmatched base and head units.

    Base file paths must already be mapped through the renames. Blame (bot/history) follows one
    escape back with these pairs; `diff` counts them. `same` are the records of files identical
    on both sides, left out of `base` and `head` (see `diff`): they only tell pass 5 which
    functions exist, as `same_functions` ((package, function) pairs) do for a caller that has
    only those.
    """
    base_units, head_units = _units(base), _units(head)
    shared = {(e.package, e.function) for e in same} | set(same_functions)
    before = {(e.package, e.function) for _, e in base_units} | shared
    after = {(e.package, e.function) for _, e in head_units} | shared
    pairs: list[tuple[Unit, Unit]] = []
    for key in _passes():
        base_units, head_units, now = _match(base_units, head_units, key)
        pairs.extend(now)
    base_units, head_units, now = _match_moved_into(base_units, head_units, before, after)
    pairs.extend(now)
    base_units, head_units, now = _match_rewrites(base_units, head_units)
    pairs.extend(now)
    return pairs, base_units, head_units


def _regroup(units: Iterable[Unit], whole: Iterable[Escape] = ()) -> tuple[Escape, ...]:
    """Units back into records, `count` = how many units of each record are in the set; `whole`
    records join as they are."""
    counts: Counter[int] = Counter()
    records: dict[int, Escape] = {}
    for _, e in units:
        counts[id(e)] += 1
        records[id(e)] = e
    out = [e if counts[i] == e.count else replace(e, count=counts[i]) for i, e in records.items()]
    out.extend(whole)
    out.sort(key=record_order)
    return tuple(out)


def split_same(
    base: Iterable[Escape], head: Iterable[Escape], renames: Mapping[str, str] | None = None
) -> tuple[list[Escape], list[Escape], tuple[Escape, ...]]:
    """Two built snapshots as `diff` takes them from the store: (base, head, same), where `same`
    are head's records of the files (package, file) whose records are equal on both sides, in
    the same order and with the same line text, and not renamed; `base` and `head` keep the rest.

    A head built after its base reuses the base's records for every package whose compiler
    output did not change (bot/gc/reuse.py): those are the same objects, told equal at once, and
    the diff then matches only the files that changed, as it does for stored snapshots.
    """
    renamed = set(renames or ()) | set((renames or {}).values())
    base_files: dict[tuple[str, str], list[Escape]] = defaultdict(list)
    head_files: dict[tuple[str, str], list[Escape]] = defaultdict(list)
    for e in base:
        base_files[(e.package, e.file)].append(e)
    for e in head:
        head_files[(e.package, e.file)].append(e)
    same_keys = {
        k
        for k, records in head_files.items()
        if k[1] not in renamed and _equal_records(base_files.get(k, ()), records)
    }
    rest_base = [e for k, records in base_files.items() if k not in same_keys for e in records]
    rest_head = [e for k, records in head_files.items() if k not in same_keys for e in records]
    same = tuple(e for k, records in head_files.items() if k in same_keys for e in records)
    return rest_base, rest_head, same


def _equal_records(a: Sequence[Escape], b: Sequence[Escape]) -> bool:
    return len(a) == len(b) and all(
        x is y or (x == y and x.line_text == y.line_text) for x, y in zip(a, b, strict=True)
    )


SkipRule = Callable[[Escape], str | None]
"""The reason an escape is not gated (`excluded`, `generated`), or None."""


def diff(
    base: Iterable[Escape],
    head: Iterable[Escape],
    renames: Mapping[str, str] | None = None,
    *,
    skip: SkipRule | None = None,
    counting: Counting | None = None,
    same: Sequence[Escape] = (),
) -> DiffResult:
    """Compare two snapshots' escapes. `renames` maps base file paths to head file paths.

    Both sides are matched whole, so a function moved out of an excluded or generated file is
    not new; then records for which `skip` gives a reason, and generated files unless
    `counting.generated`, are taken out of the lists and counted in `skipped`.

    `same` (from a store that compares files by content digest) are the records of the files
    whose escapes are identical on both sides and not renamed, left out of `base` and `head`:
    the result is the one of `diff(base + same, head + same)`. Every unit of such a file pairs
    with its twin in the first two passes, whose keys include the file, before any looser pass
    runs; so the other files' pairs do not depend on them, except through which functions exist
    (pass 5), which `same` still provides. Their records are unchanged as they are.
    """
    renames = renames or {}
    counting = counting or Counting()
    head = list(head)
    # a copy only of the records in renamed files (most have none: copying all cost a second on
    # the standard library)
    pairs, fixed, new = pair_units(
        (replace(e, file=renames[e.file]) if e.file in renames else e for e in base), head, same=same
    )

    def reason(e: Escape) -> str | None:
        why = skip(e) if skip is not None else None
        if why is None and e.generated and not counting.generated:
            why = GENERATED
        return why

    # (reason, file) -> units in head, new, fixed
    tally: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])

    def split(units: Iterable[Unit], column: int | None) -> list[Unit]:
        kept = []
        for unit in units:
            why = reason(unit[1])
            if why is None:
                kept.append(unit)
            elif column is not None and unit[1].kind.allocates:
                tally[why, unit[1].file][column] += 1
        return kept

    kept_same = []  # whole records: every unit of them is unchanged
    for e in head:
        why = reason(e)
        if why is not None and e.kind.allocates:
            tally[why, e.file][0] += e.count
    for e in same:
        why = reason(e)
        if why is None:
            kept_same.append(e)
        elif e.kind.allocates:
            tally[why, e.file][0] += e.count
    kept_new = split(new, 1)
    kept_fixed = split(fixed, 2)
    unchanged = split((h for _, h in pairs), None)
    by_file: defaultdict[str, list[Skipped]] = defaultdict(list)
    for (why, file), units in tally.items():
        by_file[file].append(Skipped(why, *units))
    skipped_files = {file: merge_skipped(by_file[file]) for file in sorted(by_file)}
    return DiffResult(
        new=_regroup(kept_new),
        fixed=_regroup(kept_fixed),
        unchanged=_regroup(unchanged, kept_same),
        skipped=merge_skipped(s for records in skipped_files.values() for s in records),
        counting=counting,
        skipped_files=skipped_files,
    )


def merge_skipped(skipped: Iterable[Skipped], less: Iterable[Skipped] = ()) -> tuple[Skipped, ...]:
    """Per reason, sorted, the sums of `skipped` minus those of `less`; reasons left with no
    unit dropped (a diff's files, a sharded analysis' shards and modules)."""
    totals: dict[str, tuple[int, int, int]] = {}
    for sign, records in ((1, skipped), (-1, less)):
        for s in records:
            head, new, fixed = totals.get(s.reason, (0, 0, 0))
            totals[s.reason] = (head + sign * s.head, new + sign * s.new, fixed + sign * s.fixed)
    return tuple(Skipped(r, *totals[r]) for r in sorted(totals) if any(totals[r]))
