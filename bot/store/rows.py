"""How records become column values and back: the failed modules of a snapshot (JSON in `error`),
toolchain columns, id lists, the escape_site column order, and `IN (...)` chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from bot.gc.model import ModuleFailure, Toolchain

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
