"""What the rules read of a project's workflow states: whether a value is a state an item may
be given, and the derived flags that depend on a state's category (overdue).

Commands on the states themselves are pm.services.workflow_states; a new project's states are
made here (``create_default_states``), by the command that creates the project.
"""

from __future__ import annotations

from collections.abc import Sequence

from pm.domain.enums import ItemType
from pm.domain.models import WorkflowState, WorkItem
from pm.domain.ordering import spread_keys
from pm.domain.workflow import DEFAULT_STATES, Workflow
from pm.errors import ValidationFailed
from pm.services.item_fields import extras_of
from pm.services.kernel.ids import new_id
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import WorkItemView, utc_today, work_item_view

MAX_LISTED = 20  # states named in a refusal at most


def require_state(workflow: Workflow, value: object, field: str = "status") -> str:
    """``value`` if it is the key of one of the project's live states; VALIDATION_ERROR naming
    ``field`` and the states it may be otherwise."""
    if isinstance(value, str) and value in workflow.live:
        return value
    allowed = sorted(workflow.live)
    listed = ", ".join(allowed[:MAX_LISTED]) + (", ..." if len(allowed) > MAX_LISTED else "")
    raise ValidationFailed(f"{field} must be a state of the project: {listed}", field=field)


def overdue_among(scope: Scope, items: Sequence[WorkItem]) -> set[str]:
    """The ids of the items that are overdue now; the workflows are read only for items due
    before today (most items have no due date: no statement at all)."""
    today = utc_today()
    due = [item for item in items if item.due_date is not None and item.due_date < today]
    if not due:
        return set()
    workflows = scope.states.workflows(item.project_id for item in due)
    return {
        item.id
        for item in due
        if workflows[item.project_id].is_overdue(item.due_date, item.status, today)
    }


def item_views_of(scope: Scope, items: Sequence[WorkItem], blocked: set[str]) -> list[WorkItemView]:
    """Public views of items whose blocked flags the caller read (``blocked``), with their
    labels and custom field values (a project has neither: no statement for a page of them)."""
    overdue = overdue_among(scope, items)
    ids = [item.id for item in items if item.item_type != ItemType.PROJECT]
    labels, values = extras_of(scope, ids) if ids else ({}, {})
    return [
        work_item_view(
            item,
            is_blocked=item.id in blocked,
            is_overdue=item.id in overdue,
            labels=labels.get(item.id),
            custom_fields=values.get(item.id),
        )
        for item in items
    ]


def create_default_states(uow: UnitOfWork, project_id: str) -> None:
    """The states every new project starts with (pm.domain.workflow.DEFAULT_STATES), recorded
    in the project's creation activity."""
    for seed, position in zip(DEFAULT_STATES, spread_keys(len(DEFAULT_STATES)), strict=True):
        state = WorkflowState(
            id=new_id(),
            project_id=project_id,
            key=seed.key,
            name=seed.name,
            colour=seed.colour,
            category=seed.category.value,
            position=position,
            **uow.stamps(),
        )
        uow.create(state, entity_type="workflow_state", project_id=project_id)
