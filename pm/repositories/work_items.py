"""Work items: one table for projects, epics, stories and tasks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlmodel import col, select

from pm.domain.enums import ItemType, Status
from pm.domain.models import WorkItem
from pm.repositories.base import STREAM_BATCH, Entities, RowInsert, placeholders

LIVE = col(WorkItem.deleted_at).is_(None)
BOARD_ORDER = (col(WorkItem.position), col(WorkItem.id))
# A project's items oldest first, by columns stored ahead of the description; deleted rows are
# skipped when their rows are read (deleted_at is stored after it).
_PROJECT_KEYS = (
    "SELECT id FROM work_items WHERE project_id = ?"
    " AND (created_at > ? OR (created_at = ? AND id > ?)) ORDER BY created_at, id LIMIT ?"
)
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
_RELEVANCE = {
    Status.IN_PROGRESS: 0,
    Status.REVIEW: 1,
    Status.TODO: 2,
    Status.BACKLOG: 3,
    Status.DONE: 4,
}


def _rank(column: str, ranks: Mapping[Any, int]) -> str:
    cases = " ".join(f"WHEN '{value.value}' THEN {rank}" for value, rank in ranks.items())
    return f"CASE {column} {cases} END"


_LIVE_BELOW = "project_id = :project_id AND deleted_at IS NULL AND id != :project_id"
_RANKED_ITEMS = f"""
    SELECT {", ".join(CONTEXT_COLUMNS)}, substr(description, 1, :text_chars)
    FROM work_items WHERE {_LIVE_BELOW}
    ORDER BY {_rank("status", _RELEVANCE)}, {_rank("item_type", _LEVEL)}, position, id
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
        """Live items of a project, oldest first, after the key ``(created_at, id)``; read a
        few rows at a time as they are taken.

        Two steps, so that what is read is bounded by what is taken: the keys first (columns
        stored before the long text, so SQLite never walks a description to order or filter
        them), then the rows of those keys, batch by batch."""
        low_at, low_id = after if after is not None else (-1, "")
        keys = self._column(_PROJECT_KEYS, (project_id, low_at, low_at, low_id, limit))
        return (row for row in self.in_batches(keys) if row.deleted_at is None)

    def in_batches(self, item_ids: Sequence[str]) -> Iterator[WorkItem]:
        """The rows of these ids (each must exist), in their order, read a few at a time as
        they are taken: a caller that stops early reads no more rows."""
        for start in range(0, len(item_ids), STREAM_BATCH):
            batch = item_ids[start : start + STREAM_BATCH]
            rows = {row.id: row for row in self.get_many(batch)}
            yield from (rows[item_id] for item_id in batch)

    def live_in_sprint(self, sprint_id: str) -> list[WorkItem]:
        return self._live(WorkItem.sprint_id == sprint_id, order_by=BOARD_ORDER)

    def page(
        self,
        project_ids: Sequence[str],
        *,
        limit: int,
        after: tuple[int, str] | None = None,
        status: str | None = None,
        item_type: str | None = None,
        assignee_id: str | None = None,
        sprint_id: str | None = None,
        priority: str | None = None,
        due: tuple[str | None, str | None] = (None, None),
    ) -> Iterator[WorkItem]:
        """Live items of the projects, oldest first, after the key ``(created_at, id)``;
        ``due`` is a range of due dates, both ends inclusive (None: open); streamed (text
        queries are the search repository's)."""
        query = select(WorkItem).where(col(WorkItem.project_id).in_(project_ids), LIVE)
        if status is not None:
            query = query.where(WorkItem.status == status)
        if item_type is not None:
            query = query.where(WorkItem.item_type == item_type)
        if assignee_id is not None:
            query = query.where(WorkItem.assignee_id == assignee_id)
        if sprint_id is not None:
            query = query.where(WorkItem.sprint_id == sprint_id)
        if priority is not None:
            query = query.where(WorkItem.priority == priority)
        due_from, due_to = due
        if due_from is not None:
            query = query.where(col(WorkItem.due_date) >= due_from)
        if due_to is not None:
            query = query.where(col(WorkItem.due_date) <= due_to)
        if after is not None:
            at, last_id = after
            query = query.where(
                (col(WorkItem.created_at) > at)
                | ((col(WorkItem.created_at) == at) & (col(WorkItem.id) > last_id))
            )
        return self._stream(query.order_by(col(WorkItem.created_at), col(WorkItem.id)).limit(limit))

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
