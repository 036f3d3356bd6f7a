"""`--since` / `--until` values (pure): ISO dates and times, or `N days ago`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from bot.errors import UsageError

_RELATIVE = re.compile(r"^(\d+)\s*(minute|hour|day|week|month|year)s?(?:\s+ago)?$", re.IGNORECASE)
_UNIT = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30),  # calendar months are not needed to pick a range of commits
    "year": timedelta(days=365),
}


def parse_when(text: str, now: datetime, *, end_of_day: bool = False) -> datetime:
    """An aware UTC time from `2025-01-31`, `2025-01-31T12:00`, `2025-01-31 12:00+02:00` or
    `3 weeks ago`. A bare date is its first moment, or its last with `end_of_day` (`--until`
    includes the day it names). Times without a zone are UTC."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        return now.astimezone(UTC) - int(relative.group(1)) * _UNIT[relative.group(2).lower()]
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        moment = time.max if end_of_day else time.min
        return datetime.combine(day, moment, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"not a date: {text!r} (use 2025-01-31, 2025-01-31T12:00 or '2 weeks ago')"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
