"""Time entries: running timers and manual entries."""

from __future__ import annotations

from sqlmodel import col

from pm.domain.models import TimeEntry
from pm.repositories.base import Entities


class TimeEntryRepository(Entities[TimeEntry]):
    model = TimeEntry

    def running_of(self, user_id: str) -> TimeEntry | None:
        """The user's running timer (at most one per tenant), if any."""
        running = self._live(TimeEntry.user_id == user_id, col(TimeEntry.ended_at).is_(None))
        return running[0] if running else None

    def live_on_item(self, item_id: str) -> list[TimeEntry]:
        """By start, then id."""
        return self._live(
            TimeEntry.work_item_id == item_id,
            order_by=(col(TimeEntry.started_at), col(TimeEntry.id)),
        )
