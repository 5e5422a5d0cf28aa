"""The change feed read side: what a reconnecting client missed, exactly, in order.

``seq`` is the change feed's autoincrement key, assigned under the tenant's write lock, so
committed sequence numbers are strictly increasing and, as readers see them, gap-free. Events
older than the retention window are swept; asking for anything before the oldest kept event
answers RESYNC_REQUIRED (timestamps are never the sync key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from pm.domain.enums import Role
from pm.domain.events import Event
from pm.domain.models import ChangeEvent
from pm.errors import ResyncRequired, ValidationFailed
from pm.services.access import require_role, visible_project_ids
from pm.services.context import RequestContext


@dataclass(frozen=True)
class Changes:
    events: list[Event]
    as_of_seq: int
    has_more: bool


def current_seq(session: Session) -> int:
    """The last committed seq of the tenant (0 before the first change)."""
    row = (
        session.connection()
        .execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'change_feed'"))
        .first()
    )
    return int(row[0]) if row else 0


def _oldest_kept_seq(session: Session) -> int | None:
    row = session.connection().execute(text("SELECT min(seq) FROM change_feed")).first()
    return None if row is None or row[0] is None else int(row[0])


def _to_event(row: ChangeEvent) -> Event:
    assert row.seq is not None
    return Event(
        seq=row.seq,
        event_id=row.event_id,
        project_id=row.project_id,
        payload_name=row.payload_name,
        payload=json.loads(row.payload),
        actor_id=row.actor_id,
        at=row.at,
    )


def get_changes(
    session: Session,
    ctx: RequestContext,
    *,
    since_seq: int,
    project_ids: list[str] | None = None,
    limit: int = 500,
) -> Changes:
    """Events after ``since_seq`` for the given projects (default: all the caller can view)."""
    if isinstance(since_seq, bool) or not isinstance(since_seq, int) or since_seq < 0:
        raise ValidationFailed("since_seq must be a non-negative integer", field="since_seq")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationFailed("limit must be a positive integer", field="limit")
    if project_ids:
        for project_id in project_ids:
            require_role(session, ctx, project_id, Role.VIEWER)
        projects = list(dict.fromkeys(project_ids))
    else:
        projects = visible_project_ids(session, ctx)
    as_of = current_seq(session)
    if since_seq > as_of:
        raise ValidationFailed("since_seq is ahead of this tenant's feed", field="since_seq")
    oldest = _oldest_kept_seq(session)
    if since_seq < as_of and (oldest is None or since_seq + 1 < oldest):
        raise ResyncRequired("events after since_seq are past retention; reload the project")
    rows = session.exec(
        select(ChangeEvent)
        .where(col(ChangeEvent.seq) > since_seq, col(ChangeEvent.project_id).in_(projects))
        .order_by(col(ChangeEvent.seq))
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    events = [_to_event(row) for row in rows[:limit]]
    return Changes(
        events=events, as_of_seq=events[-1].seq if has_more else as_of, has_more=has_more
    )


def events_after(session: Session, *, since_seq: int, limit: int) -> list[Event]:
    """Every project's events after ``since_seq``, oldest first: the bus's own read of the feed
    (it fills gaps between live events; the hub still filters by subscription)."""
    rows = session.exec(
        select(ChangeEvent)
        .where(col(ChangeEvent.seq) > since_seq)
        .order_by(col(ChangeEvent.seq))
        .limit(limit)
    ).all()
    return [_to_event(row) for row in rows]


def sweep_change_feed(session: Session, *, now: int, retention_days: float) -> int:
    """Delete events older than the retention window, always keeping the newest one so the
    oldest kept seq stays known; return how many went."""
    cutoff = now - int(retention_days * 86_400_000)
    newest = current_seq(session)
    result = session.execute(
        delete(ChangeEvent).where(col(ChangeEvent.at) < cutoff, col(ChangeEvent.seq) < newest)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def subscribe_projects(session: Session, ctx: RequestContext, *, project_ids: list[str]) -> int:
    """Check the caller may view every project; return the tenant's current seq, from which
    live events follow without a gap."""
    if not project_ids:
        raise ValidationFailed("project_ids must name at least one project", field="project_ids")
    for project_id in project_ids:
        require_role(session, ctx, project_id, Role.VIEWER)
    return current_seq(session)
