"""Time entries: running timers and manual entries."""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import col

from pm.domain.models import TimeEntry
from pm.repositories.base import Entities

_ITEM_KEYS = (
    "SELECT id FROM time_entries WHERE work_item_id = ? AND deleted_at IS NULL"
    " AND (started_at > ? OR (started_at = ? AND id > ?)) ORDER BY started_at, id LIMIT ?"
)
# Seconds per user over every live entry of an item, a running one up to ``now``: the totals
# are whole however the entries are paged.
_TOTALS = """
    SELECT user_id, sum(CASE WHEN ended_at IS NOT NULL AND duration_seconds IS NOT NULL
                             THEN duration_seconds ELSE max(0, (? - started_at) / 1000) END)
    FROM time_entries WHERE work_item_id = ? AND deleted_at IS NULL
    GROUP BY user_id ORDER BY user_id
"""


class TimeEntryRepository(Entities[TimeEntry]):
    model = TimeEntry

    def running_of(self, user_id: str) -> TimeEntry | None:
        """The user's running timer (at most one per tenant), if any."""
        running = self._live(TimeEntry.user_id == user_id, col(TimeEntry.ended_at).is_(None))
        return running[0] if running else None

    def live_on_item_from(
        self, item_id: str, after: tuple[int, str] | None, *, limit: int
    ) -> Iterator[TimeEntry]:
        """By start, then id, after that key."""
        low_at, low_id = after if after is not None else (-1, "")
        return self._keyed(_ITEM_KEYS, (item_id, low_at, low_at, low_id, limit))

    def totals_on_item(self, item_id: str, now: int) -> list[tuple[str, int]]:
        """(user id, seconds) over the item's live entries, by user id."""
        return [(row[0], int(row[1])) for row in self._rows(_TOTALS, (now, item_id))]
