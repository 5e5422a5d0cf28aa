"""The initial load of a project: everything a board needs, read in one snapshot."""

from __future__ import annotations

from sqlmodel import Session

from pm.domain.enums import Role
from pm.domain.events import JsonDict
from pm.services.access import require_role
from pm.services.changes import current_seq
from pm.services.context import RequestContext
from pm.services.dependencies import list_project_dependencies
from pm.services.members import list_members
from pm.services.sprints import list_sprints
from pm.services.swim_lanes import list_swim_lanes
from pm.services.work_items import get_work_item, project_work_items


def project_snapshot(session: Session, ctx: RequestContext, *, project_id: str) -> JsonDict:
    """``ProjectSnapshot``: the project, its items, sprints, lanes, members and dependencies,
    with ``as_of_seq`` so a client can follow live events from exactly this point."""
    require_role(session, ctx, project_id, Role.VIEWER)
    return {
        "project": get_work_item(session, ctx, work_item_id=project_id),
        "work_items": project_work_items(session, ctx, project_id=project_id),
        "sprints": list_sprints(session, ctx, project_id=project_id),
        "swim_lanes": list_swim_lanes(session, ctx, project_id=project_id),
        "members": list_members(session, ctx, project_id=project_id),
        "dependencies": list_project_dependencies(session, ctx, project_id=project_id),
        "as_of_seq": current_seq(session),
    }


def project_items_as_of(session: Session, ctx: RequestContext, *, project_id: str) -> JsonDict:
    """``WorkItemsList``: every live item of the project and the seq it is current at."""
    return {
        "work_items": project_work_items(session, ctx, project_id=project_id),
        "as_of_seq": current_seq(session),
    }
