"""The unit of work of one command: its repositories on the tenant's writer, its activity rows
and its change-feed events, all in the one transaction that ``ServiceRunner`` commits.

A command function receives a ``UnitOfWork``, reads and changes rows through its repositories
(``uow.items``, ``uow.sprints``...), changes fields with ``uow.apply_fields(...)``, deletes with
``uow.soft_delete(...)``, records other actions with ``uow.activity(...)`` and ends with
``uow.emit(...)``; the event gets the tenant's next ``seq`` (the change feed's autoincrement
key, assigned inside the write lock, so gap-free).

Derived state is pushed, never left for clients to recompute: a command that may change whether
items are blocked names them first (``uow.watch_blocked(ids)``); when it ends, every one whose
``is_blocked`` changed is reported in a ``blocked_changed`` event per project, in the same
transaction (so in the feed as well as live).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Protocol, TypedDict, runtime_checkable

from sqlmodel import Session

from pm.domain.events import Event, Outcome, Payload
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.clock import now_ms
from pm.services.kernel.ids import new_id
from pm.services.kernel.scope import Scope
from pm.services.kernel.settings import ServiceSettings


def activity_value(value: Any) -> str | None:
    """Activity old/new values are stored as text; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class FieldChange(TypedDict):
    """One field an update changed, as responses and events report it (text, as the activity
    log stores it)."""

    field: str
    old_value: str | None
    new_value: str | None


class BlockedState(TypedDict):
    """One item whose derived ``is_blocked`` changed, as ``blocked_changed`` reports it."""

    work_item_id: str
    is_blocked: bool


class BlockedChanged(TypedDict):
    project_id: str
    changes: list[BlockedState]


class Audited(Protocol):
    id: str
    updated_at: int
    updated_by: str


@runtime_checkable
class Versioned(Audited, Protocol):
    version: int


class SoftDeletable(Audited, Protocol):
    deleted_at: int | None


class UnitOfWork(Scope):
    def __init__(
        self,
        session: Session,
        ctx: RequestContext,
        settings: ServiceSettings | None = None,
        *,
        now: int | None = None,
    ) -> None:
        super().__init__(session, ctx)
        self._orm = session  # a command always runs on an ORM session
        self.settings = settings or ServiceSettings()
        self.now = now_ms() if now is None else now
        self.events: list[Event] = []
        self._activity: list[dict[str, Any]] = []
        self._blocked_before: dict[str, bool] = {}  # watched items -> is_blocked when watched

    def activity(
        self,
        *,
        entity_type: str,
        entity_id: str,
        project_id: str | None,
        action: str,
        field: str | None = None,
        old: Any = None,
        new: Any = None,
        version: int | None = None,
    ) -> None:
        """Record one action or one field change; written with the next emitted event's seq."""
        self._activity.append(
            {
                "entity_type": entity_type,
                "entity_id": entity_id,
                "project_id": project_id,
                "action": action,
                "field_name": field,
                "old_value": activity_value(old),
                "new_value": activity_value(new),
                "user_id": self.ctx.user_id,
                "version": version,
                "at": self.now,
            }
        )

    def stamps(self) -> dict[str, Any]:
        """The audit fields of a row the caller makes now: ``Model(..., **uow.stamps())``."""
        user = self.ctx.user_id
        return {
            "created_at": self.now,
            "created_by": user,
            "updated_at": self.now,
            "updated_by": user,
        }

    def create(
        self,
        row: Audited,
        *,
        entity_type: str,
        project_id: str,
        action: str = "created",
        field: str | None = None,
        new: Any = None,
    ) -> None:
        """Add a new row and record its creation (at version 1, if it has a version)."""
        self._orm.add(row)
        self.activity(
            entity_type=entity_type,
            entity_id=row.id,
            project_id=project_id,
            action=action,
            field=field,
            new=new,
            version=1 if isinstance(row, Versioned) else None,
        )

    def apply_fields(
        self,
        row: Versioned,
        wanted: dict[str, Any],
        *,
        entity_type: str,
        project_id: str,
        action: str,
    ) -> list[FieldChange]:
        """Set the fields that really change, bump the version once, record one activity row per
        field; return the ``changes`` list ([] and nothing written when nothing changes)."""
        changed = [
            (name, getattr(row, name), new)
            for name, new in wanted.items()
            if getattr(row, name) != new
        ]
        for name, _old, new in changed:
            setattr(row, name, new)
        return self.record_changes(
            row, changed, entity_type=entity_type, project_id=project_id, action=action
        )

    def record_changes(
        self,
        row: Versioned,
        changed: list[tuple[str, Any, Any]],
        *,
        entity_type: str,
        project_id: str,
        action: str,
        bumped: bool = False,
    ) -> list[FieldChange]:
        """Changes (field, old, new) already made: bump the version once (unless ``bumped``: an
        earlier call of this change did), record one activity row per field, return them as
        ``changes``. An item's labels and custom fields live in tables of their own and are
        recorded here after its columns."""
        if not changed:
            return []
        if not bumped:
            row.version += 1
        changes: list[FieldChange] = []
        for name, old, new in changed:
            changes.append(
                {"field": name, "old_value": activity_value(old), "new_value": activity_value(new)}
            )
            self.activity(
                entity_type=entity_type,
                entity_id=row.id,
                project_id=project_id,
                action=action,
                field=name,
                old=old,
                new=new,
                version=row.version,
            )
        self._touch(row)
        return changes

    def soft_delete(
        self,
        row: SoftDeletable,
        *,
        entity_type: str,
        project_id: str,
        action: str = "deleted",
        field: str | None = None,
        old: Any = None,
    ) -> None:
        """Mark a row deleted (no read returns it again), bump its version if it has one, and
        record the action; the caller emits the event that reports it."""
        row.deleted_at = self.now
        version: int | None = None
        if isinstance(row, Versioned):
            row.version += 1
            version = row.version
        self._touch(row)
        self.activity(
            entity_type=entity_type,
            entity_id=row.id,
            project_id=project_id,
            action=action,
            field=field,
            old=old,
            version=version,
        )

    def _touch(self, row: Audited) -> None:
        row.updated_at = self.now
        row.updated_by = self.ctx.user_id
        self._orm.add(row)

    def emit(self, payload_name: str, project_id: str, payload: Payload) -> Event:
        """Store one event in the change feed (the outbox) and attach pending activity to it."""
        event_id = new_id()
        seq = self.feed.append(
            event_id=event_id,
            project_id=project_id,
            payload_name=payload_name,
            payload=json.dumps(payload, separators=(",", ":")),
            actor_id=self.ctx.user_id,
            at=self.now,
        )
        if self._activity:
            for row in self._activity:
                row["seq"] = seq
            # Flush pending objects first, as an ORM insert would: a plain read later in the
            # command (the blocking queries) must see every row written before the event.
            self._orm.flush()
            self.activity_log.insert_many(self._activity)
            self._activity = []
        event = Event(
            seq=seq,
            event_id=event_id,
            project_id=project_id,
            payload_name=payload_name,
            payload=payload,
            actor_id=self.ctx.user_id,
            at=self.now,
            origin=self.ctx.origin,
        )
        self.events.append(event)
        return event

    def watch_blocked(self, item_ids: Iterable[str]) -> None:
        """These items' ``is_blocked`` may change in this command: note it now, report what
        changed when the command ends (``finish``)."""
        new = [item_id for item_id in item_ids if item_id not in self._blocked_before]
        if new:
            blocked = self.dependencies.blocked_among(new)
            self._blocked_before.update((item_id, item_id in blocked) for item_id in new)

    def _report_blocked(self) -> None:
        """One ``blocked_changed`` event per project of the live watched items whose
        ``is_blocked`` is not what it was when they were watched."""
        if not self._blocked_before:
            return
        self._orm.flush()
        now_blocked = self.dependencies.blocked_among(self._blocked_before)
        flipped = [i for i, was in self._blocked_before.items() if (i in now_blocked) != was]
        by_project: dict[str, BlockedChanged] = {}
        for item in sorted(self.items.get_many(flipped), key=lambda row: row.id):
            if item.deleted_at is None:
                report = by_project.setdefault(
                    item.project_id, {"project_id": item.project_id, "changes": []}
                )
                report["changes"].append(
                    {"work_item_id": item.id, "is_blocked": item.id in now_blocked}
                )
        self._blocked_before = {}
        for project_id, payload in sorted(by_project.items()):
            self.emit("blocked_changed", project_id, payload)

    def respond(self, event: Event) -> Outcome:
        """The caller's answer is the primary event's payload, with its seq."""
        return Outcome(event.payload_name, event.payload, event.seq)

    def finish(self, outcome: Outcome) -> Outcome:
        """Attach every event the transaction emitted, whenever it was emitted.

        Only the primary event (the response's seq) keeps ``origin``: the requesting connection
        gets it as the response, so the hub skips it there; secondary events (items released
        by a closing sprint, a timer stopped elsewhere, respaced siblings) reach it too.
        """
        if self._activity:
            raise RuntimeError("activity recorded without an event to carry it")
        self._report_blocked()
        events = tuple(e if e.seq == outcome.seq else replace(e, origin=None) for e in self.events)
        return replace(outcome, events=events)
