"""Time tracking: running timers (one per user per tenant) and manual entries.

Starting a timer stops the user's running one first, in the same transaction, and both
changes are reported. Only the owner stops, edits or deletes an entry; a project admin may
delete it too.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from pm.domain.enums import Role
from pm.domain.events import Outcome
from pm.domain.models import TimeEntry
from pm.errors import Forbidden, NotFound, ValidationFailed
from pm.services.kernel import validation as v
from pm.services.kernel.access import live_row, project_role, require_item_role, require_role
from pm.services.kernel.clock import now_ms
from pm.services.kernel.ids import new_id
from pm.services.kernel.reader import Reader
from pm.services.kernel.unit_of_work import FieldChange, UnitOfWork
from pm.services.views import TimeEntries, TimeEntryView, time_entry_view

MAX_MANUAL_MS = 24 * 3600 * 1000
MAX_INSTANT_MS = 2**53
UPDATABLE_FIELDS = frozenset({"description", "started_at", "ended_at"})


def _description(value: object) -> str:
    return v.text(value, "description", max_len=2000)


def _instant(value: object, field: str) -> int:
    return v.int_range(value, field, low=0, high=MAX_INSTANT_MS)


def _check_span(started_at: int, ended_at: int, now: int) -> None:
    if ended_at <= started_at:
        raise ValidationFailed("ended_at must be after started_at", field="ended_at")
    if ended_at > now:
        raise ValidationFailed("ended_at can't be in the future", field="ended_at")
    if ended_at - started_at > MAX_MANUAL_MS:
        raise ValidationFailed("an entry is at most 24 hours long", field="ended_at")


def _owned_entry(uow: UnitOfWork, time_entry_id: object, *, admin_may: bool = False) -> TimeEntry:
    entry = live_row(uow.time_entries, time_entry_id, field="time_entry_id", what="time entry")
    role = project_role(uow, entry.project_id)
    if role is None:
        raise NotFound("time entry not found", field="time_entry_id")
    if entry.user_id == uow.ctx.user_id:
        require_role(uow, entry.project_id, Role.EDITOR)
    elif not (admin_may and role is Role.ADMIN):
        raise Forbidden("only the owner of a time entry may change it")
    return entry


def _new_entry(uow: UnitOfWork, item_project: str, item_id: str, **values: Any) -> TimeEntry:
    entry = TimeEntry(
        id=new_id(),
        work_item_id=item_id,
        project_id=item_project,
        user_id=uow.ctx.user_id,
        **uow.stamps(),
        **values,
    )
    uow.create(entry, entity_type="time_entry", project_id=item_project)
    return entry


def _stop(uow: UnitOfWork, entry: TimeEntry) -> list[FieldChange]:
    ended = max(uow.now, entry.started_at)
    return uow.apply_fields(
        entry,
        {"ended_at": ended, "duration_seconds": (ended - entry.started_at) // 1000},
        entity_type="time_entry",
        project_id=entry.project_id,
        action="stopped",
    )


def start_timer(uow: UnitOfWork, *, work_item_id: str, description: str = "") -> Outcome:
    item = require_item_role(uow, work_item_id, Role.EDITOR)
    text = _description(description)
    running = uow.time_entries.running_of(uow.ctx.user_id)
    stopped: TimeEntryView | None = None
    if running is not None:
        _stop(uow, running)
        uow.flush()  # the stopped timer is written before the new one (one running per user)
        stopped = time_entry_view(running)
        if running.project_id != item.project_id:
            uow.emit("time_entry_updated", running.project_id, {"time_entry": stopped})
    entry = _new_entry(uow, item.project_id, item.id, started_at=uow.now, description=text)
    payload = {"time_entry": time_entry_view(entry), "stopped_entry": stopped}
    return uow.respond(uow.emit("timer_started", item.project_id, payload))


def stop_timer(uow: UnitOfWork, *, time_entry_id: str) -> Outcome:
    entry = _owned_entry(uow, time_entry_id)
    if entry.ended_at is not None:
        raise ValidationFailed("this timer is not running", field="time_entry_id")
    _stop(uow, entry)
    return _updated(uow, entry)


def create_time_entry(
    uow: UnitOfWork,
    *,
    work_item_id: str,
    started_at: int,
    ended_at: int,
    description: str = "",
) -> Outcome:
    item = require_item_role(uow, work_item_id, Role.EDITOR)
    start, end = _instant(started_at, "started_at"), _instant(ended_at, "ended_at")
    _check_span(start, end, uow.now)
    entry = _new_entry(
        uow,
        item.project_id,
        item.id,
        started_at=start,
        ended_at=end,
        duration_seconds=(end - start) // 1000,
        description=_description(description),
    )
    return uow.respond(
        uow.emit("time_entry_created", item.project_id, {"time_entry": time_entry_view(entry)})
    )


def log_time(
    uow: UnitOfWork,
    *,
    work_item_id: str,
    minutes: int,
    date: str | None = None,
    description: str = "",
) -> Outcome:
    """Time spent, as people say it: ``minutes`` on ``date`` (today when none), recorded as an
    entry ending now, or at the end of that day (UTC) for a past one."""
    length_ms = v.int_range(minutes, "minutes", low=1, high=MAX_MANUAL_MS // 60_000) * 60_000
    ended = uow.now
    day = v.iso_date(date, "date")
    if day is not None:
        day_end = _day_end_ms(day)
        if day_end - 86_400_000 > uow.now:
            raise ValidationFailed("date can't be in the future", field="date")
        ended = min(uow.now, day_end)
    return create_time_entry(
        uow,
        work_item_id=work_item_id,
        started_at=ended - length_ms,
        ended_at=ended,
        description=description,
    )


def _day_end_ms(day: str) -> int:
    start = datetime.combine(datetime.fromisoformat(day).date(), time.min, UTC)
    return int(start.timestamp() * 1000) + 86_400_000 - 1


def update_time_entry(uow: UnitOfWork, *, time_entry_id: str, fields: dict[str, Any]) -> Outcome:
    entry = _owned_entry(uow, time_entry_id)
    v.known_fields(fields, UPDATABLE_FIELDS)
    wanted: dict[str, Any] = {}
    if "description" in fields:
        wanted["description"] = _description(fields["description"])
    for name in ("started_at", "ended_at"):
        if name in fields:
            wanted[name] = _instant(fields[name], name)
    if "started_at" in wanted or "ended_at" in wanted:
        start = wanted.get("started_at", entry.started_at)
        end = wanted.get("ended_at", entry.ended_at)
        if end is None:
            if start > uow.now:
                raise ValidationFailed("started_at can't be in the future", field="started_at")
        else:
            _check_span(start, end, uow.now)
            wanted["duration_seconds"] = (end - start) // 1000
    changes = uow.apply_fields(
        entry,
        wanted,
        entity_type="time_entry",
        project_id=entry.project_id,
        action="updated",
    )
    if not changes:
        return Outcome("time_entry_updated", {"time_entry": time_entry_view(entry)})
    return _updated(uow, entry)


def delete_time_entry(uow: UnitOfWork, *, time_entry_id: str) -> Outcome:
    entry = _owned_entry(uow, time_entry_id, admin_may=True)
    uow.soft_delete(entry, entity_type="time_entry", project_id=entry.project_id)
    payload = {
        "time_entry_id": entry.id,
        "work_item_id": entry.work_item_id,
        "project_id": entry.project_id,
    }
    return uow.respond(uow.emit("time_entry_deleted", entry.project_id, payload))


def _updated(uow: UnitOfWork, entry: TimeEntry) -> Outcome:
    return uow.respond(
        uow.emit("time_entry_updated", entry.project_id, {"time_entry": time_entry_view(entry)})
    )


def get_time_entries(read: Reader, *, work_item_id: str) -> TimeEntries:
    """Entries of an item with totals; a running timer counts up to now."""
    item = require_item_role(read, work_item_id, Role.VIEWER)
    return entries_with_totals(read.time_entries.live_on_item(item.id), now_ms())


def entries_with_totals(rows: list[TimeEntry], now: int) -> TimeEntries:
    """The entries' views, the total seconds and the seconds per user."""
    by_user: dict[str, int] = {}
    for row in rows:
        seconds = (
            row.duration_seconds
            if row.ended_at is not None and row.duration_seconds is not None
            else max(0, (now - row.started_at) // 1000)
        )
        by_user[row.user_id] = by_user.get(row.user_id, 0) + seconds
    return {
        "time_entries": [time_entry_view(row) for row in rows],
        "total_seconds": sum(by_user.values()),
        "by_user": [{"user_id": u, "total_seconds": s} for u, s in sorted(by_user.items())],
    }
