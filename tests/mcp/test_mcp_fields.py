"""Labels, dates and custom fields through the MCP tools against a real ``pm serve``: an agent
sets them on create and update, is refused by type with the field named (nothing written), and
finds items by label, custom field and due range; the context lists them."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import TokenFactory
from tests.mcp.test_mcp_door import agent, call, ok, project, served, tenant
from tests.ws.client import Client as WsClient
from tests.ws.client import payload
from tests.ws.serve import ServeProcess

__all__ = ["project", "served", "tenant"]  # the door test's fixtures, used here too


async def _definitions(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> dict[str, Any]:
    """A label and two fields, made by the project's admin on the board."""
    ws = await WsClient.open(served.ws, make_token("alice", tenant))
    try:
        made: dict[str, Any] = {}
        requests: list[tuple[str, dict[str, Any], str]] = [
            ("create_label", {"name": "Bug"}, "label"),
            ("create_custom_field", {"name": "Size", "field_type": "number"}, "custom_field"),
            (
                "create_custom_field",
                {"name": "Team", "field_type": "select", "options": ["web", "api"]},
                "custom_field",
            ),
        ]
        for name, body, key in requests:
            answer, body_back = payload(
                await ws.request(name, {"project_id": project["id"], **body})
            )
            assert answer != "error", body_back
            made[body["name"]] = body_back[key]
        return made
    finally:
        await ws.close()


async def test_an_agent_sets_labels_dates_and_fields_and_finds_by_them(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    made = await _definitions(served, make_token, tenant, project)
    key = project["key"]
    async with agent(served, make_token("eddie", tenant)) as client:
        created = await ok(
            client,
            "create_work_item",
            project=key,
            item_type="task",
            title="Tagged one",
            labels=["bug"],
            due_date="2026-04-10",
            custom_fields={"Size": 5, "team": "api"},
        )
        tagged = re.search(rf"\b{key}-\d+\b", created)
        assert tagged is not None
        plain = await ok(client, "create_work_item", project=key, item_type="task", title="Plain")
        plain_key = re.search(rf"\b{key}-\d+\b", plain)
        assert plain_key is not None
        updated = await ok(
            client,
            "update_work_item",
            item=plain_key.group(0),
            add_labels=["Bug"],
            start_date="2026-04-01",
            custom_fields={"Size": 2},
        )
        assert "labels" in updated and f"custom_fields.{made['Size']['id']}" in updated
        found = await ok(
            client,
            "search_work_items",
            project=key,
            labels=["bug"],
            fields=["Size>=3", "Team=api"],
            due_from="2026-04-01",
            due_to="2026-04-30",
        )
        assert found.splitlines()[0].startswith(f"- {tagged.group(0)} ")
        assert len(found.splitlines()) == 1
        sorted_by = await ok(client, "search_work_items", project=key, sort="-field:Size")
        keys = [line.split()[1] for line in sorted_by.splitlines()]
        assert keys.index(tagged.group(0)) < keys.index(plain_key.group(0))
        detail = await ok(client, "get_work_item", item=tagged.group(0))
        assert "due 2026-04-10" in detail and f"`{made['Bug']['id']}`" in detail
        context = json.loads(await ok(client, "get_project_context", project=key, format="json"))
        assert [label["name"] for label in context["labels"]] == ["Bug"]
        row = next(i for i in context["work_items"] if i["key"] == tagged.group(0))
        assert (row["labels"], row["custom_fields"]) == (["Bug"], {"Size": 5.0, "Team": "api"})
        markdown = await ok(client, "get_project_context", project=key)
        assert "## Custom fields" in markdown and "#Bug" in markdown


async def test_a_value_of_the_wrong_type_is_refused_naming_the_field(
    served: ServeProcess, make_token: TokenFactory, tenant: str, project: dict[str, Any]
) -> None:
    made = await _definitions(served, make_token, tenant, project)
    key = project["key"]
    async with agent(served, make_token("eddie", tenant)) as client:
        for fields in ({"Size": "big"}, {"Team": "ops"}):
            is_error, text = await call(
                client,
                "create_work_item",
                project=key,
                item_type="task",
                title="Refused",
                custom_fields=fields,
            )
            assert is_error and text.startswith("VALIDATION_ERROR"), text
            field = made["Size"] if "Size" in fields else made["Team"]
            assert f"custom_fields.{field['id']}" in text
        is_error, text = await call(
            client, "create_work_item", project=key, item_type="task", title="R", labels=["nope"]
        )
        assert is_error and text.startswith("NOT_FOUND"), text
        found = await ok(client, "search_work_items", project=key, query="Refused")
        assert found == "No items match."
