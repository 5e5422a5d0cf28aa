"""The unit of work of one command: its session on the tenant's writer, its activity rows and
its change-feed events, all in the one transaction that ``ServiceRunner`` commits.

A command function receives a ``UnitOfWork``, changes rows through ``uow.session``, records what
changed with ``uow.activity(...)`` and ends with ``uow.emit(...)``; the event gets the tenant's
next ``seq`` (the change feed's autoincrement key, assigned inside the write lock, so gap-free).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from pm.domain.events import Event, JsonDict, Outcome
from pm.domain.models import ActivityLog, ChangeEvent
from pm.services.clock import new_id, now_ms
from pm.services.context import RequestContext

# Built once: a Core insert executed with parameters skips building, coercing and cache-keying a
# new statement per event, and the ORM bulk-insert machinery for rows that map to no object.
_INSERT_EVENT = insert(ChangeEvent)
_INSERT_ACTIVITY = insert(ActivityLog)


def activity_value(value: Any) -> str | None:
    """Activity old/new values are stored as text; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class UnitOfWork:
    def __init__(self, session: Session, ctx: RequestContext, *, now: int | None = None) -> None:
        self.session = session
        self.ctx = ctx
        self.now = now_ms() if now is None else now
        self.events: list[Event] = []
        self._activity: list[JsonDict] = []

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

    def emit(self, payload_name: str, project_id: str, payload: JsonDict) -> Event:
        """Store one event in the change feed (the outbox) and attach pending activity to it."""
        event_id = new_id()
        body = json.dumps(payload, separators=(",", ":"))
        connection = self.session.connection()
        result = connection.execute(
            _INSERT_EVENT,
            {
                "event_id": event_id,
                "project_id": project_id,
                "payload_name": payload_name,
                "payload": body,
                "actor_id": self.ctx.user_id,
                "at": self.now,
            },
        )
        seq = int(result.lastrowid)
        if self._activity:
            for row in self._activity:
                row["seq"] = seq
            # Flush pending objects first, as an ORM insert would: a Core read later in the
            # command (the blocking queries) must see every row written before the event.
            self.session.flush()
            connection.execute(_INSERT_ACTIVITY, self._activity)
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
        events = tuple(e if e.seq == outcome.seq else replace(e, origin=None) for e in self.events)
        return replace(outcome, events=events)
