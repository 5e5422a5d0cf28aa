"""Work items: one table for projects, epics, stories and tasks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlmodel import col, select

from pm.domain.enums import ItemType
from pm.domain.models import WorkItem
from pm.domain.workflow import StatusCategory
from pm.repositories.base import STREAM_BATCH, Entities, RowInsert, placeholders

BOARD_ORDER = (col(WorkItem.position), col(WorkItem.id))
# Bounded lists read their keys first: the ids, ordered and filtered by columns an index holds
# or that are stored ahead of the description (created_at, id, item_type, project_id, title);
# the rows of those ids only then. ix_work_items_project holds (project_id, deleted_at).
_AFTER_CREATED = "(created_at > ? OR (created_at = ? AND id > ?))"
_PROJECT_KEYS = (
    "SELECT id FROM work_items WHERE project_id = ? AND deleted_at IS NULL"
    f" AND {_AFTER_CREATED} ORDER BY created_at, id LIMIT ?"
)
_CHILD_KEYS = (
    "SELECT id FROM work_items WHERE parent_id = ? AND deleted_at IS NULL"
    " AND (position > ? OR (position = ? AND id > ?)) ORDER BY position, id LIMIT ?"
)
_PROJECTS_KEYS = (
    "SELECT id FROM work_items WHERE item_type = 'project' AND deleted_at IS NULL"
    f" AND {_AFTER_CREATED} ORDER BY created_at, id LIMIT ?"
)
_MEMBER_PROJECTS_KEYS = (
    "SELECT w.id FROM work_items w JOIN project_members m ON m.project_id = w.id"
    " WHERE w.item_type = 'project' AND w.deleted_at IS NULL"
    " AND m.user_id = ? AND m.deleted_at IS NULL"
    " AND (w.created_at > ? OR (w.created_at = ? AND w.id > ?)) ORDER BY w.created_at, w.id LIMIT ?"
)
_REFS = "SELECT id, key, title, status FROM work_items WHERE id IN ({marks})"
# The new row goes in as one prebuilt insert: nothing in the creating transaction changes the
# object again, so the ORM's unit of work (a flush pass) would only add cost.
_COLUMNS = tuple(column.name for column in WorkItem.__table__.columns)  # type: ignore[attr-defined]
_INSERT_ITEM = RowInsert.of(WorkItem, _COLUMNS)
_ITEMS_OF = f"SELECT {', '.join(_COLUMNS)} FROM work_items WHERE id IN "
# `IS ?` matches NULL too: the projects are the children of no parent.
_LAST_CHILD_SQL = "SELECT max(position) FROM work_items WHERE parent_id IS ? AND deleted_at IS NULL"
_LIVE_CHILDREN = "SELECT count(*) FROM work_items WHERE parent_id = ? AND deleted_at IS NULL"
_NEXT_POSITION = (
    "SELECT min(position) FROM work_items WHERE parent_id IS ? AND deleted_at IS NULL"
    " AND position > ? AND id != ?"
)
_PREVIOUS_POSITION = (
    "SELECT max(position) FROM work_items WHERE parent_id IS ? AND deleted_at IS NULL"
    " AND position < ? AND id != ?"
)
_KEY_TAKEN = "SELECT 1 FROM work_items WHERE key = ?"
# The project's sequence: every item it ever had counts (deleted ones too), so no number is
# reused; one writer per tenant makes max + 1 gap-free.
_NEXT_NUMBER = "SELECT coalesce(max(number), 0) + 1 FROM work_items WHERE project_id = ?"
_LIVE_PROJECT_IDS = (
    "SELECT id FROM work_items WHERE item_type = 'project' AND deleted_at IS NULL"
    " ORDER BY created_at, id"
)

# -- the project context's reads (pm.services.read_models.project_context) ------------------------

CONTEXT_COLUMNS = (
    "id",
    "parent_id",
    "item_type",
    "title",
    "status",
    "priority",
    "assignee_id",
    "story_points",
    "sprint_id",
    "position",
    "version",
    "updated_at",
    "key",
    "start_date",
    "due_date",
)
_LEVEL = {ItemType.PROJECT: 0, ItemType.EPIC: 1, ItemType.STORY: 2, ItemType.TASK: 3}
# The context lists work under way first, finished work last: by the category of the status.
_RELEVANCE = {
    StatusCategory.STARTED: 0,
    StatusCategory.REVIEW: 1,
    StatusCategory.UNSTARTED: 2,
    StatusCategory.BACKLOG: 3,
    StatusCategory.COMPLETED: 4,
    StatusCategory.CANCELLED: 5,
}
_CATEGORY = (
    "(SELECT s.category FROM workflow_states s"
    " WHERE s.project_id = work_items.project_id AND s.key = work_items.status)"
)


def _rank(column: str, ranks: Mapping[Any, int]) -> str:
    cases = " ".join(f"WHEN '{value.value}' THEN {rank}" for value, rank in ranks.items())
    return f"CASE {column} {cases} END"


_LIVE_BELOW = "project_id = :project_id AND deleted_at IS NULL AND id != :project_id"
_RANKED_ITEMS = f"""
    SELECT {", ".join(CONTEXT_COLUMNS)}, substr(description, 1, :text_chars)
    FROM work_items WHERE {_LIVE_BELOW}
    ORDER BY {_rank(_CATEGORY, _RELEVANCE)}, {_rank("item_type", _LEVEL)}, position, id
"""
_ITEM_COUNTS = f"""
    SELECT status, item_type, assignee_id, count(*), coalesce(sum(story_points), 0)
    FROM work_items WHERE {_LIVE_BELOW}
    GROUP BY status, item_type, assignee_id
"""


class WorkItemRepository(Entities[WorkItem]):
    model = WorkItem

    # -- entities ---------------------------------------------------------------------------

    def get_many(self, item_ids: Sequence[str]) -> list[WorkItem]:
        """The items of these ids, in no particular order (deleted ones too)."""
        if not item_ids:
            return []
        query = select(WorkItem).where(col(WorkItem.id).in_(item_ids))
        return list(self._session.exec(query).all())

    def by_key(self, key: str) -> WorkItem | None:
        """The item (or project) of this key, live or deleted."""
        return self._session.exec(select(WorkItem).where(WorkItem.key == key)).first()

    def live_children(self, parent_id: str | None, *, excluding: str = "") -> list[WorkItem]:
        """In board order: position, then id."""
        return self._live(
            WorkItem.parent_id == parent_id, WorkItem.id != excluding, order_by=BOARD_ORDER
        )

    def live_in_project(self, project_id: str) -> list[WorkItem]:
        """Every live item of a project in tree order (parent, then position), the project too."""
        return self._live(
            WorkItem.project_id == project_id, order_by=(col(WorkItem.parent_id), *BOARD_ORDER)
        )

    def live_in_project_from(
        self, project_id: str, after: tuple[int, str] | None, *, limit: int
    ) -> Iterator[WorkItem]:
        """Live items of a project, oldest first, after the key ``(created_at, id)``: keys
        first, then their rows a few at a time as they are taken."""
        low_at, low_id = after if after is not None else (-1, "")
        return self._keyed(_PROJECT_KEYS, (project_id, low_at, low_at, low_id, limit))

    def live_children_from(
        self, parent_id: str, after: tuple[str, str] | None, *, limit: int
    ) -> Iterator[WorkItem]:
        """Live children in board order (position, then id), after that key; keys first."""
        low_position, low_id = after if after is not None else ("", "")
        params = (parent_id, low_position, low_position, low_id, limit)
        return self._keyed(_CHILD_KEYS, params)

    def live_projects_from(
        self, after: tuple[int, str] | None, *, limit: int, member: str | None = None
    ) -> Iterator[WorkItem]:
        """Live projects oldest first after the key ``(created_at, id)``; with ``member``, only
        those the user is a live member of. Keys first."""
        low_at, low_id = after if after is not None else (-1, "")
        if member is None:
            keys = self._column(_PROJECTS_KEYS, (low_at, low_at, low_id, limit))
        else:
            keys = self._column(_MEMBER_PROJECTS_KEYS, (member, low_at, low_at, low_id, limit))
        return self._plain_in_batches(keys)

    def refs(self, item_ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """(key, title, status) of these items, live or deleted, read without their
        descriptions."""
        if not item_ids:
            return {}
        ids = list(dict.fromkeys(item_ids))
        rows = self._rows(_REFS.format(marks=placeholders(len(ids))), ids)
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def live_in_sprint(self, sprint_id: str) -> list[WorkItem]:
        return self._live(WorkItem.sprint_id == sprint_id, order_by=BOARD_ORDER)

    def live_in_status(self, project_id: str, status: str) -> list[WorkItem]:
        return self._live(
            WorkItem.project_id == project_id, WorkItem.status == status, order_by=BOARD_ORDER
        )

    # -- inserts ------------------------------------------------------------------------------

    def insert(self, item: WorkItem) -> None:
        """A new item, written at once (the object is not added to the session)."""
        self._insert(_INSERT_ITEM, {name: getattr(item, name) for name in _COLUMNS})

    # -- plain SQL ----------------------------------------------------------------------------

    def rows_of(self, item_ids: Sequence[str]) -> list[WorkItem]:
        """``get_many`` in plain SQL (a bare connection can run it): detached rows, built
        without validation (they come from the table as stored)."""
        if not item_ids:
            return []
        rows = self._rows(_ITEMS_OF + f"({placeholders(len(item_ids))})", item_ids)
        return [WorkItem.model_construct(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]

    def _plain_in_batches(self, item_ids: Sequence[str]) -> Iterator[WorkItem]:
        """``in_batches`` in plain SQL: ListProjects runs on the event loop's bare connection
        (pm.tenancy.Tenant.read_here) and still stops reading at its byte bound."""
        for start in range(0, len(item_ids), STREAM_BATCH):
            batch = item_ids[start : start + STREAM_BATCH]
            rows = {row.id: row for row in self.rows_of(batch)}
            yield from (rows[item_id] for item_id in batch if item_id in rows)

    def last_child_position(self, parent_id: str | None) -> str | None:
        position: str | None = self._scalar(_LAST_CHILD_SQL, (parent_id,))
        return position

    def count_live_children(self, item_id: str) -> int:
        return int(self._scalar(_LIVE_CHILDREN, (item_id,)))

    def next_position(self, parent_id: str | None, *, after: str, excluding: str) -> str | None:
        """The position of the first live sibling after ``after``, skipping ``excluding``."""
        position: str | None = self._scalar(_NEXT_POSITION, (parent_id, after, excluding))
        return position

    def previous_position(
        self, parent_id: str | None, *, before: str, excluding: str
    ) -> str | None:
        position: str | None = self._scalar(_PREVIOUS_POSITION, (parent_id, before, excluding))
        return position

    def key_taken(self, key: str) -> bool:
        return self._scalar(_KEY_TAKEN, (key,)) is not None

    def next_number(self, project_id: str) -> int:
        """The next number of the project's item sequence."""
        return int(self._scalar(_NEXT_NUMBER, (project_id,)))

    def live_project_ids(self) -> list[str]:
        """Every live project of the tenant, oldest first."""
        return self._column(_LIVE_PROJECT_IDS)

    def ranked_below(self, project_id: str, *, text_chars: int) -> list[tuple[Any, ...]]:
        """Every live item below the project as a tuple of ``CONTEXT_COLUMNS`` and its
        description cut to ``text_chars`` characters, most relevant first (in progress, review,
        todo, backlog, done; higher levels first; then board order)."""
        params = {"project_id": project_id, "text_chars": text_chars}
        return self._rows(_RANKED_ITEMS, params)

    def status_counts(self, project_ids: Sequence[str]) -> list[tuple[str, str, int]]:
        """(project id, status, live items below the project) for each of the projects."""
        if not project_ids:
            return []
        sql = (
            "SELECT project_id, status, count(*) FROM work_items"
            f" WHERE project_id IN ({placeholders(len(project_ids))})"
            " AND deleted_at IS NULL AND id != project_id GROUP BY project_id, status"
        )
        return self._rows(sql, list(project_ids))

    def counts_below(self, project_id: str) -> list[tuple[str, str, str | None, int, int]]:
        """(status, item_type, assignee_id, items, story points) over the live items below."""
        return self._rows(_ITEM_COUNTS, {"project_id": project_id})
