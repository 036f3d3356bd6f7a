"""Which escape of one snapshot is which escape of the next (pure), for blame.

`bot.diff.diff` says how many escapes are new, fixed and unchanged; blame needs the pairs
themselves, to follow one escape back through line shifts, moved functions and renamed files.
The pairs come from bot/diff.py's own matching (`pair_units`), so both always agree on what
"the same escape" is (tests/history/test_units.py checks that the pairs give diff's counts); only
the translation to positions in the snapshots is added here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from bot.diff import pair_units as diff_pairs
from bot.gc.model import Escape

Unit = tuple[int, int]
"""(index of the record in its sequence, which of the record's `count` units)."""


def pair_units(
    base: Sequence[Escape],
    head: Sequence[Escape],
    renames: Mapping[str, str] | None = None,
    *,
    same_functions: Iterable[tuple[str, str]] = (),
) -> dict[Unit, Unit]:
    """Head unit -> the base unit it is the same escape as; unpaired head units are new.

    Every identity key includes the package, so pairing one package's escapes alone gives the
    same pairs as pairing whole snapshots. `same_functions` are the (package, function) pairs of the
    files identical on both sides (and renamed on neither), whose records are left out of `base`
    and `head` as `bot.diff.diff` leaves them out.
    """
    renames = renames or {}
    renamed = [replace(e, file=renames[e.file]) if e.file in renames else e for e in base]
    base_index = {id(e): i for i, e in enumerate(renamed)}
    head_index = {id(e): i for i, e in enumerate(head)}
    pairs, _, _ = diff_pairs(renamed, head, same_functions=same_functions)
    return {(head_index[id(h[1])], h[0]): (base_index[id(b[1])], b[0]) for b, h in pairs}
