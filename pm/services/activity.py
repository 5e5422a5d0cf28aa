"""The activity log, read side: filtered, newest first, cursor paginated by activity id."""

from __future__ import annotations

from sqlmodel import Session, col, select

from pm.domain.enums import Role
from pm.domain.events import JsonDict
from pm.domain.models import ActivityLog
from pm.services import validation as v
from pm.services.access import require_role, visible_project_ids
from pm.services.context import RequestContext
from pm.services.pagination import Page, PageRequest, page_of
from pm.services.views import activity_view

INSTANT_MAX = 2**53


def get_activity(
    session: Session,
    ctx: RequestContext,
    *,
    page: PageRequest,
    project_id: str | None = None,
    entity_id: str | None = None,
    user_id: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> Page[JsonDict]:
    """Activity of the projects the caller can view; nothing of other projects ever shows."""
    if project_id is not None:
        require_role(session, ctx, project_id, Role.VIEWER)
        projects = [project_id]
    else:
        projects = visible_project_ids(session, ctx)
    query = select(ActivityLog).where(col(ActivityLog.project_id).in_(projects))
    if entity_id is not None:
        query = query.where(ActivityLog.entity_id == entity_id)
    if user_id is not None:
        query = query.where(ActivityLog.user_id == user_id)
    if since is not None:
        query = query.where(
            col(ActivityLog.at) >= v.int_range(since, "since", low=0, high=INSTANT_MAX)
        )
    if until is not None:
        query = query.where(
            col(ActivityLog.at) < v.int_range(until, "until", low=0, high=INSTANT_MAX)
        )
    after = page.after_key(int)
    if after is not None:
        query = query.where(col(ActivityLog.id) < after[0])
    rows = list(
        session.exec(query.order_by(col(ActivityLog.id).desc()).limit(page.limit + 1)).all()
    )
    result = page_of(rows, page, key=lambda row: [row.id])
    return Page([activity_view(row) for row in result.items], result.next_cursor)
