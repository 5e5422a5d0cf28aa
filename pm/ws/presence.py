"""Who views a project, told in O(N): the joiner gets the full set once, everyone else gets
the changes, coalesced per project.

    subscribe confirmed ─ PresenceChanged{users: everyone viewing now} to the joiner alone
    any change (a join, a leave, another process's word) ─ the project is marked; after the
    window, one PresenceChanged{joined, left} per viewer, computed against what that viewer
    was last told, encoded once per encoding for all who were told the same

A viewer who joined during a window was told the set as it was at its join; at the window's end
it gets the difference from that to the truth, and from then on it knows what every other viewer
knows, so one delta serves them all. The window grows with the audience (at most
``frames_per_second`` presence frames per project per second), so a storm of joins costs a
bounded frame rate, not a frame per viewer per join. Across processes the set is the union of
every process's viewers (``Bus.presence_of`` to read it, ``Bus.share_presence`` to announce this
process's own, once per window).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pm.bus.base import Bus, Users
from pm.observability import metrics
from pm.ws.codec import Encoding, encode

Key = tuple[str, str]  # (tenant id, project id)
NAME = "presence_changed"


class Viewer(Protocol):
    tenant_id: str
    user_id: str
    encoding: Encoding

    def enqueue(self, frame: str | bytes, payload_name: str) -> None: ...


Viewers = Callable[[Key], list[Any]]  # the confirmed viewers of a project in this process


@dataclass(frozen=True)
class PresenceSettings:
    window_seconds: float = 0.1
    frames_per_second: int = 2000


@dataclass(eq=False)
class _Room:
    announced: Users = frozenset()  # what every viewer not in ``fresh`` was last told
    fresh: dict[Any, Users] = field(default_factory=dict)  # joined this window -> told
    timer: asyncio.TimerHandle | None = None


class Presence:
    def __init__(self, bus: Bus, viewers: Viewers, settings: PresenceSettings) -> None:
        self._bus = bus
        self._viewers = viewers
        self._settings = settings
        self._rooms: dict[Key, _Room] = {}

    def joined(self, key: Key, viewer: Viewer) -> None:
        """A subscription was confirmed: tell the viewer everyone viewing, and the others soon."""
        here = frozenset(conn.user_id for conn in self._viewers(key))
        users = self._bus.presence_of(key[0], key[1], here)
        room = self._rooms.setdefault(key, _Room())
        room.fresh[viewer] = users
        body = {"project_id": key[1], "users": sorted(users)}
        viewer.enqueue(encode(_envelope(body), viewer.encoding), NAME)
        metrics.PRESENCE_FRAMES.labels("full").inc()
        self._mark(key, room)

    def left(self, key: Key, viewer: Viewer) -> None:
        room = self._rooms.get(key)
        if room is not None:
            room.fresh.pop(viewer, None)
            self._mark(key, room)

    def changed(self, key: Key) -> None:
        """Another process's viewers changed: tell ours at the end of the window."""
        room = self._rooms.get(key)
        if room is not None:
            self._mark(key, room)

    def _mark(self, key: Key, room: _Room) -> None:
        if room.timer is None:
            audience = max(len(self._viewers(key)), 1)
            delay = max(self._settings.window_seconds, audience / self._settings.frames_per_second)
            room.timer = asyncio.get_running_loop().call_later(delay, self._flush, key)

    def _flush(self, key: Key) -> None:
        room = self._rooms[key]
        room.timer = None
        viewers = self._viewers(key)
        users = self._bus.share_presence(key[0], key[1], frozenset(c.user_id for c in viewers))
        if not viewers:
            del self._rooms[key]
            return
        started = time.perf_counter()
        shared: dict[Encoding, str | bytes] = {}
        others_behind = room.announced != users
        for viewer in viewers:
            basis = room.fresh.get(viewer)
            if basis is None and others_behind:
                _send_delta(viewer, key[1], room.announced, users, shared)
            elif basis is not None and basis != users:
                _send_delta(viewer, key[1], basis, users, {})
        room.announced, room.fresh = users, {}
        metrics.PRESENCE_FLUSH_SECONDS.observe(time.perf_counter() - started)


def _envelope(body: dict[str, Any]) -> dict[str, Any]:
    return {"message_id": "", "sent_at_ms": int(time.time() * 1000), NAME: body}


def _send_delta(
    viewer: Viewer,
    project_id: str,
    before: Users,
    after: Users,
    frames: dict[Encoding, str | bytes],
) -> None:
    """Queue the change from ``before`` to ``after``; ``frames`` holds it encoded, per encoding,
    for every viewer told the same ``before``."""
    frame = frames.get(viewer.encoding)
    if frame is None:
        body = {"project_id": project_id, "joined": sorted(after - before)}
        body["left"] = sorted(before - after)
        frame = frames[viewer.encoding] = encode(_envelope(body), viewer.encoding)
    viewer.enqueue(frame, NAME)
    metrics.PRESENCE_FRAMES.labels("delta").inc()
