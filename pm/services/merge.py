"""Field-level optimistic concurrency, shared by every versioned entity.

A stale ``expected_version`` is merged when none of the fields it sets changed since that
version (the activity log records the version each field change produced); otherwise CONFLICT
with, per colliding field, the value the caller saw, the stored one and the attempted one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlmodel import Session, col, select

from pm.domain.events import JsonDict
from pm.domain.models import ActivityLog
from pm.errors import Conflict, FieldConflict
from pm.services.unit_of_work import UnitOfWork, activity_value


class Versioned(Protocol):
    id: str
    version: int
    updated_at: int
    updated_by: str


def refuse_collisions(
    session: Session,
    row: Versioned,
    seen_version: int,
    wanted: dict[str, Any],
    current_view: Callable[[], JsonDict],
) -> None:
    """CONFLICT if any field in ``wanted`` changed after ``seen_version``, even to the value
    now attempted: a read-modify-write (an increment) must not count twice as once."""
    if seen_version == row.version:
        return
    if seen_version > row.version:
        raise Conflict(
            "expected_version is newer than the stored version",
            current_version=row.version,
            current=current_view(),
        )
    history = session.exec(
        select(ActivityLog)
        .where(
            ActivityLog.entity_id == row.id,
            col(ActivityLog.version) > seen_version,
            col(ActivityLog.field_name).in_(list(wanted)),
        )
        .order_by(col(ActivityLog.id))
    ).all()
    seen: dict[str, str | None] = {}
    for entry in history:
        if entry.field_name is not None:
            seen.setdefault(entry.field_name, entry.old_value)
    conflicts = [
        FieldConflict(
            field=name,
            seen=seen[name],
            stored=activity_value(getattr(row, name)),
            attempted=activity_value(wanted[name]),
        )
        for name in wanted
        if name in seen
    ]
    if conflicts:
        raise Conflict(
            "fields you set were changed by someone else since your version",
            current_version=row.version,
            current=current_view(),
            conflicts=conflicts,
        )


def require_current_version(
    row: Versioned, seen_version: int, current_view: Callable[[], JsonDict]
) -> None:
    """Deletes don't merge: they need the version the caller saw to be the stored one."""
    if seen_version != row.version:
        raise Conflict(
            "it changed since you saw it",
            current_version=row.version,
            current=current_view(),
        )


def apply_fields(
    uow: UnitOfWork,
    row: Versioned,
    wanted: dict[str, Any],
    *,
    entity_type: str,
    project_id: str,
    action: str,
) -> list[JsonDict]:
    """Set the fields that really change, bump the version once, record one activity row per
    field; return the ``changes`` list ([] and nothing written when nothing changes)."""
    changed = {name: new for name, new in wanted.items() if getattr(row, name) != new}
    if not changed:
        return []
    row.version += 1
    changes = []
    for name, new in changed.items():
        old = getattr(row, name)
        setattr(row, name, new)
        changes.append(
            {"field": name, "old_value": activity_value(old), "new_value": activity_value(new)}
        )
        uow.activity(
            entity_type=entity_type,
            entity_id=row.id,
            project_id=project_id,
            action=action,
            field=name,
            old=old,
            new=new,
            version=row.version,
        )
    row.updated_at = uow.now
    row.updated_by = uow.ctx.user_id
    uow.session.add(row)
    return changes
