"""History: backfill the store commit by commit, and read it back as trends, blame and top lists.

- `backfill.py`: record every first-parent commit that is not stored yet (adapter: git, go, store).
- `queries.py`: trend and top over the store's aggregate counts; `blame.py`: where each current
  escape first appeared, matching escapes across stored snapshots with bot/diff.py's identity.
- `render.py` (pure): table, CSV, JSON and the self-contained HTML report.
- `model.py`, `links.py`, `dates.py`, `identity.py` (pure): records, GitHub links and PR numbers,
  `--since` / `--until` values, unit pairing.
"""
