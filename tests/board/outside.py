"""A client outside the browser: a plain synchronous WebSocket client of pm's protocol (JSON or
protobuf frames), as another program or person would use it while the board is open."""

from __future__ import annotations

import json
import uuid
from typing import Any

from google.protobuf import json_format
from websockets.sync.client import ClientConnection, connect

from pm.ws.pm_pb2 import Envelope

Frame = dict[str, Any]


class Outside:
    def __init__(self, conn: ClientConnection, encoding: str) -> None:
        self.conn = conn
        self.encoding = encoding

    @classmethod
    def open(cls, ws_url: str, token: str, encoding: str = "json") -> Outside:
        protocol = "pm.v1.json" if encoding == "json" else "pm.v1"
        conn = connect(
            ws_url,
            subprotocols=[protocol, f"pm.bearer.{token}"],  # type: ignore[list-item]
            compression=None,
            proxy=None,
        )
        # Entered by hand: the connection outlives this call (websockets 17 warns otherwise).
        return cls(conn.__enter__(), encoding)

    def request(self, name: str, body: Frame | None = None) -> Frame:
        """Send a request and return its answer's payload; events meanwhile are skipped."""
        message_id = str(uuid.uuid4())
        envelope = {"message_id": message_id, name: body or {}}
        if self.encoding == "json":
            self.conn.send(json.dumps(envelope))
        else:
            self.conn.send(json_format.ParseDict(envelope, Envelope()).SerializeToString())
        while True:
            frame = self._recv()
            if frame.get("message_id") == message_id:
                break
        kind, value = payload(frame)
        if kind == "error":
            raise AssertionError(f"refused: {value}")
        return dict(value, seq=frame.get("seq"))

    def _recv(self) -> Frame:
        raw = self.conn.recv(timeout=20)
        if isinstance(raw, bytes):
            message = Envelope()
            message.ParseFromString(raw)
            return json_format.MessageToDict(message, preserving_proto_field_name=True)
        return json.loads(raw)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.conn.close()

    # -- the few commands the tests use ---------------------------------------------------

    def create(self, item_type: str, parent_id: str, title: str, **fields: Any) -> Frame:
        body = {"item_type": item_type, "parent_id": parent_id, "title": title, **fields}
        return self.request("create_work_item", body)["work_item"]  # type: ignore[no-any-return]

    def update(self, item: Frame, **fields: Any) -> Frame:
        body = {"work_item_id": item["id"], "expected_version": item["version"], **fields}
        return self.request("update_work_item", body)["work_item"]  # type: ignore[no-any-return]


def payload(frame: Frame) -> tuple[str, Any]:
    for key, value in frame.items():
        if key not in ("message_id", "seq", "actor_id", "sent_at_ms"):
            return key, value
    raise AssertionError(f"no payload in {frame}")
