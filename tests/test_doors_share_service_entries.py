"""Every door reaches the same service entries with the same kind of caller: a WebSocket request,
a REST request and a CLI command are recorded as the runner receives them (the runner's own
``command`` and ``query`` still run; the recorder only notes what they were given).

The WebSocket and REST doors list projects through the one query; the WebSocket door and
``pm demo`` create work items through the one command; each caller is the door kit's
``RequestContext`` of the verified token, differing only in what belongs to the door: the
message id (the frame's, the request's, none for a CLI seed) and the connection it came by.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import pm.cli
import pm.cli.serving
from pm.auth import issue_token
from pm.demo import DEMO_NAME, DEMO_TENANT, DEMO_USER
from pm.services import work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models import projects
from tests.conftest import TEST_SECRET, LiveServer
from tests.ws.client import Client, payload

Call = tuple[Callable[..., Any], RequestContext]
IDENTITY = {"tenant_id": "acme", "user_id": "ida", "roles": ("admin",)}
CLAIMS = {"email": "ida@example.com", "name": "Ida"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Call]]:
    """What every ServiceRunner of this process is asked to run, in order."""
    seen: list[Call] = []
    command, query = ServiceRunner.command, ServiceRunner.query

    async def recorded_command(self: ServiceRunner, ctx: Any, fn: Any, /, **kw: Any) -> Any:
        seen.append((fn, ctx))
        return await command(self, ctx, fn, **kw)

    async def recorded_query(self: ServiceRunner, ctx: Any, fn: Any, /, **kw: Any) -> Any:
        seen.append((fn, ctx))
        return await query(self, ctx, fn, **kw)

    monkeypatch.setattr(ServiceRunner, "command", recorded_command)
    monkeypatch.setattr(ServiceRunner, "query", recorded_query)
    yield seen


def _token() -> str:
    return issue_token(TEST_SECRET, **IDENTITY, **CLAIMS)  # type: ignore[arg-type]


def _one(calls: list[Call], fn: Callable[..., Any]) -> RequestContext:
    (ctx,) = [ctx for called, ctx in calls if called is fn]
    return ctx


def _without_door(ctx: RequestContext) -> RequestContext:
    return dataclasses.replace(ctx, message_id=None, origin=None)


async def test_websocket_and_rest_reach_the_same_query_with_the_same_caller(
    live_server: LiveServer, calls: list[Call]
) -> None:
    client = await Client.open(live_server.ws, _token())
    try:
        await client.send_raw({"message_id": "m-ws-list", "list_projects": {}})
        assert payload(await client.recv())[0] == "projects_list"
        await client.send_raw(
            {
                "message_id": "m-ws-create",
                "create_work_item": {"item_type": "project", "title": "P"},
            }
        )
        assert payload(await client.recv())[0] == "work_item_created"
    finally:
        await client.close()
    async with httpx.AsyncClient(base_url=live_server.http, trust_env=False) as http:
        response = await http.get(
            "/api/v1/projects",
            headers={"Authorization": f"Bearer {_token()}", "X-Request-Id": "r-rest-list"},
        )
    assert response.status_code == 200, response.text

    by_ws = [ctx for fn, ctx in calls if fn is projects.list_projects and ctx.origin is not None]
    by_rest = [ctx for fn, ctx in calls if fn is projects.list_projects and ctx.origin is None]
    assert len(by_ws) == len(by_rest) == 1
    ws, rest = by_ws[0], by_rest[0]
    assert type(ws) is type(rest) is RequestContext
    assert (
        _without_door(ws)
        == _without_door(rest)
        == RequestContext(
            tenant_id="acme",
            user_id="ida",
            roles=frozenset({"admin"}),
            email="ida@example.com",
            name="Ida",
        )
    )
    assert (ws.message_id, rest.message_id) == ("m-ws-list", "r-rest-list")
    created = _one(calls, work_items.create_work_item)
    assert created.message_id == "m-ws-create" and created.origin == ws.origin
    assert _without_door(created) == _without_door(ws)


def test_pm_demo_reaches_the_command_the_websocket_door_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: list[Call]
) -> None:
    served: list[Any] = []
    monkeypatch.setattr(pm.cli.serving, "run_server", served.append)  # no serving
    assert pm.cli.main(["demo", "--data-dir", str(tmp_path / "demo"), "--port", "8123"]) == 0
    assert len(served) == 1  # it would serve now
    creates = [ctx for fn, ctx in calls if fn is work_items.create_work_item]
    assert creates, "the demo seed made no work item"
    for ctx in creates:
        assert type(ctx) is RequestContext
        assert ctx == RequestContext(
            tenant_id=DEMO_TENANT,
            user_id=DEMO_USER,
            roles=frozenset({"admin"}),
            email=None,
            name=DEMO_NAME,
        )


async def test_mcp_and_websocket_reach_the_same_command_with_the_same_caller(
    live_server: LiveServer, calls: list[Call]
) -> None:
    """The MCP door has no rule of its own: its tool calls the command the socket's request
    does, as the same caller; a tool's ``request_id`` is the frame's message id."""
    import httpx2
    from mcp import Client as McpClient
    from mcp.client.streamable_http import streamable_http_client

    client = await Client.open(live_server.ws, _token())
    try:
        made = payload(
            await client.request("create_work_item", {"item_type": "project", "title": "Shared"})
        )[1]["work_item"]
        await client.send_raw(
            {
                "message_id": "m-ws-task",
                "create_work_item": {"item_type": "task", "parent_id": made["id"], "title": "A"},
            }
        )
        assert payload(await client.recv())[0] == "work_item_created"
    finally:
        await client.close()
    headers = {"Authorization": f"Bearer {_token()}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        McpClient(streamable_http_client(f"{live_server.http}/mcp", http_client=http)) as agent,
    ):
        result = await agent.call_tool(
            "create_work_item",
            {"project": made["key"], "item_type": "task", "title": "B", "request_id": "m-mcp"},
        )
    assert not result.is_error
    by_ws, by_mcp = [
        ctx
        for fn, ctx in calls
        if fn is work_items.create_work_item and ctx.message_id in ("m-ws-task", "m-mcp")
    ]
    assert (by_ws.message_id, by_mcp.message_id) == ("m-ws-task", "m-mcp")
    assert by_mcp.origin is None  # no connection to spare: every board gets the event
    assert _without_door(by_ws) == _without_door(by_mcp)
