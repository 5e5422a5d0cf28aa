"""Dependencies between work items: ``blocks`` (never in a cycle) and ``relates_to``.

Direction: in a dependency, ``blocking_item_id`` blocks ``blocked_item_id``. The caller needs
editor rights in the blocked item's project and viewer rights in the blocking item's project.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from pm.domain.enums import DependencyType, Role
from pm.domain.events import JsonDict, Outcome
from pm.domain.models import Dependency, WorkItem
from pm.errors import CycleDetected, NotFound, ValidationFailed
from pm.services import validation as v
from pm.services.access import require_item_role, require_role
from pm.services.blocking import is_blocked
from pm.services.clock import new_id
from pm.services.context import RequestContext
from pm.services.unit_of_work import UnitOfWork
from pm.services.views import dependency_view

_EDGE_BATCH = 500  # frontier ids per query, well under SQLite's bound-parameter limit


def _path(session: Session, start: str, target: str) -> list[str] | None:
    """A path of live ``blocks`` edges from ``start`` to ``target``, or None.

    Breadth-first, one query per batch of the frontier, each node visited once: the cost is
    bounded by the edges reachable from ``start``, however dense the graph.
    """
    came_from: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier and target not in came_from:
        next_frontier: list[str] = []
        for i in range(0, len(frontier), _EDGE_BATCH):
            batch = frontier[i : i + _EDGE_BATCH]
            edges = session.exec(
                select(Dependency.blocking_item_id, Dependency.blocked_item_id).where(
                    col(Dependency.blocking_item_id).in_(batch),
                    col(Dependency.deleted_at).is_(None),
                    Dependency.dependency_type == DependencyType.BLOCKS.value,
                )
            ).all()
            for source, dest in edges:
                if dest not in came_from:
                    came_from[dest] = source
                    next_frontier.append(dest)
        frontier = next_frontier
    if target not in came_from:
        return None
    path = [target]
    while (previous := came_from[path[-1]]) is not None:
        path.append(previous)
    return list(reversed(path))


def create_dependency(
    uow: UnitOfWork,
    *,
    blocking_item_id: str,
    blocked_item_id: str,
    dependency_type: str = "blocks",
    id: str | None = None,
) -> Outcome:
    session = uow.session
    kind = v.choice(dependency_type, DependencyType, "dependency_type")
    blocked = require_item_role(session, uow.ctx, blocked_item_id, Role.EDITOR, "blocked_item_id")
    blocking = require_item_role(
        session, uow.ctx, blocking_item_id, Role.VIEWER, "blocking_item_id"
    )
    if blocked.id == blocking.id:
        raise ValidationFailed("an item can't depend on itself", field="blocked_item_id")
    dep_id = v.entity_id(id, "id") if id else new_id()
    if session.get(Dependency, dep_id) is not None:
        raise ValidationFailed("an entity with this id already exists", field="id")
    duplicate = session.exec(
        select(Dependency.id).where(
            Dependency.blocking_item_id == blocking.id,
            Dependency.blocked_item_id == blocked.id,
            col(Dependency.deleted_at).is_(None),
        )
    ).first()
    if duplicate is not None:
        raise ValidationFailed("this dependency already exists", field="blocked_item_id")
    if kind is DependencyType.BLOCKS:
        back = _path(session, blocked.id, blocking.id)
        if back is not None:
            cycle = [*back, blocked.id]
            raise CycleDetected("this would close a cycle: " + " -> ".join(cycle), path=cycle)
    dep = Dependency(
        id=dep_id,
        blocking_item_id=blocking.id,
        blocked_item_id=blocked.id,
        project_id=blocked.project_id,
        dependency_type=kind.value,
        created_at=uow.now,
        created_by=uow.ctx.user_id,
        updated_at=uow.now,
        updated_by=uow.ctx.user_id,
    )
    session.add(dep)
    uow.activity(
        entity_type="dependency",
        entity_id=dep.id,
        project_id=dep.project_id,
        action="created",
        new=f"{blocking.id} {kind.value} {blocked.id}",
    )
    return uow.respond(
        uow.emit("dependency_created", dep.project_id, {"dependency": dependency_view(dep)})
    )


def delete_dependency(uow: UnitOfWork, *, dependency_id: str) -> Outcome:
    session = uow.session
    if not isinstance(dependency_id, str) or not dependency_id:
        raise ValidationFailed("dependency_id is required", field="dependency_id")
    dep = session.get(Dependency, dependency_id)
    if dep is None or dep.deleted_at is not None:
        raise NotFound("dependency not found", field="dependency_id")
    try:
        require_role(session, uow.ctx, dep.project_id, Role.EDITOR)
    except NotFound:
        raise NotFound("dependency not found", field="dependency_id") from None
    dep.deleted_at = uow.now
    dep.updated_at = uow.now
    dep.updated_by = uow.ctx.user_id
    session.add(dep)
    uow.activity(
        entity_type="dependency", entity_id=dep.id, project_id=dep.project_id, action="deleted"
    )
    payload = {"dependency_id": dep.id, "project_id": dep.project_id}
    return uow.respond(uow.emit("dependency_deleted", dep.project_id, payload))


def _with_other(session: Session, deps: list[Dependency], other_side: str) -> list[JsonDict]:
    if not deps:
        return []
    ids = [getattr(dep, other_side) for dep in deps]
    items = {i.id: i for i in session.exec(select(WorkItem).where(col(WorkItem.id).in_(ids)))}
    result = []
    for dep in deps:
        other = items.get(getattr(dep, other_side))
        view = dependency_view(dep)
        view["other_item"] = (
            {"id": other.id, "title": other.title, "status": other.status} if other else None
        )
        result.append(view)
    return result


def get_dependencies(session: Session, ctx: RequestContext, *, work_item_id: str) -> JsonDict:
    """``blocking``: dependencies whose blocking item holds this one up (it is the blocked
    side); ``blocked``: dependencies in which this item blocks others."""
    item = require_item_role(session, ctx, work_item_id, Role.VIEWER)
    live = col(Dependency.deleted_at).is_(None)
    holding_up = list(
        session.exec(select(Dependency).where(Dependency.blocked_item_id == item.id, live)).all()
    )
    holds_up = list(
        session.exec(select(Dependency).where(Dependency.blocking_item_id == item.id, live)).all()
    )
    return {
        "blocking": _with_other(session, holding_up, "blocking_item_id"),
        "blocked": _with_other(session, holds_up, "blocked_item_id"),
        "is_blocked": is_blocked(session, item.id),
    }


def list_project_dependencies(
    session: Session, ctx: RequestContext, *, project_id: str
) -> list[JsonDict]:
    require_role(session, ctx, project_id, Role.VIEWER)
    rows = session.exec(
        select(Dependency)
        .where(Dependency.project_id == project_id, col(Dependency.deleted_at).is_(None))
        .order_by(col(Dependency.created_at), col(Dependency.id))
    ).all()
    return [dependency_view(row) for row in rows]
