"""Commit metadata as the core sees it (filled from git by the adapter in `bot/git.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """One git commit: enough to show it in history, trends and blame."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: datetime
    committed_at: datetime
    subject: str
    branch: str | None = None
