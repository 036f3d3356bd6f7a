"""Which escape of one snapshot is which escape of the next (pure), for blame.

`bot.diff.diff` says how many escapes are new, fixed and unchanged; blame needs the pairs
themselves, to follow one escape back through line shifts, moved functions and renamed files.
The passes (the identity keys, strict to loose) and the unit order are bot/diff.py's own, so
both always agree on what "the same escape" is (tests/history/test_units.py checks that the pairs
give diff's counts); only the bookkeeping of who was paired with whom is added here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace

from bot.diff import _passes, _units
from bot.gc.model import Escape

Unit = tuple[int, int]
"""(index of the record in its sequence, which of the record's `count` units)."""


def pair_units(
    base: Sequence[Escape], head: Sequence[Escape], renames: Mapping[str, str] | None = None
) -> dict[Unit, Unit]:
    """Head unit -> the base unit it is the same escape as; unpaired head units are new.

    Every identity key includes the package, so pairing one package's escapes alone gives the
    same pairs as pairing whole snapshots.
    """
    renames = renames or {}
    renamed = [replace(e, file=renames.get(e.file, e.file)) for e in base]
    base_index = {id(e): i for i, e in enumerate(renamed)}
    head_index = {id(e): i for i, e in enumerate(head)}
    base_units = _units(renamed)
    head_units = _units(head)
    pairs: dict[Unit, Unit] = {}
    for key in _passes():
        pool: dict[Hashable, list[tuple[int, Escape]]] = defaultdict(list)
        for unit in base_units:
            k = key(unit[1])
            if k is not None and None not in (k if isinstance(k, tuple) else (k,)):
                pool[k].append(unit)
        cursor: Counter[Hashable] = Counter()
        taken: set[int] = set()
        left_head: list[tuple[int, Escape]] = []
        for unit in head_units:
            k = key(unit[1])
            candidates = pool.get(k) if k is not None else None
            if candidates and cursor[k] < len(candidates):
                match = candidates[cursor[k]]
                cursor[k] += 1
                taken.add(id(match))
                pairs[(head_index[id(unit[1])], unit[0])] = (base_index[id(match[1])], match[0])
            else:
                left_head.append(unit)
        base_units = [u for u in base_units if id(u) not in taken]
        head_units = left_head
    return pairs
