"""Dependencies between work items, and which items they block.

An item is blocked while any live item that ``blocks`` it is not done: ``blocked_among`` and
``blocked_in_project`` answer that in one statement each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import col, select

from pm.domain.models import Dependency
from pm.repositories.base import Entities, placeholders

# Breadth first from one item along live `blocks` edges, at most `limit` rows in all (the
# recursive select's LIMIT bounds the whole walk); each row is (item reached, item it was
# reached from). The partial unique index on (blocking_item_id, blocked_item_id) serves each hop.
_BLOCKS_REACH = """
    WITH RECURSIVE reach(node, came_from) AS (
        SELECT ?, NULL
        UNION
        SELECT d.blocked_item_id, d.blocking_item_id
        FROM dependencies d JOIN reach ON d.blocking_item_id = reach.node
        WHERE d.deleted_at IS NULL AND d.dependency_type = 'blocks'
        LIMIT ?
    )
    SELECT node, came_from FROM reach
"""
# An item stops blocking once its status is a completed state of its project.
_NOT_COMPLETED = """NOT EXISTS (SELECT 1 FROM workflow_states s
      WHERE s.project_id = b.project_id AND s.key = b.status AND s.category = 'completed')"""
_LIVE_PAIR = (
    "SELECT id FROM dependencies"
    " WHERE blocking_item_id = ? AND blocked_item_id = ? AND deleted_at IS NULL"
)
_BLOCKED_BY = (
    "SELECT blocked_item_id FROM dependencies WHERE blocking_item_id = ? AND deleted_at IS NULL"
)
_BLOCKED_BY_STATUS = """
    SELECT DISTINCT d.blocked_item_id
    FROM work_items b JOIN dependencies d ON d.blocking_item_id = b.id
    WHERE b.project_id = ? AND b.status = ? AND b.deleted_at IS NULL
      AND d.deleted_at IS NULL AND d.dependency_type = 'blocks'
"""
_LIVE_IN_PROJECT = "SELECT count(*) FROM dependencies WHERE project_id = ? AND deleted_at IS NULL"
_BLOCKED_IN_PROJECT = f"""
    SELECT DISTINCT d.blocked_item_id
    FROM dependencies d JOIN work_items b ON b.id = d.blocking_item_id
    WHERE d.project_id = ? AND d.deleted_at IS NULL AND d.dependency_type = 'blocks'
      AND b.deleted_at IS NULL AND {_NOT_COMPLETED}
"""
_BLOCKED_AMONG = f"""
    SELECT DISTINCT d.blocked_item_id
    FROM dependencies d JOIN work_items b ON b.id = d.blocking_item_id
    WHERE d.blocked_item_id IN ({{marks}}) AND d.deleted_at IS NULL
      AND d.dependency_type = 'blocks' AND b.deleted_at IS NULL AND {_NOT_COMPLETED}
"""
_BLOCKS_IN_PROJECT = """
    SELECT held.id, held.key, held.title, held.status, held.assignee_id,
           blocker.id, blocker.key, blocker.title, blocker.status, blocker.assignee_id
    FROM dependencies d
    JOIN work_items blocker ON blocker.id = d.blocking_item_id
    JOIN work_items held ON held.id = d.blocked_item_id
    WHERE d.project_id = ? AND d.deleted_at IS NULL AND d.dependency_type = 'blocks'
      AND blocker.deleted_at IS NULL AND held.deleted_at IS NULL
    ORDER BY held.position, held.id, blocker.id
"""


class DependencyRepository(Entities[Dependency]):
    model = Dependency

    # -- entities ---------------------------------------------------------------------------

    def live_touching(self, item_id: str) -> list[Dependency]:
        """Live dependencies with the item on either side."""
        return self._live(
            (Dependency.blocking_item_id == item_id) | (Dependency.blocked_item_id == item_id)
        )

    def live_touching_from(
        self, item_id: str, after: tuple[int, str] | None, *, limit: int
    ) -> Iterator[Dependency]:
        """Live dependencies with the item on either side, oldest first after the key
        ``(created_at, id)``; streamed (a dependency holds no long text)."""
        touching = (Dependency.blocking_item_id == item_id) | (
            Dependency.blocked_item_id == item_id
        )
        return self._page(touching, after, limit)

    def live_in_project_from(
        self, project_id: str, after: tuple[int, str] | None, *, limit: int
    ) -> Iterator[Dependency]:
        return self._page(Dependency.project_id == project_id, after, limit)

    def _page(self, where: Any, after: tuple[int, str] | None, limit: int) -> Iterator[Dependency]:
        query = select(Dependency).where(where, col(Dependency.deleted_at).is_(None))
        if after is not None:
            at, last_id = after
            query = query.where(
                (col(Dependency.created_at) > at)
                | ((col(Dependency.created_at) == at) & (col(Dependency.id) > last_id))
            )
        order = (col(Dependency.created_at), col(Dependency.id))
        return self._stream(query.order_by(*order).limit(limit))

    # -- plain SQL ----------------------------------------------------------------------------

    def blocks_reach(self, start: str, *, limit: int) -> Iterator[tuple[str, str | None]]:
        """(item, the item it was reached from) for what ``start`` blocks, directly or not,
        breadth first, ``start`` itself first; at most ``limit`` rows, computed as they are
        read (stop reading and the walk stops)."""
        yield from self._driver().execute(_BLOCKS_REACH, (start, limit))

    def blocked_by(self, item_id: str) -> list[str]:
        """The items of the live dependencies in which this item is the blocking side."""
        return [str(item) for item in self._column(_BLOCKED_BY, (item_id,))]

    def blocked_by_status(self, project_id: str, status: str) -> list[str]:
        """The items that live items of the project in this status block."""
        return [str(item) for item in self._column(_BLOCKED_BY_STATUS, (project_id, status))]

    def live_pair_exists(self, blocking_id: str, blocked_id: str) -> bool:
        return self._row(_LIVE_PAIR, (blocking_id, blocked_id)) is not None

    def count_live_in_project(self, project_id: str) -> int:
        return int(self._scalar(_LIVE_IN_PROJECT, (project_id,)))

    def blocked_in_project(self, project_id: str) -> set[str]:
        return set(self._column(_BLOCKED_IN_PROJECT, (project_id,)))

    def blocked_among(self, item_ids: Iterable[str]) -> set[str]:
        ids = tuple(item_ids)
        if not ids:
            return set()
        return set(self._column(_BLOCKED_AMONG.format(marks=placeholders(len(ids))), ids))

    def blocks_in_project(self, project_id: str) -> list[tuple[Any, ...]]:
        """Every live ``blocks`` edge between live items of the project: the held item's id,
        key, title, status and assignee, then the blocker's; by the held item's board
        position."""
        return self._rows(_BLOCKS_IN_PROJECT, (project_id,))
