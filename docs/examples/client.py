"""A pm WebSocket client in JSON frames: create a project, add a task, read the board.

PM_TOKEN=<a JWT> python docs/examples/client.py ws://127.0.0.1:8000/ws
"""

import asyncio
import json
import os
import sys
import uuid
from typing import Any

from websockets.asyncio.client import connect


async def main(url: str, token: str) -> None:
    # pm.v1.json: text frames of pm.proto's Envelope; the token travels as a subprotocol.
    async with connect(url, subprotocols=["pm.v1.json", f"pm.bearer.{token}"]) as ws:  # type: ignore[list-item]

        async def request(name: str, body: dict[str, Any]) -> dict[str, Any]:
            message_id = str(uuid.uuid4())
            await ws.send(json.dumps({"message_id": message_id, name: body}))
            while True:  # every request gets exactly one answer, under its message_id
                frame: dict[str, Any] = json.loads(await ws.recv())
                if frame.get("message_id") == message_id:
                    if "error" in frame:
                        raise RuntimeError(frame["error"])
                    return frame

        created = await request("create_work_item", {"item_type": "project", "title": "Demo"})
        project_id = created["work_item_created"]["work_item"]["id"]
        await request("subscribe", {"project_ids": [project_id]})
        task = {"item_type": "task", "parent_id": project_id, "title": "Write the docs"}
        answer = await request("create_work_item", task)
        print("created", answer["work_item_created"]["work_item"]["title"], "at seq", answer["seq"])
        snapshot = await request("get_project", {"project_id": project_id})
        items = snapshot["project_snapshot"]["work_items"]
        print("items:", sorted(item["title"] for item in items))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], os.environ["PM_TOKEN"]))
