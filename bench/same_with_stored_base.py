"""Check on real repositories: a pull request's head that takes its stored base's packages (bot/gc/reuse.py,
bot/store/blocks.py) gives the comparison, and stores the head, exactly as a build without a store.

    python bench/same_with_stored_base.py [--only PAIR ...] [--repo NAME ...] [--db-dir DIR | --db URL]

For every pair of bench/manifests/real_pairs.toml (mirrors and clones as bench/eval_real.py makes
them), in this process and with the real compiler:

1. `compare` without a store: the reference;
2. base recorded in an empty database as a push to the default branch records it (`snapshot_of`);
3. `compare` with that store: base taken from it, head built, taking base's unchanged packages
   (the progress line "N unchanged packages taken from the store" is counted);
4. the comparison's JSON (`comparison_dict`, the `diff --format json` document) against 1's, and
   head as stored, read back whole, against head built without a store (every field of every
   record, explanations included).

Prints one line per pair and a total; exit 1 when any pair differs, 3 when one could not be run.
`--db URL` (a PostgreSQL URL) uses that database, emptied of each pair's rows by naming each run's
repository uniquely; by default each pair gets a new SQLite file under --db-dir.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.eval_real import DEFAULT_MANIFEST, GO_ENV, HarnessError, clone, load_manifest  # noqa: E402
from bot import app  # noqa: E402
from bot.errors import BotError  # noqa: E402
from bot.gc.run import BuildOptions  # noqa: E402
from bot.report.serialize import comparison_dict  # noqa: E402
from bot.store import Store  # noqa: E402


def _document(c: app.Comparison) -> dict[str, Any]:
    """The diff's JSON document without where each side came from (that is what differs)."""
    data = comparison_dict(c.base, c.head, c.result, insight=c.insight)
    return {k: v for k, v in data.items() if k not in ("base_source", "head_source")}


def check_pair(clone_dir: Path, base: str, head: str, modules: tuple[str, ...], url: str) -> tuple[bool, str]:
    options = BuildOptions(modules=modules or ("**",))
    name = f"check-{uuid.uuid4().hex[:8]}"
    reference = app.compare(clone_dir, base, head, options)
    with Store.open(url) as store:
        app.snapshot_of(clone_dir, base, options, store, repository=name)
        messages: list[str] = []
        stored = app.compare(
            clone_dir, base, head, options, store=store, repository=name, progress=messages.append
        )
        lines = [m for m in messages if m.endswith("taken from the store") and "unchanged" in m]
        taken = lines[0].split()[0] if lines else "0"
        sources = f"{stored.base_source}/{stored.head_source}"
        if (stored.base_source, stored.head_source) != ("store", "built"):
            return False, f"sides {sources}, expected store/built"
        if _document(stored) != _document(reference):
            return False, f"the comparison differs ({taken} packages taken)"
        recorded = store.find_snapshot(name, stored.head.commit, stored.head.toolchain.key)
    if recorded is None:
        return False, "head was not stored"
    built = app.build_snapshot(clone_dir, head, options)
    if set(recorded.escapes) != set(built.escapes) or recorded.stats != built.stats:
        return False, f"head as stored differs from head as built ({taken} packages taken)"
    new = len(reference.result.new)
    return True, f"same; {taken} unchanged packages taken of head's, {len(built.escapes)} records, {new} new"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/escape-bot-eval-real"))
    ap.add_argument("--only", action="append", default=[], help="pair id (repeatable)")
    ap.add_argument("--repo", action="append", default=[], help="only this manifest repo (repeatable)")
    ap.add_argument("--db", default="", help="a database URL for every pair (default: a SQLite file each)")
    args = ap.parse_args()
    os.environ.update(GO_ENV)
    manifest = load_manifest(args.manifest)
    pairs = [
        p
        for p in manifest.pairs
        if (not args.only or p.id in args.only) and (not args.repo or p.repo in args.repo)
    ]
    differ = failed = 0
    with tempfile.TemporaryDirectory(prefix="same-stored-base-") as tmp:
        for n, pair in enumerate(pairs):
            repo = manifest.repos[pair.repo]
            url = args.db or f"sqlite:///{tmp}/pair-{n}.db"
            try:
                where = clone(args.mirrors, args.work, repo)
                ok, text = check_pair(where, pair.base, pair.head, repo.modules, url)
            except (HarnessError, BotError) as exc:
                failed += 1
                print(f"{pair.id}: could not run: {exc}", flush=True)
                continue
            differ += not ok
            print(f"{pair.id}: {text}", flush=True)
    print(f"{len(pairs) - differ - failed} of {len(pairs)} pairs the same, {differ} differ, {failed} not run")
    return 1 if differ else 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
