"""What a command produces: the response for its caller and the events it committed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Payload = Mapping[str, Any]  # a message of pm.proto in the JSON mapping's shape


@dataclass(frozen=True)
class Event:
    """One committed change, exactly as it goes live and as the change feed replays it."""

    seq: int
    event_id: str
    project_id: str
    payload_name: str
    payload: Payload
    actor_id: str
    at: int
    origin: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The answer to a command: ``payload_name`` is the snake_case oneof name of PROTOCOL.md."""

    payload_name: str
    payload: Payload
    seq: int | None = None
    events: tuple[Event, ...] = field(default=())
    replayed: bool = False
