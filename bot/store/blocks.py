"""What each package result was parsed from (`package_block`), written with a snapshot and read
back for a pull request's head to reuse its stored base's packages (bot/gc/reuse.py).

A block's records are read without their explanations, as `find_pair` reads identical files: a
head reuses a package only when the compiler printed the same event over the same source files,
so the package's files come out identical to base's and the diff never needs their explanations.
The store also returns each package's content digests, so that pairing head with base and
recording head take them as they are, without encoding records they could not encode whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from bot.gc.model import BlockKey, Escape, record_order
from bot.memory import gc_paused
from bot.store.content import FileContent, PackageContent
from bot.store.models import PackageBlock, PackageResult
from bot.store.pairs import escapes_of, result_files, site_rows
from bot.store.rows import chunks

_PREFIX = b"escape-bot package-block v1\n"


@dataclass(frozen=True, slots=True)
class StoredBlocks:
    """A stored package result and the blocks it was parsed from: their keys, its records read
    light (in `record_order`, as `collect` keeps them) and its content as stored (file digests; no
    rows: it is never written again)."""

    keys: tuple[BlockKey, ...]
    records: tuple[Escape, ...]
    content: PackageContent


def block_rows(blocks: Iterable[BlockKey], package_ids: Mapping[str, int]) -> list[dict[str, Any]]:
    """The `package_block` rows of a snapshot's blocks whose package result is `package_ids`'
    (package -> id), content-addressed."""
    rows = []
    for block in blocks:
        package_id = package_ids.get(block.package)
        if package_id is None:
            continue
        files = json.dumps([list(f) for f in block.files], ensure_ascii=False, separators=(",", ":"))
        values = [package_id, block.key, files, block.lines, block.generated_skipped, block.collapsed]
        digest = hashlib.sha256(_PREFIX + json.dumps(values).encode()).hexdigest()
        rows.append(
            {
                "digest": digest,
                "package_result_id": package_id,
                "block_key": block.key,
                "files": files,
                "lines": block.lines,
                "generated_skipped": block.generated_skipped,
                "collapsed": block.collapsed,
            }
        )
    return rows


def stored_blocks(
    connection: Connection, package_ids: Sequence[int], skip_files: frozenset[str]
) -> list[StoredBlocks]:
    """The blocks of the package results `package_ids` (a snapshot's), except packages with a file
    in `skip_files` (renamed by the change: never taken as identical)."""
    blocks: dict[int, list[Any]] = {}
    digests: dict[int, str] = {}  # package result id -> its digest
    for chunk in chunks(sorted(set(package_ids))):
        query = (
            select(PackageBlock, PackageResult.c.digest.label("result_digest"))
            .join(PackageResult, PackageResult.c.id == PackageBlock.c.package_result_id)
            .where(PackageBlock.c.package_result_id.in_(chunk))
        )
        for row in connection.execute(query).all():
            blocks.setdefault(row.package_result_id, []).append(row)
            digests[row.package_result_id] = row.result_digest
    if not blocks:
        return []
    files = result_files(connection, sorted(blocks))
    wanted = {
        package_id: entries
        for package_id, entries in files.items()
        if not any(file in skip_files for _, file, _, _ in entries)
    }
    ids = {(package, file): file_id for entries in wanted.values() for package, file, file_id, _ in entries}
    rows = site_rows(connection, ids.values(), whole=False)
    found = []
    with gc_paused():  # many acyclic records, one pause for them all (see bot.memory)
        for package_id, entries in sorted(wanted.items()):
            package = entries[0][0]
            keys = [(package, file) for _, file, _, _ in entries]
            records = tuple(sorted(escapes_of(keys, ids, rows, flows=False), key=record_order))
            if not records:
                continue  # a package without escapes has no result to reuse
            stored = [FileContent(file, (), digest) for _, file, _, digest in sorted(entries)]
            content = PackageContent(package, tuple(stored), digests[package_id])
            block_keys = tuple(
                BlockKey(
                    package,
                    row.block_key,
                    tuple((name, digest) for name, digest in json.loads(row.files)),
                    row.lines,
                    row.generated_skipped,
                    row.collapsed,
                    len(records),
                )
                for row in blocks[package_id]
            )
            found.append(StoredBlocks(block_keys, records, content))
    return found
