"""Authorization per DOMAIN.md: project roles viewer < editor < admin, plus the tenant-wide
``admin`` role claim. A caller who is not a member learns nothing: the project is NOT_FOUND.

A service function authorizes once, here, at its start; what it reads after that it reads
through the repositories (a composite read does not ask again for each part).

Wherever an item's id is accepted, its short key is too (``APO-12``; a project's ``APO``), in
any case: ``live_item``, ``item_id_of`` and ``require_project`` resolve it before anything else
reads the id.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from pm.domain.enums import ItemType, Role
from pm.domain.keys import as_item_key, as_project_key
from pm.domain.models import WorkItem
from pm.errors import Forbidden, NotFound, ValidationFailed
from pm.repositories.members import ItemRole
from pm.services.kernel.scope import Scope
from pm.services.kernel.validation import entity_id


class ProjectRow(Protocol):
    """A soft-deletable row of one project (a sprint, a lane, a comment...)."""

    @property
    def project_id(self) -> str: ...

    @property
    def deleted_at(self) -> int | None: ...


Row = TypeVar("Row", bound=ProjectRow)
Got = TypeVar("Got", bound=ProjectRow, covariant=True)


class Rows(Protocol[Got]):
    """A repository that finds rows by id, live or deleted."""

    def get(self, row_id: str) -> Got | None: ...


def project_role(scope: Scope, project_id: str) -> Role | None:
    """The caller's role in a live project, or None if the project is not theirs to see."""
    found = scope.members.role_lookup(scope.ctx.user_id, project_id)
    if found is None:
        return None
    item_type, deleted_at, role = found
    return _role_in(scope, item_type, deleted_at, role)


def _role_in(
    scope: Scope, item_type: str | None, deleted_at: int | None, role: str | None
) -> Role | None:
    """The caller's role in a project row of this type, liveness and membership."""
    if item_type != ItemType.PROJECT or deleted_at is not None:
        return None
    if scope.ctx.is_tenant_admin:
        return Role.ADMIN
    return None if role is None else Role(role)


def _enough(role: Role, needed: Role) -> Role:
    if role.rank < needed.rank:
        raise Forbidden(f"this needs the {needed.value} role in the project")
    return role


def require_role(scope: Scope, project_id: str, needed: Role) -> Role:
    """Raise NOT_FOUND for non-members and FORBIDDEN for members below ``needed``."""
    role = project_role(scope, project_id)
    if role is None:
        raise NotFound("project not found", field="project_id")
    return _enough(role, needed)


def require_project(scope: Scope, project_ref: object, needed: Role) -> str:
    """The id of the project ``project_ref`` names (its id or its key), if the caller has
    ``needed`` in it; NOT_FOUND and FORBIDDEN as ``require_role``."""
    if not isinstance(project_ref, str):
        raise ValidationFailed("project_id must be an id or a key", field="project_id")
    project_id = _id_of_key(scope, as_project_key(project_ref)) or project_ref
    require_role(scope, project_id, needed)
    return project_id


def _id_of_key(scope: Scope, key: str | None) -> str | None:
    if key is None:
        return None
    row = scope.items.by_key(key)
    return None if row is None else row.id


def visible_project_ids(scope: Scope) -> list[str]:
    """Ids of the live projects the caller may view, oldest first."""
    if scope.ctx.is_tenant_admin:
        return scope.items.live_project_ids()
    return scope.members.project_ids_of(scope.ctx.user_id)


def projects_in_view(scope: Scope, project_id: str | None) -> list[str]:
    """The one project asked for, if the caller may view it; else every project they may."""
    if project_id is None:
        return visible_project_ids(scope)
    return [require_project(scope, project_id, Role.VIEWER)]


def live_row(rows: Rows[Row], row_id: object, *, field: str, what: str) -> Row:
    """The live row of this id, or NOT_FOUND naming ``field`` (``what`` names the kind of row
    in the message); no authorization: the caller checks the role in the row's project."""
    if not isinstance(row_id, str) or not row_id:
        raise ValidationFailed(f"{field} is required", field=field)
    row = rows.get(row_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"{what} not found", field=field)
    return row


def require_row_role(
    scope: Scope, rows: Rows[Row], row_id: object, needed: Role, *, field: str, what: str
) -> Row:
    """The live row, if the caller has ``needed`` in its project; a row in a project the caller
    can't see is NOT_FOUND, like one that does not exist."""
    row = live_row(rows, row_id, field=field, what=what)
    return _authorized(scope, row, needed, field=field, what=what)


def _authorized(scope: Scope, row: Row, needed: Role, *, field: str, what: str) -> Row:
    try:
        require_role(scope, row.project_id, needed)
    except NotFound:
        raise NotFound(f"{what} not found", field=field) from None
    return row


def fresh_id(rows: Rows[ProjectRow], value: object) -> str:
    """A client-chosen id for a new row (a UUID). One taken by any row, live or deleted, seen
    by the caller or not, is refused with one answer that names neither the row nor its kind,
    so a collision says no more than "choose another"."""
    chosen = entity_id(value, "id")
    if rows.get(chosen) is not None:
        raise ValidationFailed("this id can't be used: choose a fresh UUID", field="id")
    return chosen


def item_id_of(scope: Scope, item_ref: str) -> str:
    """The id of the item (or project) a key names; anything else as given (an id, or nothing
    that exists: the caller's lookup answers that as for any unknown id)."""
    key = as_item_key(item_ref) or as_project_key(item_ref)
    return _id_of_key(scope, key) or item_ref


def live_item(scope: Scope, item_ref: object, field: str = "work_item_id") -> WorkItem:
    """A live work item by id or key, or NOT_FOUND naming ``field`` (no authorization)."""
    if isinstance(item_ref, str):
        item_ref = item_id_of(scope, item_ref)
    return live_row(scope.items, item_ref, field=field, what="work item")


def require_item_place(
    scope: Scope, item_ref: object, needed: Role, field: str = "work_item_id"
) -> ItemRole:
    """``require_item_role`` in one plain statement, for a caller that needs only where the
    item is (its id, type and project), not the item to change: the same answers and refusals
    (a missing, deleted or unseen item NOT_FOUND, a role below ``needed`` FORBIDDEN), an id or
    a key."""
    if not isinstance(item_ref, str) or not item_ref:
        raise ValidationFailed(f"{field} is required", field=field)
    item_id = item_id_of(scope, item_ref)
    found = scope.members.item_role_lookup(scope.ctx.user_id, item_id)
    if found is None or found.deleted_at is not None:
        raise NotFound("work item not found", field=field)
    role = _role_in(scope, found.project_type, found.project_deleted_at, found.role)
    if role is None:
        raise NotFound("work item not found", field=field)
    _enough(role, needed)
    return found


def require_item_role(
    scope: Scope, item_ref: object, needed: Role, field: str = "work_item_id"
) -> WorkItem:
    """The live item (by id or key), if the caller has ``needed`` in its project; an item in a
    project the caller can't see is NOT_FOUND, like one that does not exist."""
    return _authorized(
        scope, live_item(scope, item_ref, field), needed, field=field, what="work item"
    )
