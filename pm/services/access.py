"""Authorization per DOMAIN.md: project roles viewer < editor < admin, plus the tenant-wide
``admin`` role claim. A caller who is not a member learns nothing: the project is NOT_FOUND."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from pm.domain.enums import ItemType, Role
from pm.domain.models import ProjectMember, WorkItem
from pm.errors import Forbidden, NotFound, ValidationFailed
from pm.services.context import RequestContext

ROLE_CACHE = "pm.role_cache"  # session.info key; set for read-only queries (see ServiceRunner)


def project_role(session: Session, ctx: RequestContext, project_id: str) -> Role | None:
    """The caller's role in a live project, or None if the project is not theirs to see.

    A query that checks the same project several times (an item with its children, comments,
    dependencies...) asks the database once: a read transaction sees one snapshot, so the answer
    can't change within it. Commands don't cache: they may change memberships as they go."""
    cache: dict[tuple[str, str], Role | None] | None = session.info.get(ROLE_CACHE)
    key = (ctx.user_id, project_id)
    if cache is not None and key in cache:
        return cache[key]
    role = _project_role(session, ctx, project_id)
    if cache is not None:
        cache[key] = role
    return role


def _project_role(session: Session, ctx: RequestContext, project_id: str) -> Role | None:
    # Every command and query asks this first: one statement, without the ORM's overhead.
    row = driver_row(session, _ROLE_SQL, (ctx.user_id, project_id))
    if row is None or row[0] != ItemType.PROJECT or row[1] is not None:
        return None
    if ctx.is_tenant_admin:
        return Role.ADMIN
    return None if row[2] is None else Role(row[2])


_ROLE_SQL = (
    "SELECT w.item_type, w.deleted_at, (SELECT m.role FROM project_members m"
    " WHERE m.project_id = w.id AND m.user_id = ? AND m.deleted_at IS NULL)"
    " FROM work_items w WHERE w.id = ?"
)


def driver_row(session: Session, sql: str, params: tuple[Any, ...]) -> Any:
    """The first row of a plain SQL statement (the hot lookups skip statement building). Rows
    the session holds unflushed are flushed first, so the statement sees them as the ORM would."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().exec_driver_sql(sql, params).first()


def require_role(session: Session, ctx: RequestContext, project_id: str, needed: Role) -> Role:
    """Raise NOT_FOUND for non-members and FORBIDDEN for members below ``needed``."""
    role = project_role(session, ctx, project_id)
    if role is None:
        raise NotFound("project not found", field="project_id")
    if role.rank < needed.rank:
        raise Forbidden(f"this needs the {needed.value} role in the project")
    return role


def visible_project_ids(session: Session, ctx: RequestContext) -> list[str]:
    """Ids of the live projects the caller may view."""
    query = select(WorkItem.id).where(
        WorkItem.item_type == ItemType.PROJECT,
        col(WorkItem.deleted_at).is_(None),
    )
    if not ctx.is_tenant_admin:
        query = query.join(ProjectMember, col(ProjectMember.project_id) == col(WorkItem.id)).where(
            ProjectMember.user_id == ctx.user_id,
            col(ProjectMember.deleted_at).is_(None),
        )
    return list(session.exec(query.order_by(WorkItem.position, WorkItem.id)).all())


def live_item(session: Session, item_id: object, field: str = "work_item_id") -> WorkItem:
    """A live work item by id, or NOT_FOUND naming ``field``."""
    if not isinstance(item_id, str) or not item_id:
        raise ValidationFailed(f"{field} is required", field=field)
    item = session.get(WorkItem, item_id)
    if item is None or item.deleted_at is not None:
        raise NotFound("work item not found", field=field)
    return item


def require_item_role(
    session: Session,
    ctx: RequestContext,
    item_id: object,
    needed: Role,
    field: str = "work_item_id",
) -> WorkItem:
    """The live item, if the caller has ``needed`` in its project; an item in a project the
    caller can't see is NOT_FOUND, like one that does not exist."""
    item = live_item(session, item_id, field)
    try:
        require_role(session, ctx, item.project_id, needed)
    except NotFound:
        raise NotFound("work item not found", field=field) from None
    return item
