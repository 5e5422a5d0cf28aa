"""Cycle and lead time (DOMAIN.md, "Everyday fields"), derived from the activity log: per item,
and for a project over a range of days as percentiles.

- lead time: from the item's creation to its first entry into a completed status;
- cycle time: from its first entry into a status where work is under way (started or review,
  pm.domain.workflow) to that first completion; none when the item was completed without ever
  being started, or only started after it was first completed.

Creation counts as entering the status an item was created in (the first status change's old
value, or the current status when it never changed). Reopening does not restart either clock:
the first completion is the one measured. The report holds the items whose first completion falls
in the range; deleted items are left out (they are no delivered work). Items are found by their
status changes into a completed status, so an item created already completed and never moved (an
import of finished work) has no entry in the report.

Bounded whatever the project holds: a range of at most ``cycle_time_max_days`` days and at most
``cycle_time_max_items`` items (the earliest completed first; ``has_more`` says more were there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict

from pm.domain.enums import Role
from pm.domain.models import ActivityLog, WorkItem
from pm.domain.workflow import WORK_STARTED, StatusCategory, Workflow
from pm.errors import ValidationFailed
from pm.observability import metrics
from pm.services.kernel import validation as v
from pm.services.kernel.access import require_role
from pm.services.kernel.reader import Reader

PERCENTILES = (50, 85, 95)


class Durations(TypedDict):
    count: int
    p50_ms: int | None
    p85_ms: int | None
    p95_ms: int | None


class ItemFlow(TypedDict):
    work_item_id: str
    title: str
    item_type: str
    created_at: int
    started_at: int | None
    completed_at: int
    cycle_time_ms: int | None
    lead_time_ms: int


class CycleTimeSummary(TypedDict):
    """The figures without the items (the project context's part)."""

    since: str  # YYYY-MM-DD, first day of the range (UTC)
    until: str  # YYYY-MM-DD, last day of the range, inclusive
    cycle_time: Durations
    lead_time: Durations
    has_more: bool


class CycleTimeReport(CycleTimeSummary):
    project_id: str
    items: list[ItemFlow]


def get_cycle_time(
    read: Reader, *, project_id: str, since: str | None = None, until: str | None = None
) -> CycleTimeReport:
    """Cycle and lead time of the project's items first completed from ``since`` to ``until``
    (calendar days, UTC, both inclusive; by default the ``cycle_time_default_days`` up to
    today)."""
    require_role(read, project_id, Role.VIEWER)
    return cycle_time_report(read, project_id, since=since, until=until)


def cycle_time_report(
    read: Reader, project_id: str, *, since: str | None = None, until: str | None = None
) -> CycleTimeReport:
    """The report of a project the caller may view."""
    first, last = _days(read, since, until)
    start_ms, end_ms = _instant(first), _instant(last + timedelta(days=1))
    bound = read.settings.cycle_time_max_items
    workflow = read.states.workflow(project_id)
    completed = workflow.keys_in(StatusCategory.COMPLETED)
    ids = read.activity_log.items_entering(
        project_id, completed, since=start_ms, until=end_ms, limit=bound + 1
    )
    has_more = len(ids) > bound
    if has_more:
        metrics.BOUND_HITS.labels("cycle_time_items").inc()
        ids = ids[:bound]
    flows = [
        flow
        for flow in _flows(read, ids, workflow)
        if flow is not None and start_ms <= flow["completed_at"] < end_ms
    ]
    flows.sort(key=lambda flow: (flow["completed_at"], flow["work_item_id"]))
    return {
        "project_id": project_id,
        "since": first.isoformat(),
        "until": last.isoformat(),
        "cycle_time": durations([f["cycle_time_ms"] for f in flows]),
        "lead_time": durations([f["lead_time_ms"] for f in flows]),
        "items": flows,
        "has_more": has_more,
    }


def durations(values: Sequence[int | None]) -> Durations:
    """Count and nearest-rank percentiles of the values given (None: not measured)."""
    measured = sorted(value for value in values if value is not None)
    ranks = {p: _nearest_rank(measured, p) for p in PERCENTILES}
    return {"count": len(measured), "p50_ms": ranks[50], "p85_ms": ranks[85], "p95_ms": ranks[95]}


def _nearest_rank(ordered: list[int], percentile: int) -> int | None:
    if not ordered:
        return None
    return ordered[max(math.ceil(percentile * len(ordered) / 100), 1) - 1]


def _days(read: Reader, since: str | None, until: str | None) -> tuple[date, date]:
    last_text = v.iso_date(until, "until")
    first_text = v.iso_date(since, "since")
    last = date.fromisoformat(last_text) if last_text else datetime.now(UTC).date()
    default_days = read.settings.cycle_time_default_days
    first = date.fromisoformat(first_text) if first_text else last - timedelta(default_days - 1)
    if first > last:
        raise ValidationFailed("since must not be after until", field="since")
    max_days = read.settings.cycle_time_max_days
    if (last - first).days + 1 > max_days:
        metrics.BOUND_HITS.labels("cycle_time_days").inc()
        raise ValidationFailed(f"the range may span at most {max_days} days", field="since")
    return first, last


def _instant(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _flows(read: Reader, ids: list[str], workflow: Workflow) -> list[ItemFlow | None]:
    items = {item.id: item for item in read.items.get_many(ids)}
    changes: dict[str, list[ActivityLog]] = {item_id: [] for item_id in ids}
    for row in read.activity_log.status_changes(ids):
        changes[row.entity_id].append(row)
    return [item_flow(items[item_id], changes[item_id], workflow) for item_id in ids]


def item_flow(
    item: WorkItem, status_changes: Sequence[ActivityLog], workflow: Workflow
) -> ItemFlow | None:
    """The item's clocks from its status changes (oldest first), read by the categories of its
    project's states (``workflow``); None if never completed."""
    initial = status_changes[0].old_value if status_changes else item.status
    entries = [(item.created_at, initial)] + [(row.at, row.new_value) for row in status_changes]
    categories = [(at, workflow.category_of(status)) for at, status in entries]
    completed_at = next(
        (at for at, category in categories if category is StatusCategory.COMPLETED), None
    )
    if completed_at is None:
        return None
    started_at = next(
        (at for at, category in categories if at <= completed_at and category in WORK_STARTED),
        None,
    )
    return {
        "work_item_id": item.id,
        "title": item.title,
        "item_type": item.item_type,
        "created_at": item.created_at,
        "started_at": started_at,
        "completed_at": completed_at,
        "cycle_time_ms": None if started_at is None else completed_at - started_at,
        "lead_time_ms": completed_at - item.created_at,
    }
