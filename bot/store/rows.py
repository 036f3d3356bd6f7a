"""How records become column values and back: the failed modules of a snapshot (JSON in `error`),
toolchain columns, id lists, the escape_site column order, and `IN (...)` chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Integer, column, table

from bot.gc.model import ModuleFailure, ParseStats, Toolchain

T = TypeVar("T")


_IN_CHUNK = 500  # digests per `IN (...)`: far below SQLite's and PostgreSQL's parameter limits


# The columns of `escape_site` in the order of (file_result_id, ordinal, *content.SiteRow).
SITE_COLUMNS = (
    "file_result_id",
    "ordinal",
    "line",
    "col",
    "function",
    "kind",
    "expression",
    "message",
    "cause",
    "count",
    "line_text",
    "explanation",
)


def chunks(items: Sequence[T], size: int = _IN_CHUNK) -> Iterator[Sequence[T]]:
    """`items` in slices small enough for one `IN (...)` on either backend."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def encode_failed_modules(failed: Sequence[ModuleFailure]) -> str | None:
    """The `error` of an ok snapshot: the modules that did not build (JSON), or None."""
    if not failed:
        return None
    data = [{"module": f.module, "directory": f.directory, "errors": list(f.errors)} for f in failed]
    return json.dumps({"failed_modules": data}, ensure_ascii=False)


def decode_failed_modules(error: str | None) -> tuple[ModuleFailure, ...]:
    """`encode_failed_modules` read back; () for None or any other text."""
    if not error or not error.startswith('{"failed_modules"'):
        return ()
    try:
        data = json.loads(error)["failed_modules"]
        return tuple(ModuleFailure(d["module"], d["directory"], tuple(d["errors"])) for d in data)
    except (ValueError, KeyError, TypeError):
        return ()


def compact_ids(ids: Sequence[int]) -> str:
    return json.dumps(list(ids), separators=(",", ":"))


def toolchain_values(toolchain: Toolchain) -> dict[str, Any]:
    return {
        "toolchain_key": toolchain.key,
        "go_version": toolchain.go_version,
        "goos": toolchain.goos,
        "goarch": toolchain.goarch,
        "tags": json.dumps(list(toolchain.tags), ensure_ascii=False),
        "flags": json.dumps(list(toolchain.flags), ensure_ascii=False),
    }


def toolchain_of(row: Any) -> Toolchain:
    """A snapshot row's toolchain columns read back (`toolchain_values` reversed)."""
    return Toolchain(
        go_version=row.go_version,
        goos=row.goos,
        goarch=row.goarch,
        tags=tuple(json.loads(row.tags)),
        flags=tuple(json.loads(row.flags)),
    )


def stats_of(row: Any) -> ParseStats:
    """A snapshot row's parser counters."""
    return ParseStats(
        lines=row.lines,
        packages=row.parsed_packages,
        unknown_lines=row.unknown_lines,
        generated_skipped=row.generated_skipped,
        duplicates_collapsed=row.duplicates_collapsed,
        unknown_samples=tuple(json.loads(row.unknown_samples)),
    )


# The view over `snapshot.package_result_ids` (created by the migrations, not mapped).
SNAPSHOT_PACKAGE = table(
    "snapshot_package", column("snapshot_id", Integer), column("package_result_id", Integer)
)


def failure_values(toolchain: Toolchain, error: str, status: str, max_chars: int) -> dict[str, Any]:
    """The columns of a failed snapshot: the toolchain, the error (cut at `max_chars`), no counts."""
    if len(error) > max_chars:
        error = error[:max_chars] + "\n... (truncated)"
    return {
        **toolchain_values(toolchain),
        "status": status,
        "error": error,
        "escape_count": 0,
        "package_count": 0,
        "lines": 0,
        "parsed_packages": 0,
        "unknown_lines": 0,
        "generated_skipped": 0,
        "duplicates_collapsed": 0,
        "unknown_samples": "[]",
    }
