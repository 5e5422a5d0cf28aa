"""Field-level optimistic concurrency, shared by every versioned entity (the writing side is
``UnitOfWork.apply_fields``).

A stale ``expected_version`` is merged when none of the fields it sets changed since that
version (the activity log records the version each field change produced); otherwise CONFLICT
with, per colliding field, the value the caller saw, the stored one and the attempted one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pm.domain.events import Payload
from pm.errors import Conflict, FieldConflict
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import Versioned, activity_value


def refuse_collisions(
    scope: Scope,
    row: Versioned,
    seen_version: int,
    wanted: dict[str, Any],
    current_view: Callable[[], Payload],
    stored: Callable[[str], Any] | None = None,
) -> None:
    """CONFLICT if any field in ``wanted`` changed after ``seen_version``, even to the value
    now attempted: a read-modify-write (an increment) must not count twice as once.
    ``stored(name)`` reads a field that is not a column of the row (an item's custom field)."""
    if seen_version == row.version:
        return
    if seen_version > row.version:
        raise Conflict(
            "expected_version is newer than the stored version",
            current_version=row.version,
            current=current_view(),
        )
    history = scope.activity_log.field_changes_since(row.id, seen_version, list(wanted))
    seen: dict[str, str | None] = {}
    for entry in history:
        if entry.field_name is not None:
            seen.setdefault(entry.field_name, entry.old_value)
    conflicts = [
        FieldConflict(
            field=name,
            seen=seen[name],
            stored=activity_value(stored(name) if stored else getattr(row, name)),
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
    row: Versioned, seen_version: int, current_view: Callable[[], Payload]
) -> None:
    """Deletes don't merge: they need the version the caller saw to be the stored one."""
    if seen_version != row.version:
        raise Conflict(
            "it changed since you saw it",
            current_version=row.version,
            current=current_view(),
        )
