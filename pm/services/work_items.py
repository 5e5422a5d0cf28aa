"""Work items: projects, epics, stories and tasks in one tree.

Commands: ``create_work_item``, ``update_work_item``, ``move_work_item``, ``delete_work_item``.
Queries: ``list_projects``, ``get_work_item``, ``list_work_items``, ``project_work_items``.

Stale updates merge field by field: the activity log records the version each field change
produced, so "did any field I set change since the version I saw?" is one indexed query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from pm.domain.enums import ALLOWED_PARENTS, ItemType, Priority, Role, SprintStatus, Status
from pm.domain.events import JsonDict, Outcome
from pm.domain.models import Dependency, Sprint, WorkItem
from pm.domain.ordering import MAX_KEY_LENGTH, key_between, spread_keys
from pm.errors import DeleteBlocked, NotFound, ValidationFailed
from pm.services import validation as v
from pm.services.access import (
    driver_row,
    live_item,
    require_item_role,
    require_role,
    visible_project_ids,
)
from pm.services.blocking import blocked_among, blocked_in_project
from pm.services.clock import new_id
from pm.services.context import RequestContext
from pm.services.members import add_project_creator
from pm.services.merge import apply_fields, refuse_collisions, require_current_version
from pm.services.pagination import Page, PageRequest, page_of
from pm.services.swim_lanes import create_default_lanes
from pm.services.unit_of_work import UnitOfWork
from pm.services.users import require_user
from pm.services.views import work_item_view

UPDATABLE_FIELDS = frozenset(
    {"title", "description", "status", "priority", "assignee_id", "story_points", "sprint_id"}
)
LIVE = col(WorkItem.deleted_at).is_(None)


# -- value rules ---------------------------------------------------------------------------


def _clean_field(session: Session, item_project: str, name: str, value: Any) -> Any:
    """Validate one settable field and return its stored form."""
    cleaners: dict[str, Callable[[], Any]] = {
        "title": lambda: v.text(value, "title", min_len=1, max_len=200),
        "description": lambda: v.text(value, "description", max_len=50_000, trim=False),
        "status": lambda: v.choice(value, Status, "status").value,
        "priority": lambda: v.choice(value, Priority, "priority").value,
        "assignee_id": lambda: _assignee(session, value),
        "story_points": lambda: (
            None if value is None else v.int_range(value, "story_points", low=0, high=1000)
        ),
        "sprint_id": lambda: _open_sprint(session, item_project, value),
    }
    return cleaners[name]()


def _assignee(session: Session, value: Any) -> str | None:
    user_id = v.optional_ref(value, "assignee_id")
    if user_id is not None:
        require_user(session, user_id, "assignee_id")
    return user_id


def _open_sprint(session: Session, project_id: str, value: Any) -> str | None:
    sprint_id = v.optional_ref(value, "sprint_id")
    if sprint_id is None:
        return None
    sprint = session.get(Sprint, sprint_id)
    if sprint is None or sprint.deleted_at is not None or sprint.project_id != project_id:
        raise NotFound("no such sprint in this project", field="sprint_id")
    if sprint.status in (SprintStatus.COMPLETED, SprintStatus.CANCELLED):
        raise ValidationFailed(f"the sprint is {sprint.status}", field="sprint_id")
    return sprint_id


def _check_parent(item_type: ItemType, parent: WorkItem | None) -> None:
    allowed = ALLOWED_PARENTS[item_type]
    if parent is None:
        if allowed:
            raise ValidationFailed(f"a {item_type.value} needs a parent", field="parent_id")
        return
    if ItemType(parent.item_type) not in allowed:
        names = " or ".join(sorted(t.value for t in allowed)) or "nothing"
        raise ValidationFailed(
            f"a {item_type.value} can only be placed under {names}", field="parent_id"
        )


def _last_child_position(session: Session, parent_id: str | None) -> str | None:
    row = driver_row(session, _LAST_CHILD_SQL, (parent_id,))
    return None if row is None else row[0]


# `IS ?` matches NULL too: the projects are the children of no parent.
_LAST_CHILD_SQL = "SELECT max(position) FROM work_items WHERE parent_id IS ? AND deleted_at IS NULL"


def _is_blocked(session: Session, item: WorkItem) -> bool:
    return item.id in blocked_among(session, [item.id])


def _view(session: Session, item: WorkItem) -> JsonDict:
    return work_item_view(item, is_blocked=_is_blocked(session, item))


# -- commands ------------------------------------------------------------------------------


def create_work_item(
    uow: UnitOfWork,
    *,
    item_type: str,
    title: str,
    id: str | None = None,
    project_id: str | None = None,
    parent_id: str | None = None,
    description: str = "",
    status: str = "backlog",
    priority: str = "medium",
    assignee_id: str | None = None,
    story_points: int | None = None,
    sprint_id: str | None = None,
) -> Outcome:
    """Create a project (caller becomes its admin, default lanes made) or an item under one."""
    session = uow.session
    kind = v.choice(item_type, ItemType, "item_type")
    item_id = v.entity_id(id, "id") if id else new_id()
    if id and session.get(WorkItem, item_id) is not None:
        raise ValidationFailed("an entity with this id already exists", field="id")
    parent: WorkItem | None = None
    if kind is ItemType.PROJECT:
        if parent_id or project_id:
            raise ValidationFailed("a project has no parent", field="parent_id")
        root = item_id
    else:
        parent = live_item(session, parent_id or project_id, "parent_id")
        if project_id and parent.project_id != project_id:
            raise ValidationFailed("the parent is in another project", field="parent_id")
        root = parent.project_id
        require_role(session, uow.ctx, root, Role.EDITOR)
    _check_parent(kind, parent)
    values = {
        name: _clean_field(session, root, name, value)
        for name, value in (
            ("title", title),
            ("description", description),
            ("status", status),
            ("priority", priority),
            ("assignee_id", assignee_id),
            ("story_points", story_points),
            ("sprint_id", sprint_id),
        )
    }
    if kind is ItemType.PROJECT and values["sprint_id"] is not None:
        raise ValidationFailed("a project can't be in a sprint", field="sprint_id")
    parent_key = parent.id if parent else None
    item = WorkItem(
        id=item_id,
        item_type=kind.value,
        project_id=root,
        parent_id=parent_key,
        position=_end_position(uow, parent_key, moving=item_id),
        version=1,
        created_at=uow.now,
        created_by=uow.ctx.user_id,
        updated_at=uow.now,
        updated_by=uow.ctx.user_id,
        **values,
    )
    session.connection().execute(_INSERT_ITEM, {name: getattr(item, name) for name in _COLUMNS})
    uow.activity(
        entity_type="work_item", entity_id=item.id, project_id=root, action="created", version=1
    )
    if kind is ItemType.PROJECT:
        add_project_creator(uow, item.id)
        create_default_lanes(uow, item.id)
    event = uow.emit("work_item_created", root, {"work_item": work_item_view(item)})
    return uow.respond(event)


# The new row goes in as one prebuilt insert: nothing in the creating transaction changes the
# object again, so the ORM's unit of work (a flush pass) would only add cost.
_INSERT_ITEM = insert(WorkItem)
_COLUMNS = tuple(column.name for column in WorkItem.__table__.columns)  # type: ignore[attr-defined]


def update_work_item(
    uow: UnitOfWork, *, work_item_id: str, expected_version: int, fields: dict[str, Any]
) -> Outcome:
    """Set some fields. A stale version merges unless a field it sets changed since then."""
    session = uow.session
    item = live_item(session, work_item_id)
    require_role(session, uow.ctx, item.project_id, Role.EDITOR)
    version = v.expected_version(expected_version)
    v.known_fields(fields, UPDATABLE_FIELDS)
    cleaned = {
        name: _clean_field(session, item.project_id, name, value) for name, value in fields.items()
    }
    if item.item_type == ItemType.PROJECT and cleaned.get("sprint_id") is not None:
        raise ValidationFailed("a project can't be in a sprint", field="sprint_id")
    return _apply(uow, item, version, cleaned, action="updated")


def move_work_item(
    uow: UnitOfWork,
    *,
    work_item_id: str,
    expected_version: int,
    parent_id: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    status: str | None = None,
) -> Outcome:
    """A drag on the board: new parent and/or place among siblings and/or status.

    Only the moved item is written (an order key between its new neighbours), unless the keys
    at that spot have grown too long: then the other siblings are first respaced, in the same
    transaction and each with its own event, and the key is taken between the new neighbours.
    """
    session = uow.session
    item = live_item(session, work_item_id)
    require_role(session, uow.ctx, item.project_id, Role.EDITOR)
    version = v.expected_version(expected_version)
    changes: dict[str, Any] = {}
    parent_key = item.parent_id
    if parent_id:
        parent = live_item(session, parent_id, "parent_id")
        if parent.project_id != item.project_id:
            raise ValidationFailed("the new parent is in another project", field="parent_id")
        _check_parent(ItemType(item.item_type), parent)
        _refuse_own_subtree(session, item, parent)
        parent_key = parent.id
        changes["parent_id"] = parent.id
    if status is not None:
        changes["status"] = v.choice(status, Status, "status").value
    if after_id or before_id:
        key = _position_between(session, item, parent_key, after_id, before_id)
        if len(key) > MAX_KEY_LENGTH:
            _respace_siblings(uow, parent_key, moving=item.id)
            key = _position_between(session, item, parent_key, after_id, before_id)
        changes["position"] = key
    elif parent_key != item.parent_id:
        changes["position"] = _end_position(uow, parent_key, moving=item.id)
    return _apply(uow, item, version, changes, action="moved")


def delete_work_item(uow: UnitOfWork, *, work_item_id: str, expected_version: int) -> Outcome:
    """Soft-delete an item with no live children, and its dependencies with it."""
    session = uow.session
    item = live_item(session, work_item_id)
    is_project = item.item_type == ItemType.PROJECT
    require_role(session, uow.ctx, item.project_id, Role.ADMIN if is_project else Role.EDITOR)
    version = v.expected_version(expected_version)
    require_current_version(item, version, lambda: _view(session, item))
    children = session.exec(select(func.count()).where(WorkItem.parent_id == item.id, LIVE)).one()
    if children:
        raise DeleteBlocked(
            f"the item has {children} live child item{'s' if children != 1 else ''}",
            field="work_item_id",
        )
    deps = session.exec(
        select(Dependency).where(
            (Dependency.blocking_item_id == item.id) | (Dependency.blocked_item_id == item.id),
            col(Dependency.deleted_at).is_(None),
        )
    ).all()
    for dep in deps:
        dep.deleted_at = uow.now
        dep.updated_at = uow.now
        dep.updated_by = uow.ctx.user_id
        session.add(dep)
        uow.activity(
            entity_type="dependency",
            entity_id=dep.id,
            project_id=dep.project_id,
            action="deleted",
        )
    item.deleted_at = uow.now
    item.version += 1
    item.updated_at = uow.now
    item.updated_by = uow.ctx.user_id
    session.add(item)
    uow.activity(
        entity_type="work_item",
        entity_id=item.id,
        project_id=item.project_id,
        action="deleted",
        version=item.version,
    )
    event = uow.emit(
        "work_item_deleted",
        item.project_id,
        {"work_item_id": item.id, "project_id": item.project_id},
    )
    return uow.respond(event)


# -- the merge -----------------------------------------------------------------------------


def _apply(
    uow: UnitOfWork, item: WorkItem, seen_version: int, wanted: dict[str, Any], *, action: str
) -> Outcome:
    session = uow.session
    refuse_collisions(session, item, seen_version, wanted, lambda: _view(session, item))
    changes = apply_fields(
        uow, item, wanted, entity_type="work_item", project_id=item.project_id, action=action
    )
    if not changes:
        return Outcome("work_item_updated", {"work_item": _view(session, item), "changes": []})
    session.flush()
    payload = {"work_item": _view(session, item), "changes": changes}
    return uow.respond(uow.emit("work_item_updated", item.project_id, payload))


# -- ordering ------------------------------------------------------------------------------


def _refuse_own_subtree(session: Session, item: WorkItem, parent: WorkItem) -> None:
    node: WorkItem | None = parent
    while node is not None:
        if node.id == item.id:
            raise ValidationFailed(
                "an item can't be moved under itself or its descendant", field="parent_id"
            )
        node = session.get(WorkItem, node.parent_id) if node.parent_id else None


def _sibling(session: Session, item_id: str, parent_key: str | None, field: str) -> WorkItem:
    sibling = live_item(session, item_id, field)
    if sibling.parent_id != parent_key or sibling.id == sibling.parent_id:
        raise ValidationFailed(f"{field} is not a sibling at the destination", field=field)
    return sibling


def _neighbour(
    session: Session, parent_key: str | None, item: WorkItem, *, after: str
) -> str | None:
    """The position of the next sibling after ``after`` (skipping the moved item)."""
    return session.exec(
        select(func.min(WorkItem.position)).where(
            WorkItem.parent_id == parent_key,
            LIVE,
            col(WorkItem.position) > after,
            WorkItem.id != item.id,
        )
    ).first()


def _previous(
    session: Session, parent_key: str | None, item: WorkItem, *, before: str
) -> str | None:
    return session.exec(
        select(func.max(WorkItem.position)).where(
            WorkItem.parent_id == parent_key,
            LIVE,
            col(WorkItem.position) < before,
            WorkItem.id != item.id,
        )
    ).first()


def _position_between(
    session: Session,
    item: WorkItem,
    parent_key: str | None,
    after_id: str | None,
    before_id: str | None,
) -> str:
    low = _sibling(session, after_id, parent_key, "after_id").position if after_id else None
    high = _sibling(session, before_id, parent_key, "before_id").position if before_id else None
    if item.id in (after_id, before_id):
        raise ValidationFailed("an item can't be placed next to itself", field="after_id")
    if low is not None and high is None:
        high = _neighbour(session, parent_key, item, after=low)
    elif high is not None and low is None:
        low = _previous(session, parent_key, item, before=high)
    if low is not None and high is not None and low >= high:
        raise ValidationFailed("after_id must come before before_id", field="before_id")
    return key_between(low, high)


def _end_position(uow: UnitOfWork, parent_key: str | None, *, moving: str) -> str:
    """A key after the last live sibling, respacing the siblings first in the rare case that
    keys at the end grew too long."""
    key = key_between(_last_child_position(uow.session, parent_key), None)
    if len(key) > MAX_KEY_LENGTH:
        _respace_siblings(uow, parent_key, moving=moving)
        key = key_between(_last_child_position(uow.session, parent_key), None)
    return key


def _respace_siblings(uow: UnitOfWork, parent_key: str | None, *, moving: str) -> None:
    """Give every sibling but the moving one a short, evenly spaced key (rare: only when keys
    at one spot grew too long)."""
    session = uow.session
    siblings = session.exec(
        select(WorkItem)
        .where(WorkItem.parent_id == parent_key, LIVE, WorkItem.id != moving)
        .order_by(col(WorkItem.position), col(WorkItem.id))
    ).all()
    for sibling, key in zip(siblings, spread_keys(len(siblings)), strict=True):
        if sibling.position == key:
            continue
        old = sibling.position
        sibling.position = key
        sibling.version += 1
        sibling.updated_at = uow.now
        sibling.updated_by = uow.ctx.user_id
        session.add(sibling)
        uow.activity(
            entity_type="work_item",
            entity_id=sibling.id,
            project_id=sibling.project_id,
            action="moved",
            field="position",
            old=old,
            new=key,
            version=sibling.version,
        )
        change = {"field": "position", "old_value": old, "new_value": key}
        uow.emit(
            "work_item_updated",
            sibling.project_id,
            {"work_item": _view(session, sibling), "changes": [change]},
        )


# -- queries -------------------------------------------------------------------------------


def list_projects(session: Session, ctx: RequestContext) -> list[JsonDict]:
    ids = visible_project_ids(session, ctx)
    if not ids:
        return []
    items = session.exec(select(WorkItem).where(col(WorkItem.id).in_(ids))).all()
    by_id = {item.id: item for item in items}
    return [work_item_view(by_id[i]) for i in ids if i in by_id]


def get_work_item(session: Session, ctx: RequestContext, *, work_item_id: str) -> JsonDict:
    return _view(session, require_item_role(session, ctx, work_item_id, Role.VIEWER))


def project_work_items(session: Session, ctx: RequestContext, *, project_id: str) -> list[JsonDict]:
    """Every live item of a project in tree order (parent, then position)."""
    require_role(session, ctx, project_id, Role.VIEWER)
    items = session.exec(
        select(WorkItem)
        .where(WorkItem.project_id == project_id, LIVE)
        .order_by(col(WorkItem.parent_id), col(WorkItem.position), col(WorkItem.id))
    ).all()
    blocked = blocked_in_project(session, project_id)
    return [work_item_view(item, is_blocked=item.id in blocked) for item in items]


def list_work_items(
    session: Session,
    ctx: RequestContext,
    *,
    page: PageRequest,
    project_id: str | None = None,
    status: str | None = None,
    assignee_id: str | None = None,
    sprint_id: str | None = None,
    item_type: str | None = None,
    q: str | None = None,
) -> Page[JsonDict]:
    """Filtered items of the projects the caller can see, oldest first, cursor paginated."""
    if project_id is not None:
        require_role(session, ctx, project_id, Role.VIEWER)
        projects = [project_id]
    else:
        projects = visible_project_ids(session, ctx)
    query = select(WorkItem).where(col(WorkItem.project_id).in_(projects), LIVE)
    if status is not None:
        query = query.where(WorkItem.status == v.choice(status, Status, "status").value)
    if item_type is not None:
        query = query.where(WorkItem.item_type == v.choice(item_type, ItemType, "item_type").value)
    if assignee_id is not None:
        query = query.where(WorkItem.assignee_id == assignee_id)
    if sprint_id is not None:
        query = query.where(WorkItem.sprint_id == sprint_id)
    if q:
        needle = "%" + v.text(q, "q", min_len=1, max_len=200).replace("%", r"\%") + "%"
        query = query.where(
            col(WorkItem.title).like(needle, escape="\\")
            | col(WorkItem.description).like(needle, escape="\\")
        )
    after = page.after_key(int, str)
    if after is not None:
        at, last_id = after
        query = query.where(
            (col(WorkItem.created_at) > at)
            | ((col(WorkItem.created_at) == at) & (col(WorkItem.id) > last_id))
        )
    rows = list(
        session.exec(
            query.order_by(col(WorkItem.created_at), col(WorkItem.id)).limit(page.limit + 1)
        ).all()
    )
    result = page_of(rows, page, key=lambda item: [item.created_at, item.id])
    blocked = blocked_among(session, [item.id for item in result.items])
    return Page(
        [work_item_view(item, is_blocked=item.id in blocked) for item in result.items],
        result.next_cursor,
    )
