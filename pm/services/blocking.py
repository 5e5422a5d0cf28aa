"""Which items are blocked: an item is blocked while any live item blocking it is not done."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlmodel import Session

_BLOCKED_IN_PROJECT = text(
    """
    SELECT DISTINCT d.blocked_item_id
    FROM dependencies d JOIN work_items b ON b.id = d.blocking_item_id
    WHERE d.project_id = :project_id AND d.deleted_at IS NULL AND d.dependency_type = 'blocks'
      AND b.deleted_at IS NULL AND b.status != 'done'
    """
)


def blocked_in_project(session: Session, project_id: str) -> set[str]:
    rows = session.connection().execute(_BLOCKED_IN_PROJECT, {"project_id": project_id})
    return {row[0] for row in rows}


def blocked_among(session: Session, item_ids: Iterable[str]) -> set[str]:
    ids = list(item_ids)
    if not ids:
        return set()
    marks = ",".join(f":i{n}" for n in range(len(ids)))
    query = text(
        f"""
        SELECT DISTINCT d.blocked_item_id
        FROM dependencies d JOIN work_items b ON b.id = d.blocking_item_id
        WHERE d.blocked_item_id IN ({marks}) AND d.deleted_at IS NULL
          AND d.dependency_type = 'blocks' AND b.deleted_at IS NULL AND b.status != 'done'
        """
    )
    rows = session.connection().execute(query, {f"i{n}": v for n, v in enumerate(ids)})
    return {row[0] for row in rows}


def is_blocked(session: Session, item_id: str) -> bool:
    return bool(blocked_among(session, [item_id]))
