"""The activity log: one row per field change or action, written with the change it records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlmodel import col, select

from pm.domain.models import ActivityLog
from pm.repositories.base import Repository, RowInsert, placeholders

# Every column but the autoincrement id: the unit of work gives each row all of them.
_INSERT_ACTIVITY = RowInsert.of(
    ActivityLog,
    [c.name for c in ActivityLog.__table__.columns if c.name != "id"],  # type: ignore[attr-defined]
)


def items_entering_sql(statuses: int) -> str:
    """Live items of a project (``?``) entering one of ``statuses`` values (``?``s) in ``[?, ?)``,
    first entry first, ``LIMIT ?``."""
    return (
        "SELECT a.entity_id FROM activity_log AS a"
        " JOIN work_items AS w ON w.id = a.entity_id AND w.deleted_at IS NULL"
        " WHERE a.field_name = 'status' AND a.entity_type = 'work_item'"
        f" AND a.project_id = ? AND a.new_value IN ({placeholders(statuses)})"
        " AND a.at >= ? AND a.at < ?"
        " GROUP BY a.entity_id ORDER BY MIN(a.at), a.entity_id LIMIT ?"
    )


class ActivityRepository(Repository):
    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        self._insert_many(_INSERT_ACTIVITY, rows)

    def field_changes_since(
        self, entity_id: str, version: int, fields: Sequence[str]
    ) -> list[ActivityLog]:
        """Changes of these fields of the entity that produced a version above ``version``,
        oldest first."""
        return list(
            self._session.exec(
                select(ActivityLog)
                .where(
                    ActivityLog.entity_id == entity_id,
                    col(ActivityLog.version) > version,
                    col(ActivityLog.field_name).in_(list(fields)),
                )
                .order_by(col(ActivityLog.id))
            ).all()
        )

    def status_changes(self, entity_ids: Sequence[str]) -> list[ActivityLog]:
        """Every status change of these entities, oldest first."""
        return list(
            self._session.exec(
                select(ActivityLog)
                .where(col(ActivityLog.entity_id).in_(list(entity_ids)))
                .where(ActivityLog.field_name == "status")
                .order_by(col(ActivityLog.id))
            ).all()
        )

    def items_entering(
        self, project_id: str, statuses: Sequence[str], *, since: int, until: int, limit: int
    ) -> list[str]:
        """Live items of the project that entered one of these statuses in ``[since, until)``,
        in the order of their first such entry there (then id); at most ``limit``. Read from the
        partial index ``ix_activity_item_status`` (its condition is repeated word for word)."""
        if not statuses:
            return []
        return self._column(
            items_entering_sql(len(statuses)), (project_id, *statuses, since, until, limit)
        )

    def page(
        self,
        project_ids: Sequence[str],
        *,
        limit: int,
        before_id: int | None = None,
        entity_id: str | None = None,
        user_id: str | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> Iterator[ActivityLog]:
        """Rows of these projects, newest first, below the id ``before_id``; ``since`` is
        inclusive, ``until`` exclusive; streamed (read as taken)."""
        query = select(ActivityLog).where(col(ActivityLog.project_id).in_(project_ids))
        if entity_id is not None:
            query = query.where(ActivityLog.entity_id == entity_id)
        if user_id is not None:
            query = query.where(ActivityLog.user_id == user_id)
        if since is not None:
            query = query.where(col(ActivityLog.at) >= since)
        if until is not None:
            query = query.where(col(ActivityLog.at) < until)
        if before_id is not None:
            query = query.where(col(ActivityLog.id) < before_id)
        return self._stream(query.order_by(col(ActivityLog.id).desc()).limit(limit))

    def latest_in_project(self, project_id: str, limit: int) -> list[ActivityLog]:
        return list(
            self._session.exec(
                select(ActivityLog)
                .where(ActivityLog.project_id == project_id)
                .order_by(col(ActivityLog.id).desc())
                .limit(limit)
            ).all()
        )
