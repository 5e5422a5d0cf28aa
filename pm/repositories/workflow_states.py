"""A project's workflow states: the rows (admin commands) and the workflow the rules read.

``workflow`` is on the hot path (every create or status change of an item): one plain
statement on the unique (project_id, key) index, no ORM.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col

from pm.domain.models import WorkflowState
from pm.domain.workflow import Workflow
from pm.repositories.base import Entities, placeholders

_WORKFLOW = (
    "SELECT key, category, deleted_at IS NULL FROM workflow_states WHERE project_id = ?"
    " ORDER BY position, id"
)
_WORKFLOWS = (
    "SELECT project_id, key, category, deleted_at IS NULL FROM workflow_states"
    " WHERE project_id IN ({marks}) ORDER BY position, id"
)
_ITEMS_IN = (
    "SELECT count(*) FROM work_items WHERE project_id = ? AND status = ? AND deleted_at IS NULL"
)
_KEY_TAKEN = "SELECT 1 FROM workflow_states WHERE project_id = ? AND key = ?"


class WorkflowStateRepository(Entities[WorkflowState]):
    model = WorkflowState

    def live_in_project(self, project_id: str) -> list[WorkflowState]:
        """In board order."""
        return self._live(
            WorkflowState.project_id == project_id,
            order_by=(col(WorkflowState.position), col(WorkflowState.id)),
        )

    def workflow(self, project_id: str) -> Workflow:
        return Workflow.of(self._rows(_WORKFLOW, (project_id,)))

    def workflows(self, project_ids: Iterable[str]) -> dict[str, Workflow]:
        """The workflow of each project named, in one statement."""
        ids = tuple(dict.fromkeys(project_ids))
        if not ids:
            return {}
        rows: dict[str, list[tuple[str, str, bool]]] = {project_id: [] for project_id in ids}
        for project_id, key, category, live in self._rows(
            _WORKFLOWS.format(marks=placeholders(len(ids))), ids
        ):
            rows[project_id].append((key, category, live))
        return {project_id: Workflow.of(found) for project_id, found in rows.items()}

    def key_taken(self, project_id: str, key: str) -> bool:
        """By a live or a deleted state: keys are never reused in a project."""
        return self._row(_KEY_TAKEN, (project_id, key)) is not None

    def items_in(self, project_id: str, key: str) -> int:
        """Live items of the project in this state."""
        return int(self._scalar(_ITEMS_IN, (project_id, key)))
