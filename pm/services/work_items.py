"""Work items: projects, epics, stories and tasks in one tree.

Commands: ``create_work_item``, ``update_work_item``, ``move_work_item``, ``delete_work_item``
Query: ``get_children``, an item's children a bounded page at a time (finding items is
pm.services.search; whole-project reads and one item in full are read models).

Keys: a project gets its key at creation (given, or derived from its title), every other item
the next number of its project's sequence (``APO-12``), in the creating transaction.

Projects are roots of their own: they share no sibling list (they are listed oldest first and
never reordered), so no command on one project reads the order of another or writes one.

Stale updates merge field by field: the activity log records the version each field change
produced, so "did any field I set change since the version I saw?" is one indexed query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pm.domain.enums import ALLOWED_PARENTS, ItemType, Priority, Role, SprintStatus
from pm.domain.events import Outcome
from pm.domain.keys import as_project_key, derive_project_key, item_key
from pm.domain.models import WorkItem
from pm.domain.ordering import MAX_KEY_LENGTH, key_between, spread_keys
from pm.domain.workflow import DEFAULT_WORKFLOW, Workflow
from pm.errors import DeleteBlocked, NotFound, ValidationFailed
from pm.repositories.members import ItemRole
from pm.services import notifications
from pm.services.item_fields import (
    Extras,
    apply_extras,
    clean_required_on_create,
    clean_values,
    extras_of,
    field_key,
    resolve_labels,
    value_text,
    write_new,
)
from pm.services.kernel import validation as v
from pm.services.kernel.access import (
    fresh_id,
    item_id_of,
    require_item_place,
    require_item_role,
    require_project,
    require_role,
)
from pm.services.kernel.bounds import text_size
from pm.services.kernel.ids import new_id
from pm.services.kernel.merge import refuse_collisions, require_current_version
from pm.services.kernel.pagination import Page, PageRequest, page_of
from pm.services.kernel.reader import Reader
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.members import add_project_creator
from pm.services.swim_lanes import create_default_lanes
from pm.services.users import require_user
from pm.services.views import WorkItemView, utc_today, work_item_view
from pm.services.workflows import create_default_states, item_views_of, require_state

PROJECT_POSITION = key_between(None, None)  # every project's: projects have no siblings
UPDATABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "status",
        "priority",
        "assignee_id",
        "story_points",
        "sprint_id",
        "start_date",
        "due_date",
        "add_labels",
        "remove_labels",
        "custom_fields",
    }
)
EXTRA_FIELDS = frozenset({"add_labels", "remove_labels", "custom_fields"})


# -- value rules ---------------------------------------------------------------------------


def _clean_field(
    scope: Scope, item_project: str, name: str, value: Any, workflow: Workflow | None = None
) -> Any:
    """Validate one settable field and return its stored form. A status is one of the live
    states of the item's project (``workflow``, read here when not given)."""
    cleaners: dict[str, Callable[[], Any]] = {
        "title": lambda: v.text(value, "title", min_len=1, max_len=200),
        "description": lambda: v.text(value, "description", max_len=50_000, trim=False),
        "status": lambda: require_state(workflow or scope.states.workflow(item_project), value),
        "priority": lambda: v.choice(value, Priority, "priority").value,
        "assignee_id": lambda: _assignee(scope, value),
        "story_points": lambda: (
            None if value is None else v.int_range(value, "story_points", low=0, high=1000)
        ),
        "sprint_id": lambda: _open_sprint(scope, item_project, value),
        "start_date": lambda: v.iso_date(value, "start_date"),
        "due_date": lambda: v.iso_date(value, "due_date"),
    }
    return cleaners[name]()


def _check_dates(start_date: str | None, due_date: str | None) -> None:
    """Due not before start (DOMAIN.md); ISO dates compare as strings."""
    if start_date is not None and due_date is not None and due_date < start_date:
        raise ValidationFailed("due_date must not be before start_date", field="due_date")


def _assignee(scope: Scope, value: Any) -> str | None:
    user_id = v.optional_ref(value, "assignee_id")
    if user_id is not None:
        require_user(scope, user_id, "assignee_id")
    return user_id


def _open_sprint(scope: Scope, project_id: str, value: Any) -> str | None:
    sprint_id = v.optional_ref(value, "sprint_id")
    if sprint_id is None:
        return None
    sprint = scope.sprints.get(sprint_id)
    if sprint is None or sprint.deleted_at is not None or sprint.project_id != project_id:
        raise NotFound("no such sprint in this project", field="sprint_id")
    if sprint.status in (SprintStatus.COMPLETED, SprintStatus.CANCELLED):
        raise ValidationFailed(f"the sprint is {sprint.status}", field="sprint_id")
    return sprint_id


def _check_parent(item_type: ItemType, parent: WorkItem | ItemRole | None) -> None:
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


def item_view(scope: Scope, item: WorkItem) -> WorkItemView:
    """The item's public view, with whether it is blocked and overdue now, its labels and
    values."""
    return item_views(scope, [item])[0]


def item_views(scope: Scope, items: list[WorkItem]) -> list[WorkItemView]:
    """Public views of many items: their blocked flags, overdue flags, labels and custom field
    values read in one statement each."""
    return item_views_of(
        scope, items, scope.dependencies.blocked_among([item.id for item in items])
    )


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
    status: str | None = None,
    priority: str = "medium",
    assignee_id: str | None = None,
    story_points: int | None = None,
    sprint_id: str | None = None,
    key: str | None = None,
    start_date: str | None = None,
    due_date: str | None = None,
    labels: list[str] | None = None,
    custom_fields: dict[str, Any] | None = None,
) -> Outcome:
    """Create a project (caller becomes its admin, default states and lanes made; ``key`` its
    key, else one derived from the title) or an item under one (numbered in its project; no
    ``status``: the project's ``backlog``, or its first state when it has none of that key),
    with labels (ids or names of its project's) and custom field values (by field id or name)."""
    kind = v.choice(item_type, ItemType, "item_type")
    item_id = fresh_id(uow.items, id) if id else new_id()
    root, parent = _placement(uow, kind, item_id, parent_id=parent_id, project_id=project_id)
    # A new project's states are the seed's, made below once the project row exists.
    workflow = DEFAULT_WORKFLOW if kind is ItemType.PROJECT else uow.states.workflow(root)
    values = {
        name: _clean_field(uow, root, name, value, workflow)
        for name, value in (
            ("title", title),
            ("description", description),
            ("status", workflow.default if status is None else status),
            ("priority", priority),
            ("assignee_id", assignee_id),
            ("story_points", story_points),
            ("sprint_id", sprint_id),
            ("start_date", start_date),
            ("due_date", due_date),
        )
    }
    _check_dates(values["start_date"], values["due_date"])
    if kind is ItemType.PROJECT and values["sprint_id"] is not None:
        raise ValidationFailed("a project can't be in a sprint", field="sprint_id")
    label_ids, field_values = _new_extras(uow, kind, root, labels, custom_fields)
    parent_key = parent.id if parent else None
    item = WorkItem(
        id=item_id,
        item_type=kind.value,
        project_id=root,
        parent_id=parent_key,
        position=PROJECT_POSITION
        if parent_key is None
        else _end_position(uow, parent_key, moving=item_id),
        version=1,
        **_key_and_number(uow, kind, root, key, values["title"]),
        **uow.stamps(),
        **values,
    )
    uow.items.insert(item)
    write_new(uow, item, label_ids, field_values)
    uow.activity(
        entity_type="work_item", entity_id=item.id, project_id=root, action="created", version=1
    )
    if kind is ItemType.PROJECT:
        add_project_creator(uow, item.id)
        create_default_states(uow, item.id)
        create_default_lanes(uow, item.id)
    view = work_item_view(
        item,
        is_overdue=workflow.is_overdue(item.due_date, item.status, utc_today()),
        labels=sorted(label_ids),
        custom_fields={fid: c.value for fid, c in field_values.items() if c.value is not None},
    )
    event = uow.emit("work_item_created", root, {"work_item": view})
    notifications.item_created(uow, item)
    return uow.respond(event)


def _new_extras(
    uow: UnitOfWork,
    kind: ItemType,
    project_id: str,
    labels: list[str] | None,
    custom_fields: dict[str, Any] | None,
) -> tuple[list[str], dict[str, Any]]:
    """A new item's labels and values; a project has neither (its own are the items')."""
    if kind is ItemType.PROJECT:
        if labels or custom_fields:
            raise ValidationFailed("a project has no labels or custom fields", field="labels")
        return [], {}
    label_ids = resolve_labels(uow, [project_id], labels or [], "labels")
    if not custom_fields:
        clean_required_on_create(uow, project_id)
        return label_ids, {}
    values = clean_values(uow, project_id, custom_fields, creating=True)
    return label_ids, {fid: c for fid, c in values.items() if c.value is not None}


def _key_and_number(
    uow: UnitOfWork, kind: ItemType, project_id: str, wanted: str | None, title: str
) -> dict[str, Any]:
    """A new project's key (``wanted``, else derived from its title), or a new item's key and
    number: the next of its project's sequence."""
    if kind is not ItemType.PROJECT:
        if wanted:
            raise ValidationFailed("only a project is given a key", field="key")
        project = uow.items.get(project_id)
        assert project is not None  # the placement found it live
        number = uow.items.next_number(project_id)
        return {"key": item_key(project.key, number), "number": number}
    if not wanted:
        return {"key": derive_project_key(title, uow.items.key_taken), "number": 0}
    key = as_project_key(v.text(wanted, "key", max_len=10))
    if key is None:
        raise ValidationFailed(
            "key must be 2 to 10 characters A-Z and 0-9, starting with a letter", field="key"
        )
    if uow.items.key_taken(key):
        raise ValidationFailed("another project has this key", field="key")
    return {"key": key, "number": 0}


def _placement(
    uow: UnitOfWork,
    kind: ItemType,
    item_id: str,
    *,
    parent_id: str | None,
    project_id: str | None,
) -> tuple[str, ItemRole | None]:
    """(the new item's project, its parent): a project is its own root; any other item needs
    a live parent of an allowed type, in the project named (if one is), where the caller
    edits."""
    parent: ItemRole | None = None
    if kind is ItemType.PROJECT:
        if parent_id or project_id:
            raise ValidationFailed("a project has no parent", field="parent_id")
        root = item_id
    else:
        if project_id:
            project_id = require_project(uow, project_id, Role.EDITOR)
        parent = require_item_place(uow, parent_id or project_id, Role.EDITOR, "parent_id")
        if project_id and parent.project_id != project_id:
            raise ValidationFailed("the parent is in another project", field="parent_id")
        root = parent.project_id
    _check_parent(kind, parent)
    return root, parent


def update_work_item(
    uow: UnitOfWork,
    *,
    work_item_id: str,
    fields: dict[str, Any],
    expected_version: int | None = None,
) -> Outcome:
    """Set some fields. A stale version merges unless a field it sets changed since then; no
    version at all means the stored one (only the fields named change)."""
    item = require_item_role(uow, work_item_id, Role.EDITOR)
    version = _seen_version(item, expected_version)
    v.known_fields(fields, UPDATABLE_FIELDS)
    extras = _update_extras(uow, item, fields)
    cleaned = {
        name: _clean_field(uow, item.project_id, name, value)
        for name, value in fields.items()
        if name not in EXTRA_FIELDS
    }
    if item.item_type == ItemType.PROJECT and cleaned.get("sprint_id") is not None:
        raise ValidationFailed("a project can't be in a sprint", field="sprint_id")
    _check_dates(cleaned.get("start_date", item.start_date), cleaned.get("due_date", item.due_date))
    return _apply(uow, item, version, cleaned, action="updated", extras=extras)


def _update_extras(uow: UnitOfWork, item: WorkItem, fields: dict[str, Any]) -> Extras:
    """Labels to add and remove and custom field values an update names (empty lists and maps
    name nothing); a project has none."""
    add = fields.get("add_labels") or []
    remove = fields.get("remove_labels") or []
    given = fields.get("custom_fields") or {}
    if not (add or remove or given):
        return Extras()
    if item.item_type == ItemType.PROJECT:
        raise ValidationFailed("a project has no labels or custom fields", field="add_labels")
    projects = [item.project_id]
    return Extras(
        add_labels=resolve_labels(uow, projects, add, "add_labels"),
        remove_labels=resolve_labels(uow, projects, remove, "remove_labels"),
        values=clean_values(uow, item.project_id, given, creating=False),
    )


def _seen_version(item: WorkItem, expected: int | None) -> int:
    return item.version if expected is None else v.expected_version(expected)


def move_work_item(
    uow: UnitOfWork,
    *,
    work_item_id: str,
    expected_version: int | None = None,
    parent_id: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    status: str | None = None,
) -> Outcome:
    """A drag on the board: new parent and/or place among siblings and/or status.

    Only the moved item is written (an order key between its new neighbours), unless the keys
    at that spot have grown too long: then the other siblings are first respaced, in the same
    transaction and each with its own event, and the key is taken between the new neighbours.
    No ``expected_version`` means the stored one.
    """
    item = require_item_role(uow, work_item_id, Role.EDITOR)
    version = _seen_version(item, expected_version)
    changes: dict[str, Any] = {}
    parent_key = item.parent_id
    if parent_id:
        parent = require_item_role(uow, parent_id, Role.VIEWER, "parent_id")
        if parent.project_id != item.project_id:
            raise ValidationFailed("the new parent is in another project", field="parent_id")
        _check_parent(ItemType(item.item_type), parent)
        _refuse_own_subtree(uow, item, parent)
        parent_key = parent.id
        changes["parent_id"] = parent.id
    if status is not None:
        changes["status"] = require_state(uow.states.workflow(item.project_id), status)
    if after_id or before_id:
        if parent_key is None:
            raise ValidationFailed("projects are listed oldest first, not placed", field="after_id")
        key = _position_between(uow, item, parent_key, after_id, before_id)
        if len(key) > MAX_KEY_LENGTH:
            _respace_siblings(uow, parent_key, moving=item.id)
            key = _position_between(uow, item, parent_key, after_id, before_id)
        changes["position"] = key
    elif parent_key is not None and parent_key != item.parent_id:
        changes["position"] = _end_position(uow, parent_key, moving=item.id)
    return _apply(uow, item, version, changes, action="moved")


def delete_work_item(uow: UnitOfWork, *, work_item_id: str, expected_version: int) -> Outcome:
    """Soft-delete an item with no live children, and its dependencies with it."""
    item = require_item_role(uow, work_item_id, Role.EDITOR)
    if item.item_type == ItemType.PROJECT:
        require_role(uow, item.project_id, Role.ADMIN)
    version = v.expected_version(expected_version)
    require_current_version(item, version, lambda: item_view(uow, item))
    children = uow.items.count_live_children(item.id)
    if children:
        raise DeleteBlocked(
            f"the item has {children} live child item{'s' if children != 1 else ''}",
            field="work_item_id",
        )
    watch_items_it_blocks(uow, item)
    for dep in uow.dependencies.live_touching(item.id):
        uow.soft_delete(dep, entity_type="dependency", project_id=dep.project_id)
    uow.soft_delete(item, entity_type="work_item", project_id=item.project_id)
    event = uow.emit(
        "work_item_deleted",
        item.project_id,
        {"work_item_id": item.id, "project_id": item.project_id},
    )
    return uow.respond(event)


# -- the merge -----------------------------------------------------------------------------


def _apply(
    uow: UnitOfWork,
    item: WorkItem,
    seen_version: int,
    wanted: dict[str, Any],
    *,
    action: str,
    extras: Extras | None = None,
) -> Outcome:
    extras = extras or Extras()
    _refuse_collisions(uow, item, seen_version, wanted, extras)
    if "status" in wanted:
        watch_items_it_blocks(uow, item)
    changes = uow.apply_fields(
        item, wanted, entity_type="work_item", project_id=item.project_id, action=action
    )
    if extras.add_labels or extras.remove_labels or extras.values:
        changes += apply_extras(uow, item, extras, action=action, bumped=bool(changes))
    if not changes:
        return Outcome("work_item_updated", {"work_item": item_view(uow, item), "changes": []})
    payload = {"work_item": item_view(uow, item), "changes": changes}
    event = uow.emit("work_item_updated", item.project_id, payload)
    notifications.item_changed(uow, item, changes)
    return uow.respond(event)


def _refuse_collisions(
    uow: UnitOfWork, item: WorkItem, seen_version: int, wanted: dict[str, Any], extras: Extras
) -> None:
    """The merge over the item's columns and the custom fields it sets, each a field of its
    own; labels are sets and never collide."""
    setting = extras.collisions()
    if not setting:
        refuse_collisions(uow, item, seen_version, wanted, lambda: item_view(uow, item))
        return
    if seen_version == item.version:
        return
    stored = extras_of(uow, [item.id])[1].get(item.id, {})
    prefix = len(field_key(""))
    refuse_collisions(
        uow,
        item,
        seen_version,
        wanted | setting,
        lambda: item_view(uow, item),
        stored=lambda name: (
            value_text(stored.get(name[prefix:])) if name in setting else getattr(item, name)
        ),
    )


def watch_items_it_blocks(uow: UnitOfWork, item: WorkItem) -> None:
    """The item's status changes or it goes away: the items it blocks may be freed or held."""
    uow.watch_blocked(uow.dependencies.blocked_by(item.id))


# -- ordering ------------------------------------------------------------------------------


def _refuse_own_subtree(scope: Scope, item: WorkItem, parent: WorkItem) -> None:
    node: WorkItem | None = parent
    while node is not None:
        if node.id == item.id:
            raise ValidationFailed(
                "an item can't be moved under itself or its descendant", field="parent_id"
            )
        node = scope.items.get(node.parent_id) if node.parent_id else None


def _sibling(scope: Scope, item_id: str, parent_key: str, field: str) -> WorkItem:
    """A live item under ``parent_key`` (in the caller's project), by id or key; anything else,
    absent or elsewhere, gets the same answer."""
    sibling = scope.items.get(item_id_of(scope, item_id)) if isinstance(item_id, str) else None
    if sibling is None or sibling.deleted_at is not None or sibling.parent_id != parent_key:
        raise ValidationFailed(f"{field} is not a sibling at the destination", field=field)
    return sibling


def _position_between(
    uow: UnitOfWork,
    item: WorkItem,
    parent_key: str,
    after_id: str | None,
    before_id: str | None,
) -> str:
    after = _sibling(uow, after_id, parent_key, "after_id") if after_id else None
    before = _sibling(uow, before_id, parent_key, "before_id") if before_id else None
    if item.id in {sibling.id for sibling in (after, before) if sibling is not None}:
        raise ValidationFailed("an item can't be placed next to itself", field="after_id")
    low = after.position if after else None
    high = before.position if before else None
    if low is not None and high is None:
        high = uow.items.next_position(parent_key, after=low, excluding=item.id)
    elif high is not None and low is None:
        low = uow.items.previous_position(parent_key, before=high, excluding=item.id)
    if low is not None and high is not None and low >= high:
        raise ValidationFailed("after_id must come before before_id", field="before_id")
    return key_between(low, high)


def _end_position(uow: UnitOfWork, parent_key: str, *, moving: str) -> str:
    """A key after the last live sibling, respacing the siblings first in the rare case that
    keys at the end grew too long."""
    key = key_between(uow.items.last_child_position(parent_key), None)
    if len(key) > MAX_KEY_LENGTH:
        _respace_siblings(uow, parent_key, moving=moving)
        key = key_between(uow.items.last_child_position(parent_key), None)
    return key


def _respace_siblings(uow: UnitOfWork, parent_key: str, *, moving: str) -> None:
    """Give every sibling but the moving one a short, evenly spaced key (rare: only when keys
    at one spot grew too long). Siblings share a parent in the caller's project, where the
    caller edits: a respace never writes beyond one list the caller may change."""
    siblings = uow.items.live_children(parent_key, excluding=moving)
    for sibling, key in zip(siblings, spread_keys(len(siblings)), strict=True):
        change_on_the_side(uow, sibling, {"position": key}, action="moved")


def change_on_the_side(
    uow: UnitOfWork, item: WorkItem, wanted: dict[str, Any], *, action: str
) -> None:
    """Change an item as a consequence of another change (respaced siblings, items released by
    a closing sprint): its own activity and its own event, when anything really changes."""
    changes = uow.apply_fields(
        item, wanted, entity_type="work_item", project_id=item.project_id, action=action
    )
    if changes:
        payload = {"work_item": item_view(uow, item), "changes": changes}
        uow.emit("work_item_updated", item.project_id, payload)


# -- queries -------------------------------------------------------------------------------


def get_children(
    read: Reader, *, work_item_id: str, cursor: str | None = None, limit: int | None = None
) -> Page[WorkItemView]:
    """Live children of a visible item in board order, a bounded page from ``cursor``."""
    item = require_item_role(read, work_item_id, Role.VIEWER)
    return children_page(read, item.id, read.page(limit, cursor))


def children_page(read: Reader, item_id: str, page: PageRequest) -> Page[WorkItemView]:
    after = page.after_key(str, str)
    rows = read.items.live_children_from(
        item_id, None if after is None else (after[0], after[1]), limit=page.limit + 1
    )
    result = page_of(
        rows,
        page,
        key=lambda item: [item.position, item.id],
        size=lambda item: text_size(item.title, item.description),
    )
    return Page(item_views(read, result.items), result.next_cursor)
