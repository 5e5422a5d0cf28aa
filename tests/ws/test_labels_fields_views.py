"""Labels, custom fields and saved views over a real server, in both encodings: made, set on
items and merged with another person's change at one version, refused by type with the field
named and nothing written, live to a second person, converged after a reconnect, a saved view
run as its search; another tenant sees none of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pm.auth import issue_token
from pm.config import load_settings
from tests.conftest import TEST_SECRET, LiveServer, start_server

from .client import Client, payload


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("tags-ws") / "data",
        jwt_secret=TEST_SECRET,
        ws_rate_limit="100000/10seconds",  # the tests' own pace is not what they measure
    )
    live = start_server(settings)
    yield live
    live.stop()


async def _client(server: LiveServer, user: str, encoding: str, tenant: str = "acme") -> Client:
    token = issue_token(TEST_SECRET, tenant_id=tenant, user_id=user)
    return await Client.open(server.ws, token, encoding)


async def _ok(client: Client, name: str, body: dict[str, Any]) -> tuple[str, Any]:
    answer, result = payload(await client.request(name, body))
    assert answer != "error", result
    return answer, result


async def _next(client: Client, wanted: str) -> Any:
    """The next event of this name (presence and others skipped)."""
    while True:
        name, body = payload(await client.event())
        if name == wanted:
            return body


async def _board(alice: Client, bob_id: str) -> dict[str, Any]:
    """A project with bob as editor, a label, two fields and one item."""
    _, made = await _ok(alice, "create_work_item", {"item_type": "project", "title": "P"})
    project = made["work_item"]
    await _ok(
        alice, "add_member", {"project_id": project["id"], "user_id": bob_id, "role": "editor"}
    )
    _, label = await _ok(alice, "create_label", {"project_id": project["id"], "name": "Bug"})
    _, size = await _ok(
        alice,
        "create_custom_field",
        {"project_id": project["id"], "name": "Size", "field_type": "number"},
    )
    _, tags = await _ok(
        alice,
        "create_custom_field",
        {
            "project_id": project["id"],
            "name": "Area",
            "field_type": "multi_select",
            "options": ["web", "api", "ops"],
        },
    )
    _, made = await _ok(
        alice,
        "create_work_item",
        {
            "item_type": "task",
            "parent_id": project["id"],
            "title": "T",
            "custom_fields": {size["custom_field"]["id"]: 3, "area": ["ops", "web"]},
        },
    )
    return {
        "project": project,
        "label": label["label"],
        "size": size["custom_field"],
        "area": tags["custom_field"],
        "item": made["work_item"],
    }


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
async def test_labels_and_fields_travel_merge_and_reach_another_person(
    server: LiveServer, encoding: str
) -> None:
    alice, bob = await _client(server, "alice", encoding), await _client(server, "bob", encoding)
    try:
        board = await _board(alice, "bob")
        item, size, area = board["item"], board["size"], board["area"]
        assert item["custom_fields"] == {size["id"]: 3.0, area["id"]: ["web", "ops"]}
        await _ok(bob, "subscribe", {"project_ids": [board["project"]["id"]]})
        # at version 1: alice adds the label, bob sets the due date and the other field
        await _ok(
            alice,
            "update_work_item",
            {"work_item_id": item["id"], "expected_version": 1, "add_labels": ["bug"]},
        )
        _, merged = await _ok(
            bob,
            "update_work_item",
            {
                "work_item_id": item["id"],
                "expected_version": 1,
                "due_date": "2026-05-01",
                "custom_fields": {size["id"]: 8},
            },
        )
        landed = merged["work_item"]
        assert landed["labels"] == [board["label"]["id"]]
        assert (landed["due_date"], landed["custom_fields"][size["id"]]) == ("2026-05-01", 8.0)
        assert int(landed["version"]) == 3
        live = await _next(bob, "work_item_updated")
        assert live["work_item"]["labels"] == [board["label"]["id"]]
        # the same field again at version 1: a conflict naming it with the three values
        name, refused = payload(
            await alice.request(
                "update_work_item",
                {
                    "work_item_id": item["id"],
                    "expected_version": 1,
                    "custom_fields": {size["id"]: 5},
                },
            )
        )
        assert (name, refused["code"]) == ("error", "CONFLICT")
        assert refused["conflicts"][0]["field"] == f"custom_fields.{size['id']}"
    finally:
        await alice.close()
        await bob.close()


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
@pytest.mark.parametrize(
    ("value", "which"),
    [
        ("many", "size"),
        (True, "size"),
        (["web", "moon"], "area"),
        ("web", "area"),
    ],
)
async def test_a_value_of_the_wrong_type_is_refused_naming_the_field_and_writes_nothing(
    server: LiveServer, encoding: str, value: Any, which: str
) -> None:
    alice = await _client(server, "alice", encoding)
    try:
        board = await _board(alice, "bob")
        field_id = board[which]["id"]
        _, before = await _ok(alice, "get_project", {"project_id": board["project"]["id"]})
        for name, body in (
            (
                "create_work_item",
                {"item_type": "task", "parent_id": board["project"]["id"], "title": "X"},
            ),
            ("update_work_item", {"work_item_id": board["item"]["id"], "expected_version": 1}),
        ):
            answer, refused = payload(
                await alice.request(name, {**body, "custom_fields": {field_id: value}})
            )
            assert (answer, refused["code"], refused["field"]) == (
                "error",
                "VALIDATION_ERROR",
                f"custom_fields.{field_id}",
            )
        _, after = await _ok(alice, "get_project", {"project_id": board["project"]["id"]})
        assert after["work_items"] == before["work_items"]
        assert after["as_of_seq"] == before["as_of_seq"]
    finally:
        await alice.close()


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
async def test_a_deleted_label_converges_for_a_person_who_reconnects(
    server: LiveServer, encoding: str
) -> None:
    alice, bob = await _client(server, "alice", encoding), await _client(server, "bob", encoding)
    try:
        board = await _board(alice, "bob")
        await _ok(
            alice,
            "update_work_item",
            {"work_item_id": board["item"]["id"], "expected_version": 1, "add_labels": ["Bug"]},
        )
        _, snapshot = await _ok(bob, "get_project", {"project_id": board["project"]["id"]})
        assert [label["name"] for label in snapshot["labels"]] == ["Bug"]
        assert {f["name"] for f in snapshot["custom_fields"]} == {"Size", "Area"}
        seen = int(snapshot["as_of_seq"])
        await bob.close()
        await _ok(alice, "delete_label", {"label_id": board["label"]["id"]})
        bob = await _client(server, "bob", encoding)
        _, caught_up = await _ok(
            bob, "get_changes", {"since_seq": seen, "project_ids": [board["project"]["id"]]}
        )
        names = [payload(event)[0] for event in caught_up["events"]]
        assert names == ["label_deleted"]
        _, now = await _ok(bob, "get_project", {"project_id": board["project"]["id"]})
        assert now.get("labels", []) == []
        item = next(i for i in now["work_items"] if i["id"] == board["item"]["id"])
        assert item.get("labels", []) == []
    finally:
        await alice.close()
        await bob.close()


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
async def test_a_saved_view_is_listed_and_runs_as_its_search(
    server: LiveServer, encoding: str
) -> None:
    alice, bob = await _client(server, "alice", encoding), await _client(server, "bob", encoding)
    try:
        board = await _board(alice, "bob")
        project_id = board["project"]["id"]
        _, other = await _ok(
            alice, "create_work_item", {"item_type": "task", "parent_id": project_id, "title": "O"}
        )
        await _ok(
            alice,
            "update_work_item",
            {"work_item_id": board["item"]["id"], "expected_version": 1, "add_labels": ["bug"]},
        )
        _, saved = await _ok(
            alice,
            "save_view",
            {
                "project_id": project_id,
                "name": "Bugs",
                "filters": {
                    "labels": ["bug"],
                    "fields": [{"field_id": board["area"]["id"], "value": "ops"}],
                },
                "sort": "-due_date",
                "shared": True,
            },
        )
        view = saved["view"]
        assert view["filters"]["labels"] == [board["label"]["id"]]
        _, listed = await _ok(bob, "list_views", {"project_id": project_id})
        assert [v["name"] for v in listed["views"]] == ["Bugs"]
        _, found = await _ok(bob, "search_work_items", {"view_id": view["id"], "limit": 50})
        assert [hit["work_item"]["id"] for hit in found["hits"]] == [board["item"]["id"]]
        _, wider = await _ok(
            bob, "search_work_items", {"project_id": project_id, "sort": "title", "limit": 50}
        )
        assert other["work_item"]["id"] in [hit["work_item"]["id"] for hit in wider["hits"]]
        name, refused = payload(
            await bob.request("save_view", {"project_id": project_id, "name": "X", "sort": "mood"})
        )
        assert (name, refused["code"], refused["field"]) == ("error", "VALIDATION_ERROR", "sort")
    finally:
        await alice.close()
        await bob.close()


async def test_another_tenant_sees_none_of_it(server: LiveServer) -> None:
    alice = await _client(server, "alice", "json")
    stranger = await _client(server, "alice", "json", tenant="bystander")
    try:
        _, made = await _ok(stranger, "create_work_item", {"item_type": "project", "title": "Q"})
        theirs = made["work_item"]
        await _ok(stranger, "subscribe", {"project_ids": [theirs["id"]]})
        board = await _board(alice, "bob")
        name, refused = payload(
            await stranger.request("delete_label", {"label_id": board["label"]["id"]})
        )
        assert (name, refused["code"]) == ("error", "NOT_FOUND")
        name, refused = payload(
            await stranger.request(
                "search_work_items", {"labels": [board["label"]["id"]], "limit": 10}
            )
        )
        assert (name, refused["code"]) == ("error", "NOT_FOUND")
        _, own = await _ok(stranger, "get_project", {"project_id": theirs["id"]})
        assert own.get("labels", []) == [] and own.get("custom_fields", []) == []
        assert [payload(e)[0] for e in stranger.events if "presence_changed" not in e] == []
    finally:
        await alice.close()
        await stranger.close()
