"""A small real WebSocket client for the tests: JSON or protobuf frames of pm.proto."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from google.protobuf import json_format
from websockets.asyncio.client import ClientConnection, connect

from pm.ws.pm_pb2 import Envelope


class Client:
    def __init__(self, conn: ClientConnection, encoding: str) -> None:
        self.conn = conn
        self.encoding = encoding
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, token: str, encoding: str = "json", **kwargs: Any) -> Client:
        protocol = "pm.v1.json" if encoding == "json" else "pm.v1"
        conn = await connect(
            url,
            subprotocols=[protocol, f"pm.bearer.{token}"],  # type: ignore[list-item]
            compression=None,
            proxy=None,
            **kwargs,
        )
        return cls(conn, encoding)

    async def send_raw(self, envelope: dict[str, Any]) -> None:
        if self.encoding == "json":
            await self.conn.send(json.dumps(envelope))
        else:
            await self.conn.send(json_format.ParseDict(envelope, Envelope()).SerializeToString())

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.conn.recv(), timeout)
        if isinstance(frame, bytes):
            message = Envelope()
            message.ParseFromString(frame)
            return json_format.MessageToDict(message, preserving_proto_field_name=True)
        return json.loads(frame)  # type: ignore[no-any-return]

    async def request(self, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request; return its response, keeping events that arrive meanwhile."""
        message_id = str(uuid.uuid4())
        await self.send_raw({"message_id": message_id, name: body or {}})
        while True:
            frame = await self.recv()
            if frame.get("message_id") == message_id:
                return frame
            self.events.append(frame)

    async def event(self, timeout: float = 10) -> dict[str, Any]:
        if self.events:
            return self.events.pop(0)
        return await self.recv(timeout)

    async def close(self) -> None:
        await self.conn.close()


def payload(frame: dict[str, Any]) -> tuple[str, Any]:
    """(payload name, body) of an envelope dict."""
    for key, value in frame.items():
        if key not in ("message_id", "seq", "actor_id", "sent_at_ms"):
            return key, value
    raise AssertionError(f"no payload in {frame}")
