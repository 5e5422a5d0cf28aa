"""A short key goes wherever an id goes, at every door: WebSocket requests, REST paths and
filters (the MCP door's tools are shown in tests/mcp). And the WebSocket's SearchWorkItems and
REST's ``q`` are the one search."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer, TokenFactory
from tests.ws.client import Client, payload


async def test_keys_at_the_websocket_and_rest_doors(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    token = make_token("alice")
    ws = await Client.open(live_server.ws, token)
    try:

        async def ask(name: str, body: dict[str, Any]) -> tuple[str, Any]:
            return payload(await ws.request(name, body))

        _, made = await ask(
            "create_work_item", {"item_type": "project", "title": "X", "key": "key"}
        )
        assert made["work_item"]["key"] == "KEY"
        _, task = await ask(
            "create_work_item",
            {"item_type": "task", "project_id": "KEY", "title": "Find the beacon"},
        )
        assert task["work_item"]["key"] == "KEY-1"
        name, updated = await ask(
            "update_work_item", {"work_item_id": "key-1", "expected_version": 1, "status": "todo"}
        )
        assert name == "work_item_updated" and updated["work_item"]["status"] == "todo"
        name, snapshot = await ask("get_project", {"project_id": "KEY"})
        assert name == "project_snapshot" and snapshot["project"]["id"] == made["work_item"]["id"]
        name, results = await ask("search_work_items", {"query": "beacon", "project_id": "KEY"})
        assert name == "search_results"
        (hit,) = results["hits"]
        assert hit["work_item"]["key"] == "KEY-1" and hit["snippet"] == "Find the **beacon**"
    finally:
        await ws.close()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=live_server.http, headers=headers, trust_env=False
    ) as http:
        detail = await http.get("/api/v1/work-items/KEY-1")
        context = await http.get("/api/v1/projects/KEY/context", params={"format": "markdown"})
        found = await http.get("/api/v1/work-items", params={"project_id": "KEY", "q": "beacon"})
    assert detail.status_code == 200 and detail.json()["work_item"]["key"] == "KEY-1"
    assert context.status_code == 200 and "`KEY-1`" in context.text
    items = found.json()["items"]
    assert [(i["key"], i["snippet"]) for i in items] == [("KEY-1", "Find the **beacon**")]
    assert items[0]["rank"] == hit["rank"]
