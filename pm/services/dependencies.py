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
from pm.services.kernel.bounds import Cut, within_bounds
from pm.services.kernel.ids import new_id
from pm.services.kernel.pagination import PageRequest, page_of
from pm.services.kernel.reader import Reader
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import (
    DependencyView,
    ItemDependencies,
    ItemRef,
    LinkedDependency,
    dependency_view,
    paged,
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


ITEM_REF_BYTES = 200  # what an item on the other side adds to a row: its title, at most


def _linked(read: Reader, deps: list[Dependency], item_id: str) -> list[LinkedDependency]:
    """Each dependency with the item at its other end (title and status, never the
    description)."""
    refs = read.items.refs([_other_side(dep, item_id) for dep in deps])
    result: list[LinkedDependency] = []
    for dep in deps:
        other = _other_side(dep, item_id)
        found = refs.get(other)
        ref: ItemRef | None = (
            None
            if found is None
            else {"id": other, "key": found[0], "title": found[1], "status": found[2]}
        )
        result.append({**dependency_view(dep), "other_item": ref})
    return result


def _other_side(dep: Dependency, item_id: str) -> str:
    return dep.blocking_item_id if dep.blocked_item_id == item_id else dep.blocked_item_id


def get_dependencies(
    read: Reader, *, work_item_id: str, cursor: str | None = None, limit: int | None = None
) -> ItemDependencies:
    item = require_item_role(read, work_item_id, Role.VIEWER)
    return dependencies_of(read, item, read.page(limit, cursor))


def dependencies_of(read: Reader, item: WorkItem, page: PageRequest) -> ItemDependencies:
    """A bounded page of the dependencies of an item the caller may view, both directions
    together oldest first, each with the item on its other side."""
    after = page.after_key(int, str)
    rows = read.dependencies.live_touching_from(
        item.id, None if after is None else (after[0], after[1]), limit=page.limit + 1
    )
    result = page_of(
        rows, page, key=lambda row: [row.created_at, row.id], size=lambda _row: ITEM_REF_BYTES
    )
    linked = _linked(read, result.items, item.id)
    return {
        "blocking": [dep for dep in linked if dep["blocked_item_id"] == item.id],
        "blocked": [dep for dep in linked if dep["blocking_item_id"] == item.id],
        "is_blocked": bool(read.dependencies.blocked_among([item.id])),
        **paged(result.next_cursor),
    }


def project_dependencies(read: Reader, project_id: str, *, limit: int) -> Cut[DependencyView]:
    """Live dependencies of a project the caller may view, oldest first, within ``limit``
    rows and the byte bound."""
    rows = read.dependencies.live_in_project_from(project_id, None, limit=limit + 1)
    cut = within_bounds(
        rows, size=lambda _row: 0, max_rows=limit, max_bytes=read.settings.max_response_bytes
    )
    return Cut([dependency_view(row) for row in cut.rows], cut.has_more)
