"""A project's own workflow states (DOMAIN.md "Everyday fields"): admins add, rename, recolour,
recategorise, reorder and delete them; every member reads them.

Commands: ``create_state``, ``update_state``, ``delete_state``. Query: ``list_states``.

- A state's ``key`` is what items carry in ``status``: given or derived from the name, never
  changed, never reused in the project (so history keeps its meaning).
- Renaming or reordering is one small ``state_updated`` event with its ``changes``.
- Deleting a state that items are in needs ``move_items_to``, another live state of the project:
  every item moves in the same transaction, each with its activity row and its
  ``work_item_updated`` event (what a reconnecting client replays like any other move), and the
  lanes of the deleted state go with it (``swim_lane_deleted``).
- A project always keeps a ``completed`` state ("done" in velocity, blocking, burndown and cycle
  time needs one): the last is neither deleted nor recategorised.
- Changing a category may free or hold the items that items of that state block:
  ``blocked_changed`` says which.
- At most ``states_max_per_project`` live states per project.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from pm.domain.enums import Role
from pm.domain.events import Outcome
from pm.domain.models import WorkflowState
from pm.domain.workflow import STATE_KEY, StatusCategory
from pm.errors import DeleteBlocked, ValidationFailed
from pm.observability import metrics
from pm.services.kernel import validation as v
from pm.services.kernel.access import fresh_id, require_project, require_row_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.merge import refuse_collisions, require_current_version
from pm.services.kernel.placing import position_among
from pm.services.kernel.reader import Reader
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.swim_lanes import delete_lanes_of
from pm.services.views import StateView, state_view
from pm.services.work_items import change_on_the_side, watch_items_it_blocks

COLOUR = re.compile(r"#[0-9a-fA-F]{6}", re.ASCII)
KEY_LENGTH = 16  # work_items.status holds 16 characters
# A new state's colour when none is given, by category.
CATEGORY_COLOURS: dict[StatusCategory, str] = {
    StatusCategory.BACKLOG: "#94a3b8",
    StatusCategory.UNSTARTED: "#64748b",
    StatusCategory.STARTED: "#3b82f6",
    StatusCategory.REVIEW: "#a855f7",
    StatusCategory.COMPLETED: "#22c55e",
    StatusCategory.CANCELLED: "#ef4444",
}


class StatesList(TypedDict):
    project_id: str
    states: list[StateView]


# -- value rules ---------------------------------------------------------------------------


def _name(states: list[WorkflowState], value: object, moving: str | None) -> str:
    name = v.text(value, "name", min_len=1, max_len=50)
    if any(s.name.casefold() == name.casefold() for s in states if s.id != moving):
        raise ValidationFailed("the project has a state of this name", field="name")
    return name


def _colour(value: object) -> str:
    if not isinstance(value, str) or not COLOUR.fullmatch(value):
        raise ValidationFailed("colour must be #rrggbb", field="colour")
    return value.lower()


def _key(uow: UnitOfWork, project_id: str, wanted: object, name: str) -> str:
    """The given key (checked), or one derived from the name; never one the project had."""
    if wanted is not None and wanted != "":
        if not isinstance(wanted, str) or not STATE_KEY.fullmatch(wanted):
            raise ValidationFailed(
                "key must be 1 to 16 of a-z, 0-9 and _, starting with a letter", field="key"
            )
        if uow.states.key_taken(project_id, wanted):
            raise ValidationFailed("the project has or had a state of this key", field="key")
        return wanted
    base = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")
    base = (base if base[:1].isalpha() else f"s_{base}")[:KEY_LENGTH]
    base = base.rstrip("_")
    key, number = base, 1
    while uow.states.key_taken(project_id, key):
        number += 1
        suffix = f"_{number}"
        key = base[: KEY_LENGTH - len(suffix)] + suffix
    return key


def _category(value: object) -> StatusCategory:
    return v.choice(value, StatusCategory, "category")


def _completed_left(states: list[WorkflowState], leaving: WorkflowState) -> bool:
    """Whether a completed state stays when ``leaving`` stops being one."""
    return any(s.category == StatusCategory.COMPLETED and s.id != leaving.id for s in states)


# -- commands ------------------------------------------------------------------------------


def create_state(
    uow: UnitOfWork,
    *,
    project_id: str,
    name: str,
    category: str,
    colour: str | None = None,
    key: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
    id: str | None = None,
) -> Outcome:
    """A new state of the project, last unless placed after/before another."""
    project_id = require_project(uow, project_id, Role.ADMIN)
    states = uow.states.live_in_project(project_id)
    bound = uow.settings.states_max_per_project
    if len(states) >= bound:
        metrics.BOUND_HITS.labels("states_per_project").inc()
        raise ValidationFailed(
            f"a project has at most {bound} states: delete one first", field="project_id"
        )
    kind = _category(category)
    clean_name = _name(states, name, None)
    state = WorkflowState(
        id=fresh_id(uow.states, id) if id else new_id(),
        project_id=project_id,
        key=_key(uow, project_id, key, clean_name),
        name=clean_name,
        colour=CATEGORY_COLOURS[kind] if colour is None else _colour(colour),
        category=kind.value,
        position=position_among(states, None, after_id, before_id, what="state"),
        **uow.stamps(),
    )
    uow.create(state, entity_type="workflow_state", project_id=project_id)
    return uow.respond(uow.emit("state_created", project_id, {"state": state_view(state)}))


def _live_state(uow: UnitOfWork, state_id: object) -> WorkflowState:
    return require_row_role(uow, uow.states, state_id, Role.ADMIN, field="state_id", what="state")


def update_state(
    uow: UnitOfWork,
    *,
    state_id: str,
    expected_version: int,
    name: str | None = None,
    colour: str | None = None,
    category: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
) -> Outcome:
    """Rename, recolour, recategorise and/or reorder a state; a stale version merges field by
    field. Its key never changes."""
    state = _live_state(uow, state_id)
    version = v.expected_version(expected_version)
    states = uow.states.live_in_project(state.project_id)
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = _name(states, name, state.id)
    if colour is not None:
        wanted["colour"] = _colour(colour)
    if category is not None:
        kind = _category(category)
        if kind is not StatusCategory.COMPLETED and not _completed_left(states, state):
            raise ValidationFailed(
                "the project's last completed state must stay completed", field="category"
            )
        wanted["category"] = kind.value
    if after_id or before_id:
        wanted["position"] = position_among(states, state.id, after_id, before_id, what="state")
    refuse_collisions(uow, state, version, wanted, lambda: state_view(state))
    if wanted.get("category", state.category) != state.category:
        _watch_blocked_by_state(uow, state)
    changes = uow.apply_fields(
        state, wanted, entity_type="workflow_state", project_id=state.project_id, action="updated"
    )
    payload = {"state": state_view(state), "changes": changes}
    if not changes:
        return Outcome("state_updated", payload)
    return uow.respond(uow.emit("state_updated", state.project_id, payload))


def _watch_blocked_by_state(uow: UnitOfWork, state: WorkflowState) -> None:
    """The state's items change category: what they block may be freed or held."""
    uow.watch_blocked(uow.dependencies.blocked_by_status(state.project_id, state.key))


def delete_state(
    uow: UnitOfWork,
    *,
    state_id: str,
    expected_version: int | None = None,
    move_items_to: str | None = None,
) -> Outcome:
    """Delete a state; its items first move to ``move_items_to`` (another live state's id or
    key), which a state with items needs."""
    state = _live_state(uow, state_id)
    if expected_version is not None:
        require_current_version(
            state, v.expected_version(expected_version), lambda: state_view(state)
        )
    states = uow.states.live_in_project(state.project_id)
    if state.category == StatusCategory.COMPLETED and not _completed_left(states, state):
        raise DeleteBlocked("the project's last completed state can't be deleted", field="state_id")
    target = _destination(uow, states, state, move_items_to)
    if target is None and uow.states.items_in(state.project_id, state.key):
        raise DeleteBlocked(
            "items are in this state: name the state they move to (move_items_to)",
            field="move_items_to",
        )
    if target is not None:
        for item in uow.items.live_in_status(state.project_id, state.key):
            watch_items_it_blocks(uow, item)
            change_on_the_side(uow, item, {"status": target.key}, action="moved")
    delete_lanes_of(uow, state.project_id, state.key)
    uow.soft_delete(state, entity_type="workflow_state", project_id=state.project_id)
    payload = {
        "state_id": state.id,
        "project_id": state.project_id,
        "moved_items_to": None if target is None else target.key,
    }
    return uow.respond(uow.emit("state_deleted", state.project_id, payload))


def _destination(
    uow: UnitOfWork, states: list[WorkflowState], state: WorkflowState, ref: str | None
) -> WorkflowState | None:
    """The live state of the same project ``ref`` names (by id or key), other than the one
    deleted; a state of another project is no state of this one."""
    if ref is None or ref == "":
        return None
    by_ref = {s.id: s for s in states} | {s.key: s for s in states}
    found = by_ref.get(ref) if isinstance(ref, str) else None
    if found is None or found.id == state.id:
        raise ValidationFailed(
            "move_items_to must be another state of this project", field="move_items_to"
        )
    return found


# -- queries -------------------------------------------------------------------------------


def list_states(read: Reader, *, project_id: str) -> StatesList:
    """The project's live states in board order."""
    project_id = require_project(read, project_id, Role.VIEWER)
    return {"project_id": project_id, "states": states_of(read, project_id)}


def states_of(read: Reader, project_id: str) -> list[StateView]:
    """The states of a project the caller may view, in board order."""
    return [state_view(state) for state in read.states.live_in_project(project_id)]
