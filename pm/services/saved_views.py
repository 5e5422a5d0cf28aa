"""Saved views (DOMAIN.md "Everyday fields"): a name, filters (a SearchWorkItems spec, checked
by the very code that runs it, pm.services.search), a grouping and a sort; private to its owner
or shared with the project. SearchWorkItems{view_id} runs one.

Anyone who can view a project keeps private views of it (at most ``views_max_per_user``);
sharing one takes an editor. A private view is nobody else's business: its changes are
answered to its owner and never enter the project's feed (no event, no activity row). A shared
view's changes are events of the project; a view that stops being shared is ``view_deleted``
for everyone else.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from pm.domain.enums import Role
from pm.domain.events import Outcome
from pm.domain.models import SavedView
from pm.errors import NotFound, ValidationFailed
from pm.observability import metrics
from pm.services.kernel import validation as v
from pm.services.kernel.access import fresh_id, require_project, require_role, require_row_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.reader import Reader
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.search import SPEC_FIELDS, build_filters, build_order
from pm.services.views import SavedViewView, saved_view_view

GROUPS = frozenset({"", "status", "assignee_id", "priority", "item_type", "sprint_id", "label"})
MAX_FILTERS_BYTES = 16 * 1024


def _spec(uow: UnitOfWork, project_id: str, filters: object) -> dict[str, Any]:
    """The view's filters as stored: the set fields of the spec, checked as a search checks
    them (over this project)."""
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise ValidationFailed("filters must be a map of filter to value", field="filters")
    spec = {name: value for name, value in filters.items() if value not in (None, "", [])}
    checked, _text = build_filters(
        uow, [project_id], spec, max_conditions=uow.settings.views_max_conditions
    )
    # labels and fields kept by id: renaming one leaves the view as it was
    if "labels" in spec:
        spec["labels"] = [ids[0] for ids in checked.labels]
    if "fields" in spec:
        spec["fields"] = [
            {**given, "field_id": condition.field_id}
            for given, condition in zip(spec["fields"], checked.fields, strict=True)
        ]
    if len(json.dumps(spec)) > MAX_FILTERS_BYTES:
        raise ValidationFailed(f"filters are at most {MAX_FILTERS_BYTES} bytes", field="filters")
    return {name: spec[name] for name in SPEC_FIELDS if name in spec}


def _group_by(uow: UnitOfWork, project_id: str, value: object) -> str:
    group = v.text(value, "group_by", max_len=64)
    if group.startswith("field:"):
        build_order(uow, [project_id], group)  # names a field of the project, as a sort would
        return group
    if group not in GROUPS:
        raise ValidationFailed(
            "group_by is one of status, assignee_id, priority, item_type, sprint_id, label,"
            " field:<id>, or empty",
            field="group_by",
        )
    return group


def save_view(
    uow: UnitOfWork,
    *,
    project_id: str,
    name: str,
    filters: dict[str, Any] | None = None,
    group_by: str | None = None,
    sort: str | None = None,
    shared: bool = False,
    id: str | None = None,
) -> Outcome:
    """A new view, or (``id`` of one of the caller's) its new settings."""
    project_id = require_project(uow, project_id, Role.EDITOR if shared else Role.VIEWER)
    if not isinstance(shared, bool):
        raise ValidationFailed("shared must be true or false", field="shared")
    sort_key = v.text(sort or "", "sort", max_len=64)
    build_order(uow, [project_id], sort_key)
    wanted: dict[str, Any] = {
        "name": v.text(name, "name", min_len=1, max_len=100),
        "filters": json.dumps(_spec(uow, project_id, filters), separators=(",", ":")),
        "group_by": _group_by(uow, project_id, group_by or ""),
        "sort": sort_key,
        "shared": shared,
    }
    existing = uow.saved_views.get(id) if id else None
    if existing is None or existing.deleted_at is not None:
        return _create(uow, project_id, wanted, id)
    if existing.owner_id != uow.ctx.user_id or existing.project_id != project_id:
        raise ValidationFailed("this id can't be used: choose a fresh UUID", field="id")
    return _change(uow, existing, wanted)


def _change(uow: UnitOfWork, view: SavedView, wanted: dict[str, Any]) -> Outcome:
    """A new version of the view; recorded in the project's activity only when it is or was
    shared (a private view's history is its owner's alone)."""
    was_shared = view.shared
    changed = [(n, getattr(view, n), new) for n, new in wanted.items() if getattr(view, n) != new]
    if not changed:
        return Outcome("view_saved", {"view": saved_view_view(view)})
    for name, _old, new in changed:
        setattr(view, name, new)
    if view.shared or was_shared:
        uow.record_changes(
            view, changed, entity_type="saved_view", project_id=view.project_id, action="updated"
        )
    else:
        view.version += 1
        view.updated_at, view.updated_by = uow.now, uow.ctx.user_id
        uow.saved_views.add(view)
    return _tell(uow, view, was_shared)


def _create(uow: UnitOfWork, project_id: str, wanted: dict[str, Any], id: str | None) -> Outcome:
    bound = uow.settings.views_max_per_user
    if uow.saved_views.count_owned(project_id, uow.ctx.user_id) >= bound:
        metrics.BOUND_HITS.labels("views_per_user").inc()
        raise ValidationFailed(
            f"at most {bound} views of a project per person (views_max_per_user)",
            field="project_id",
        )
    view = SavedView(
        id=fresh_id(uow.saved_views, id) if id else new_id(),
        project_id=project_id,
        owner_id=uow.ctx.user_id,
        **wanted,
        **uow.stamps(),
    )
    if not view.shared:
        uow.saved_views.add(view)
        return Outcome("view_saved", {"view": saved_view_view(view)})
    uow.create(view, entity_type="saved_view", project_id=project_id)
    return _tell(uow, view, was_shared=False)


def _tell(uow: UnitOfWork, view: SavedView, was_shared: bool) -> Outcome:
    """The answer to the owner, and what the project hears: the view if it is shared, that it
    is gone if it stopped being shared, nothing if it is private."""
    answer = {"view": saved_view_view(view)}
    if view.shared:
        return uow.respond(uow.emit("view_saved", view.project_id, answer))
    if was_shared:
        gone = {"view_id": view.id, "project_id": view.project_id}
        return Outcome("view_saved", answer, uow.emit("view_deleted", view.project_id, gone).seq)
    return Outcome("view_saved", answer)


def delete_view(uow: UnitOfWork, *, view_id: str) -> Outcome:
    """The owner deletes a view; a project admin may delete a shared one too."""
    view = require_row_role(
        uow, uow.saved_views, view_id, Role.VIEWER, field="view_id", what="view"
    )
    mine = view.owner_id == uow.ctx.user_id
    if not mine and not view.shared:
        raise NotFound("view not found", field="view_id")
    if not mine:
        require_role(uow, view.project_id, Role.ADMIN)
    payload = {"view_id": view.id, "project_id": view.project_id}
    if not view.shared:
        view.deleted_at = uow.now
        uow.saved_views.add(view)
        return Outcome("view_deleted", payload)
    uow.soft_delete(view, entity_type="saved_view", project_id=view.project_id)
    return uow.respond(uow.emit("view_deleted", view.project_id, payload))


class ViewsList(TypedDict):
    views: list[SavedViewView]
    has_more: bool  # more than the page size: the rest are the other people's shared views


def views_of(scope: Scope, project_id: str, max_rows: int) -> ViewsList:
    """The caller's views of the project and the shared ones, by name; at most ``max_rows``."""
    rows = scope.saved_views.visible_in(project_id, scope.ctx.user_id, limit=max_rows + 1)
    return {
        "views": [saved_view_view(row) for row in rows[:max_rows]],
        "has_more": len(rows) > max_rows,
    }


def list_views(read: Reader, *, project_id: str) -> ViewsList:
    """``ViewsList``: the caller's views of the project and the shared ones."""
    project_id = require_project(read, project_id, Role.VIEWER)
    return views_of(read, project_id, read.settings.max_page_size)
