"""The one public view of a committed event: what the REST change feed lists, and, as the
Envelope of PROTOCOL.md (payload under its own name), what a WebSocket subscriber receives live
and what GetChanges replays. The same fields carry the same values in every door."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from pm.domain.events import Event


class EventView(TypedDict):
    seq: int
    message_id: str  # the event's own id
    actor_id: str
    sent_at_ms: int
    project_id: str
    payload_name: str  # the snake_case name of the payload's message in pm.proto
    payload: Mapping[str, Any]


def event_view(event: Event) -> EventView:
    return {
        "seq": event.seq,
        "message_id": event.event_id,
        "actor_id": event.actor_id,
        "sent_at_ms": event.at,
        "project_id": event.project_id,
        "payload_name": event.payload_name,
        "payload": event.payload,
    }


def envelope(view: EventView) -> dict[str, Any]:
    """The view as an Envelope in the proto3 JSON mapping: the payload is the oneof field."""
    return {
        "message_id": view["message_id"],
        "seq": view["seq"],
        "actor_id": view["actor_id"],
        "sent_at_ms": view["sent_at_ms"],
        view["payload_name"]: view["payload"],
    }


def event_envelope(event: Event) -> dict[str, Any]:
    return envelope(event_view(event))
