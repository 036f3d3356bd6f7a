"""`split_same`: two built snapshots diffed like stored ones, the files identical on both sides set
aside (`diff(..., same=...)`), give the diff of the whole snapshots."""

from __future__ import annotations

import random
from dataclasses import replace

from bot.diff import Counting, diff, split_same

from .store.factories import edit_package, make_escapes
from .store.test_pair import _sides


def test_split_snapshots_diff_like_the_whole_ones() -> None:
    base, head, renames = _sides()
    rest_base, rest_head, same = split_same(base, head, renames)
    same_files = {(e.package, e.file) for e in same}
    rest_files = {(e.package, e.file) for e in (*rest_base, *rest_head)}
    assert same_files and rest_files and not same_files & rest_files
    assert len(same_files) > 5 * len(rest_files)  # 4 of 30 packages edited, one moved, one removed
    assert not {f for _, f in same_files} & (set(renames) | set(renames.values()))
    skip = lambda e: "excluded" if e.package.endswith("2") else None  # noqa: E731
    for counting in (Counting(), Counting(constants=True, generated=True)):
        whole = diff(base, head, renames, skip=skip, counting=counting)
        split = diff(rest_base, rest_head, renames, skip=skip, counting=counting, same=same)
        assert split == whole  # explanations included: `same` holds head's records
        assert whole.new and whole.fixed and whole.unchanged and whole.skipped


def test_a_file_is_same_only_when_its_records_and_their_line_text_are_equal() -> None:
    base = make_escapes(3, 12, seed=4, files_per_package=3)
    files = sorted({(e.package, e.file) for e in base})
    retexted, edited = files[0], files[-1]
    head = [
        replace(e, line_text=e.line_text + " // edited") if (e.package, e.file) == retexted else e
        for e in base
    ]
    head = edit_package(head, edited[0], random.Random(1))
    changed = {(e.package, e.file) for e in head} ^ {(e.package, e.file) for e in base}
    changed |= {
        k
        for k in files
        if [e for e in head if (e.package, e.file) == k] != [e for e in base if (e.package, e.file) == k]
    }
    assert changed - {retexted}  # edit_package edited one file of the package
    _, _, same = split_same(base, head)
    same_files = {(e.package, e.file) for e in same}
    assert retexted not in same_files  # equal records (line_text does not compare), other text
    assert same_files == set(files) - changed - {retexted}
    assert diff(*split_same(base, head)[:2], same=split_same(base, head)[2]) == diff(base, head)


def test_records_in_another_order_are_not_taken_for_same() -> None:
    base = make_escapes(1, 6, seed=2, files_per_package=1)
    head = list(reversed(base))
    rest_base, rest_head, same = split_same(base, head)
    assert not same and rest_base == base and rest_head == head
