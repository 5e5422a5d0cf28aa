"""Dependencies between work items: ``blocks`` (never in a cycle) and ``relates_to``.

Direction: in a dependency, ``blocking_item_id`` blocks ``blocked_item_id``. The caller needs
editor rights in the blocked item's project and viewer rights in the blocking item's project.
"""

from __future__ import annotations

from pm.domain.enums import DependencyType, Role
from pm.domain.events import Outcome
from pm.domain.models import Dependency, WorkItem
from pm.errors import CycleDetected, ValidationFailed
from pm.observability import metrics
from pm.services.kernel import validation as v
from pm.services.kernel.access import fresh_id, require_item_role, require_row_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.reader import Reader
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import (
    DependencyView,
    ItemDependencies,
    ItemRef,
    LinkedDependency,
    dependency_view,
)


def _path(scope: Scope, start: str, target: str, *, limit: int) -> list[str] | None:
    """A path of live ``blocks`` edges from ``start`` to ``target``, or None.

    One recursive query, breadth first, at most ``limit`` items reached: a refusal costs a
    bounded walk, however long the chain. A graph larger than that around ``start`` is refused
    rather than walked (VALIDATION_ERROR naming the bound).
    """
    came_from: dict[str, str | None] = {}
    rows = 0
    for node, previous in scope.dependencies.blocks_reach(start, limit=limit):
        rows += 1
        came_from.setdefault(node, previous)
        if node == target:
            path = [target]
            while (step := came_from[path[-1]]) is not None:
                path.append(step)
            return list(reversed(path))
    if rows >= limit:
        metrics.BOUND_HITS.labels("dependency_walk").inc()
        raise ValidationFailed(
            f"more than {limit} items depend on this one: a cycle can't be ruled out",
            field="blocked_item_id",
        )
    return None


def create_dependency(
    uow: UnitOfWork,
    *,
    blocking_item_id: str,
    blocked_item_id: str,
    dependency_type: str = "blocks",
    id: str | None = None,
) -> Outcome:
    kind = v.choice(dependency_type, DependencyType, "dependency_type")
    blocked = require_item_role(uow, blocked_item_id, Role.EDITOR, "blocked_item_id")
    blocking = require_item_role(uow, blocking_item_id, Role.VIEWER, "blocking_item_id")
    if blocked.id == blocking.id:
        raise ValidationFailed("an item can't depend on itself", field="blocked_item_id")
    dep_id = fresh_id(uow.dependencies, id) if id else new_id()
    if uow.dependencies.live_pair_exists(blocking.id, blocked.id):
        raise ValidationFailed("this dependency already exists", field="blocked_item_id")
    if kind is DependencyType.BLOCKS:
        back = _path(uow, blocked.id, blocking.id, limit=uow.settings.dependency_walk_limit)
        if back is not None:
            cycle = [*back, blocked.id]
            raise CycleDetected("this would close a cycle: " + " -> ".join(cycle), path=cycle)
    uow.watch_blocked([blocked.id])
    dep = Dependency(
        id=dep_id,
        blocking_item_id=blocking.id,
        blocked_item_id=blocked.id,
        project_id=blocked.project_id,
        dependency_type=kind.value,
        **uow.stamps(),
    )
    uow.create(
        dep,
        entity_type="dependency",
        project_id=dep.project_id,
        new=f"{blocking.id} {kind.value} {blocked.id}",
    )
    return uow.respond(
        uow.emit("dependency_created", dep.project_id, {"dependency": dependency_view(dep)})
    )


def delete_dependency(uow: UnitOfWork, *, dependency_id: str) -> Outcome:
    dep = require_row_role(
        uow, uow.dependencies, dependency_id, Role.EDITOR, field="dependency_id", what="dependency"
    )
    uow.watch_blocked([dep.blocked_item_id])
    uow.soft_delete(dep, entity_type="dependency", project_id=dep.project_id)
    payload = {"dependency_id": dep.id, "project_id": dep.project_id}
    return uow.respond(uow.emit("dependency_deleted", dep.project_id, payload))


def _with_other(read: Reader, deps: list[Dependency], other_side: str) -> list[LinkedDependency]:
    if not deps:
        return []
    ids = [getattr(dep, other_side) for dep in deps]
    items = {i.id: i for i in read.items.get_many(ids)}
    result: list[LinkedDependency] = []
    for dep in deps:
        other: WorkItem | None = items.get(getattr(dep, other_side))
        ref: ItemRef | None = (
            {"id": other.id, "key": other.key, "title": other.title, "status": other.status}
            if other
            else None
        )
        result.append({**dependency_view(dep), "other_item": ref})
    return result


def get_dependencies(read: Reader, *, work_item_id: str) -> ItemDependencies:
    return dependencies_of(read, require_item_role(read, work_item_id, Role.VIEWER))


def dependencies_of(read: Reader, item: WorkItem) -> ItemDependencies:
    """The dependencies of an item the caller may view, each with the item on its other side."""
    return {
        "blocking": _with_other(read, read.dependencies.where_blocked(item.id), "blocking_item_id"),
        "blocked": _with_other(read, read.dependencies.where_blocking(item.id), "blocked_item_id"),
        "is_blocked": bool(read.dependencies.blocked_among([item.id])),
    }


def project_dependencies(read: Reader, project_id: str) -> list[DependencyView]:
    """Live dependencies of a project the caller may view, oldest first."""
    return [dependency_view(row) for row in read.dependencies.live_in_project(project_id)]
