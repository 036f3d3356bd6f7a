"""The store: every commit's escapes in SQLite or PostgreSQL (docs/storage.md).

The rest of the code uses `Store` and sees only the core's dataclasses; the ORM models,
engines and migrations stay inside this package. `upgrade`, `current` and `head_revision`
serve `escape-bot db upgrade` / `escape-bot db current`; `redact` hides passwords in URLs.
"""

from bot.store.db import Upgrade, current, head_revision, redact, upgrade
from bot.store.repo import Store

__all__ = ["Store", "Upgrade", "current", "head_revision", "redact", "upgrade"]
