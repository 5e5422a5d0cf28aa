"""The MCP door, through the official SDK's client against a real ``pm serve``: the tool list an
agent pays for, resources, the writes of an agent (by key), idempotent retries, conflicts,
refusals, tenancy, and a plain WebSocket subscriber that sees an agent's writes live."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import TokenFactory
from tests.ws.client import Client as WsClient
from tests.ws.client import payload
from tests.ws.serve import ServeProcess, pm_serve

# PROTOCOL.md "MCP": the tool names are a contract.
PROTOCOL_TOOLS = {
    "list_projects",
    "get_project_context",
    "search_work_items",
    "get_work_item",
    "create_work_item",
    "update_work_item",
    "move_work_item",
    "add_comment",
    "log_time",
    "add_dependency",
    "get_sprint",
    "get_changes",
    "list_notifications",
    "mark_notifications_read",
    "watch_item",
    "unwatch_item",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data = tmp_path_factory.mktemp("mcp") / "data"
    with pm_serve(data, rest_rate_limit="100000/minute", ws_rate_limit="100000/10seconds") as srv:
        yield srv


@contextlib.asynccontextmanager
async def agent(served: ServeProcess, token: str, **options: Any) -> AsyncIterator[Client]:
    url = f"http://127.0.0.1:{served.port}/mcp"
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), **options) as client,
    ):
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> tuple[bool, str]:
    """(is_error, text) of one tool call."""
    result = await client.call_tool(tool, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    return bool(result.is_error), text


async def ok(client: Client, tool: str, **arguments: Any) -> str:
    is_error, text = await call(client, tool, **arguments)
    assert not is_error, text
    return text


@pytest.fixture(scope="module")
def tenant() -> str:
    """A tenant of its own per module run, so keys start at APO."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def project(served: ServeProcess, make_token: TokenFactory, tenant: str) -> dict[str, Any]:
    """Apollo (key APO on first use, APO2... after), alice its admin, vera a viewer, eddie an
    editor; created over the WebSocket, as a person on the board would."""
    ws = await WsClient.open(served.ws, make_token("alice", tenant))
    try:
        created = await ws.request("create_work_item", {"item_type": "project", "title": "Apollo"})
        made: dict[str, Any] = payload(created)[1]["work_item"]
        for user, role in (("vera", "viewer"), ("eddie", "editor")):
            added = await ws.request(
                "add_member", {"project_id": made["id"], "user_id": user, "role": role}
            )
            assert payload(added)[0] == "member_added"
    finally:
        await ws.close()
    return made


async def test_the_tool_list_is_small_described_and_the_protocols(
    served: ServeProcess, make_token: TokenFactory, tenant: str
) -> None:
    async with agent(served, make_token("alice", tenant)) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) <= 20, "keep the tool list under 20: every tool costs every prompt tokens"
    assert {tool.name for tool in tools} == PROTOCOL_TOOLS
    for tool in tools:
        assert tool.description and len(tool.description) > 20, tool.name
        assert tool.input_schema["type"] == "object"
        assert "title" not in tool.input_schema, "titles repeat the names: tokens for nothing"


async def test_a_projects_context_is_a_resource_in_markdown(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    uri = f"pm://projects/{project['key']}/context"
    async with agent(served, make_token("vera", tenant)) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {uri, "pm://llm-context"} <= listed
        read = await client.read_resource(uri)
        guide = await client.read_resource("pm://llm-context")
    text = read.contents[0].text  # type: ignore[union-attr]
    assert text.startswith(f"# Project: Apollo `{project['key']}`")
    assert "Work item fields" in guide.contents[0].text  # type: ignore[union-attr]


async def test_an_agent_creates_updates_comments_logs_time_and_finds_by_key(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    key = project["key"]
    async with agent(served, make_token("eddie", tenant)) as client:
        created = await ok(
            client, "create_work_item", project=key, item_type="task", title="Wire the telemetry"
        )
        item = re.search(rf"\b{key}-\d+\b", created)
        assert item is not None and created.startswith(f"Created {item.group(0)} [task]")
        item_key = item.group(0)
        updated = await ok(client, "update_work_item", item=item_key, status="in_progress")
        assert "status backlog -> in_progress" in updated and "v2" in updated
        assert (
            await ok(client, "add_comment", item=item_key, body="antenna calibrated")
        ).startswith("Added comment")
        assert (await ok(client, "log_time", item=item_key, minutes=45)).startswith("Logged 45 min")
        found = await ok(client, "search_work_items", query="antenna", project=key)
        detail = await ok(client, "get_work_item", item=item_key.lower())
    assert found.startswith(f"- {item_key} [task] Wire the telemetry") and "**antenna**" in found
    assert detail.startswith(f"# {item_key} Wire the telemetry")
    assert "antenna calibrated" in detail and "total 0h 45m" in detail


async def test_the_changes_tool_reports_derived_blocked_changed_events(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    key = project["key"]
    async with agent(served, make_token("eddie", tenant)) as client:
        keys = []
        for title in ("Pour the pad", "Stack the stage"):
            created = await ok(
                client, "create_work_item", project=key, item_type="task", title=title
            )
            found = re.search(rf"\b{key}-\d+\b", created)
            assert found is not None
            keys.append(found.group(0))
        before = await ok(client, "get_changes", since_seq=0, project=key)
        since = int(before.rsplit("as_of_seq=", 1)[1].split(";")[0])
        await ok(client, "add_dependency", blocking=keys[0], blocked=keys[1])
        after = await ok(client, "get_changes", since_seq=since, project=key)
    (line,) = [line for line in after.splitlines() if " blocked_changed " in line]
    assert f"project_id `{project['id']}`" in line and line.endswith(" blocked")


async def test_the_same_request_id_twice_applies_once(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    request = {
        "project": project["key"],
        "item_type": "story",
        "title": "Once only",
        "request_id": "r-1",
    }
    async with agent(served, make_token("eddie", tenant)) as client:
        first = await ok(client, "create_work_item", **request)
        again = await ok(client, "create_work_item", **request)
        found = await ok(client, "search_work_items", query="once only", project=project["key"])
        reused = await call(client, "create_work_item", **{**request, "title": "Another"})
    assert first == again
    assert len(found.splitlines()) == 1
    assert reused[0] and reused[1].startswith("VALIDATION_ERROR:") and "message_id" in reused[1]


async def test_a_stale_update_answers_the_three_values(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    async with agent(served, make_token("eddie", tenant)) as client:
        created = await ok(
            client, "create_work_item", project=project["key"], item_type="task", title="Draft"
        )
        item_key = created.split()[1]
        await ok(client, "update_work_item", item=item_key, expected_version=1, title="Mine")
        is_error, text = await call(
            client, "update_work_item", item=item_key, expected_version=1, title="Theirs"
        )
        merged = await ok(
            client, "update_work_item", item=item_key, expected_version=1, priority="high"
        )
    assert is_error and text.startswith("CONFLICT:")
    assert "Current version 2" in text
    assert "title: you saw 'Draft', stored 'Mine', you tried 'Theirs'" in text
    assert "priority medium -> high" in merged  # no collision: merged on top


async def test_a_viewers_write_is_refused_and_writes_nothing(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    async with agent(served, make_token("vera", tenant)) as client:
        is_error, text = await call(
            client, "create_work_item", project=project["key"], item_type="task", title="Nope"
        )
        found = await ok(client, "search_work_items", query="Nope", project=project["key"])
    assert is_error and text.startswith("FORBIDDEN:")
    assert found == "No items match."


async def test_another_tenants_ids_and_keys_are_not_found(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    async with agent(served, make_token("alice", tenant)) as owner:
        created = await ok(
            owner, "create_work_item", project=project["key"], item_type="task", title="Secret"
        )
    item_key = created.split()[1]
    async with agent(served, make_token("mallory", "intruder", roles=("admin",))) as client:
        for ref in (item_key, project["id"], project["key"]):
            is_error, text = await call(client, "get_work_item", item=ref)
            assert is_error and text.startswith("NOT_FOUND:"), ref
        projects = await ok(client, "list_projects")
    assert projects == "No projects you can see."


async def test_bad_arguments_are_refused_by_name(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    async with agent(served, make_token("eddie", tenant)) as client:
        unknown = await call(client, "get_work_item", item=project["key"], verbose=True)
        wrong = await call(client, "log_time", item=project["key"], minutes=0)
        missing = await call(client, "no_such_tool")
    assert unknown[0] and unknown[1].startswith("VALIDATION_ERROR: verbose")
    assert wrong[0] and wrong[1].startswith("VALIDATION_ERROR: minutes")
    assert missing[0] and missing[1].startswith("VALIDATION_ERROR:")


async def test_no_token_or_a_bad_one_is_401_with_www_authenticate(served: ServeProcess) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    url = f"http://127.0.0.1:{served.port}/mcp"
    async with httpx.AsyncClient() as http:
        missing = await http.post(url, json=body)
        bad = await http.post(url, json=body, headers={"Authorization": "Bearer not-a-jwt"})
    for answer in (missing, bad):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_a_client_of_the_handshake_era_is_served_too(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    async with agent(served, make_token("vera", tenant), mode="legacy") as client:
        projects = await ok(client, "list_projects")
    assert f"- {project['key']} Apollo:" in projects


async def test_a_board_subscriber_sees_the_agents_writes_live(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    board = await WsClient.open(served.ws, make_token("alice", tenant))
    try:
        subscribed = await board.request("subscribe", {"project_ids": [project["id"]]})
        assert payload(subscribed)[0] == "subscribed"
        async with agent(served, make_token("eddie", tenant)) as client:
            created = await ok(
                client, "create_work_item", project=project["key"], item_type="task", title="Live"
            )
            item_key = created.split()[1]
            await ok(client, "update_work_item", item=item_key, status="review")
        names: list[str] = []
        while len(names) < 2:
            name, body = payload(await board.event())
            if name == "presence_changed":
                continue
            names.append(name)
            assert body["work_item"]["key"] == item_key
            assert body["work_item"]["title"] == "Live"
    finally:
        await board.close()
    assert names == ["work_item_created", "work_item_updated"]


async def test_a_request_past_the_size_bound_is_refused_before_anything_reads_it(
    served: ServeProcess, make_token: TokenFactory, tenant: str
) -> None:
    url = f"http://127.0.0.1:{served.port}/mcp"
    headers = {"Authorization": f"Bearer {make_token('alice', tenant)}"}
    body = (
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "pad": "' + b"x" * 1_100_000 + b'"}'
    )
    async with httpx.AsyncClient() as http:
        answer = await http.post(url, content=body, headers=headers)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_lists_come_a_bounded_page_at_a_time_and_say_when_there_is_more(
    tmp_path_factory: pytest.TempPathFactory, make_token: TokenFactory
) -> None:
    """Projects (the tool and the resources), and an item's children, comments and
    dependencies: each a bounded page (two rows here), and a page that left rows out ends
    with the cursor that goes on; the pages together hold every project once."""
    tenant = f"t{uuid.uuid4().hex[:12]}"
    data = tmp_path_factory.mktemp("mcp-pages") / "data"
    with pm_serve(data, default_page_size="2", rest_rate_limit="100000/minute") as srv:
        ws = await WsClient.open(srv.ws, make_token("alice", tenant))
        try:
            for title in ("Apollo", "Gemini", "Mercury"):
                created = await ws.request(
                    "create_work_item", {"item_type": "project", "title": title}
                )
                assert payload(created)[0] == "work_item_created"
        finally:
            await ws.close()
        async with agent(srv, make_token("alice", tenant)) as client:
            first = await ok(client, "list_projects", limit=2)
            more = re.search(r"^More: cursor=(\S+)$", first, re.MULTILINE)
            assert more is not None and len(first.splitlines()) == 3, first
            rest = await ok(client, "list_projects", limit=2, cursor=more.group(1))
            assert "More:" not in rest and len(rest.splitlines()) == 1, rest
            titles = [line.split()[2].rstrip(":") for line in [*first.splitlines()[:2], rest]]
            assert titles == ["Apollo", "Gemini", "Mercury"]
            is_error, text = await call(client, "list_projects", cursor="not-a-cursor")
            assert is_error and text.startswith("VALIDATION_ERROR:"), text

            listed = await client.list_resources()  # two projects and the guide
            assert len(listed.resources) == 3 and listed.next_cursor is not None
            after = await client.list_resources(cursor=listed.next_cursor)
            assert after.next_cursor is None and len(after.resources) == 1
            uris = {str(r.uri) for r in [*listed.resources, *after.resources]}
            assert len(uris) == 4 and "pm://llm-context" in uris

            key = first.splitlines()[0].split()[1]
            epic = await ok(client, "create_work_item", project=key, item_type="epic", title="E")
            epic_key = epic.split()[1]
            for n in range(3):
                task = await ok(
                    client,
                    "create_work_item",
                    project=key,
                    parent=epic_key,
                    item_type="task",
                    title=f"T{n}",
                )
                await ok(client, "add_dependency", blocking=task.split()[1], blocked=epic_key)
                await ok(client, "add_comment", item=epic_key, body=f"note {n}")
            detail = await ok(client, "get_work_item", item=epic_key)
            few = await ok(client, "get_work_item", item=task.split()[1])
    sections = dict(
        (part.splitlines()[0], part.splitlines()[1:]) for part in detail.split("\n## ")[1:]
    )
    for name in ("Children", "Comments", "Dependencies"):
        lines = [line for line in sections[name] if line]
        assert len(lines) == 3 and lines[-1].startswith("- more not shown (next_cursor="), detail
    assert "more not shown" not in few, few


async def test_status_arguments_take_the_projects_own_states_and_the_context_shows_them(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    ws = await WsClient.open(served.ws, make_token("alice", tenant))
    try:
        made = await ws.request(
            "create_state",
            {"project_id": project["id"], "name": "Shipped", "category": "completed"},
        )
        assert payload(made)[0] == "state_created"
    finally:
        await ws.close()
    key = project["key"]
    async with agent(served, make_token("eddie", tenant)) as client:
        created = await ok(
            client, "create_work_item", project=key, item_type="task", title="Ship it"
        )
        item = re.search(rf"\b{key}-\d+\b", created)
        assert item is not None
        moved = await ok(client, "move_work_item", item=item.group(0), status="shipped")
        refused = await call(client, "update_work_item", item=item.group(0), status="launched")
        found = await ok(client, "search_work_items", project=key, status="shipped")
        context = await ok(client, "get_project_context", project=key)
    assert "status backlog -> shipped" in moved
    assert refused[0] and refused[1].startswith("VALIDATION_ERROR: status")
    assert found.startswith(f"- {item.group(0)} [task] Ship it")
    assert "## Workflow states" in context and "- `shipped` Shipped (completed)" in context
    assert "completed 1" in context  # counts by category


async def test_an_agent_reads_its_notifications_marks_them_and_watches(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    """Eddie mentions vera and assigns her; vera's agent sees exactly those two, marks one
    and then all read; eddie's own inbox holds none of hers."""
    key = project["key"]
    async with agent(served, make_token("eddie", tenant)) as eddie:
        created = await ok(
            eddie, "create_work_item", project=key, item_type="task", title="Check the seals"
        )
        item = re.search(rf"\b{key}-\d+\b", created)
        assert item is not None
        await ok(eddie, "add_comment", item=item.group(0), body="@vera can you review?")
        await ok(eddie, "update_work_item", item=item.group(0), assignee_id="vera")
        eddies = await ok(eddie, "list_notifications")
    assert eddies.startswith("0 unread") and "No notifications." in eddies
    async with agent(served, make_token("vera", tenant)) as vera:
        listed = await ok(vera, "list_notifications", unread_only=True)
        lines = listed.splitlines()
        assert lines[0] == "2 unread"
        assert lines[1].startswith(
            f"- [unread] {item.group(0)} Check the seals: assigned by @eddie"
        )
        assert lines[2].startswith(f"- [unread] {item.group(0)} Check the seals: mentioned by")
        assert '"@vera can you review?"' in lines[2]
        newest = re.search(r"`([0-9a-f-]{36})`$", lines[1])
        assert newest is not None
        marked = await ok(vera, "mark_notifications_read", ids=[newest.group(1)])
        assert marked == "Marked 1 read; 1 unread"
        assert (
            await ok(vera, "mark_notifications_read", all=True) == "Marked every one read; 0 unread"
        )
        is_error, text = await call(vera, "mark_notifications_read")
        assert is_error and text.startswith("VALIDATION_ERROR")
        assert (await ok(vera, "watch_item", item=item.group(0))).startswith("Watching")
        assert (await ok(vera, "unwatch_item", item=item.group(0))).startswith("Not watching")
    async with agent(served, make_token("mallory", tenant)) as stranger:
        is_error, text = await call(stranger, "watch_item", item=item.group(0))
    assert is_error and text.startswith("NOT_FOUND")
