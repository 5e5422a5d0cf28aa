"""Workflow states over a real server, in both encodings: managed by admins, live to every
subscriber, refused with their codes, idempotent by message_id, and a client that was away
converges exactly by replaying GetChanges."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pm.auth import issue_token
from pm.config import load_settings
from tests.conftest import TEST_SECRET, LiveServer, start_server

from .client import Client, payload

ENCODINGS = ["json", "protobuf"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("states-ws") / "data", jwt_secret=TEST_SECRET
    )
    live = start_server(settings)
    yield live
    live.stop()


async def _client(server: LiveServer, user: str, encoding: str, tenant: str = "acme") -> Client:
    token = issue_token(TEST_SECRET, tenant_id=tenant, user_id=user)
    return await Client.open(server.ws, token, encoding)


async def _ok(client: Client, name: str, body: dict[str, Any]) -> tuple[str, Any]:
    answer = payload(await client.request(name, body))
    assert answer[0] != "error", answer
    return answer


async def _project(alice: Client, *members: tuple[str, str]) -> dict[str, Any]:
    _, made = await _ok(
        alice, "create_work_item", {"item_type": "project", "title": f"P {uuid.uuid4()}"}
    )
    project = made["work_item"]
    for user, role in members:
        await _ok(alice, "add_member", {"project_id": project["id"], "user_id": user, "role": role})
    return project  # type: ignore[no-any-return]


async def _next_event(client: Client, name: str) -> dict[str, Any]:
    while True:
        found, body = payload(await client.event())
        if found == name:
            return body  # type: ignore[no-any-return]


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_states_are_managed_by_admins_and_reach_every_subscriber(
    server: LiveServer, encoding: str
) -> None:
    alice = await _client(server, "alice", encoding)
    bob = await _client(server, "bob", encoding)
    try:
        project = await _project(alice, ("bob", "editor"))
        await _ok(bob, "subscribe", {"project_ids": [project["id"]]})
        name, created = await _ok(
            alice,
            "create_state",
            {"project_id": project["id"], "name": "Shipped", "category": "completed"},
        )
        state = created["state"]
        assert (name, state["key"], state["category"]) == ("state_created", "shipped", "completed")
        assert (await _next_event(bob, "state_created"))["state"]["id"] == state["id"]
        _, item = await _ok(
            bob,
            "create_work_item",
            {"item_type": "task", "parent_id": project["id"], "title": "T", "status": "shipped"},
        )
        assert item["work_item"]["status"] == "shipped"
        name, renamed = await _ok(
            alice,
            "update_state",
            {"state_id": state["id"], "expected_version": 1, "name": "Released"},
        )
        assert renamed["changes"] == [
            {"field": "name", "old_value": "Shipped", "new_value": "Released"}
        ]
        assert (await _next_event(bob, "state_updated"))["state"]["name"] == "Released"
        _, listed = await _ok(bob, "list_states", {"project_id": project["id"]})
        assert [s["key"] for s in listed["states"]][-1] == "shipped"
        _, snapshot = await _ok(bob, "get_project", {"project_id": project["id"]})
        assert snapshot["states"] == listed["states"]

        for request, body in (
            ("create_state", {"project_id": project["id"], "name": "X", "category": "started"}),
            ("update_state", {"state_id": state["id"], "expected_version": 2, "name": "Y"}),
            ("delete_state", {"state_id": state["id"], "move_items_to": "done"}),
        ):
            name, error = payload(await bob.request(request, body))
            assert (name, error["code"]) == ("error", "FORBIDDEN"), request
    finally:
        await alice.close()
        await bob.close()


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_refusals_carry_their_codes_and_fields(server: LiveServer, encoding: str) -> None:
    alice = await _client(server, "alice", encoding)
    try:
        project = await _project(alice)
        other = await _project(alice)
        _, made = await _ok(
            alice,
            "create_work_item",
            {"item_type": "task", "parent_id": project["id"], "title": "T", "status": "review"},
        )
        item = made["work_item"]
        _, listed = await _ok(alice, "list_states", {"project_id": project["id"]})
        _, elsewhere = await _ok(alice, "list_states", {"project_id": other["id"]})
        review = next(s for s in listed["states"] if s["key"] == "review")
        done = next(s for s in listed["states"] if s["key"] == "done")
        cases = [
            (
                "create_work_item",
                {"item_type": "task", "parent_id": project["id"], "title": "T", "status": "nope"},
                "VALIDATION_ERROR",
                "status",
            ),
            (
                "move_work_item",
                {"work_item_id": item["id"], "expected_version": 1, "status": "nope"},
                "VALIDATION_ERROR",
                "status",
            ),
            (
                "update_work_item",
                {"work_item_id": item["id"], "expected_version": 1, "status": "nope"},
                "VALIDATION_ERROR",
                "status",
            ),
            ("delete_state", {"state_id": review["id"]}, "DELETE_BLOCKED", "move_items_to"),
            (
                "delete_state",
                {"state_id": review["id"], "move_items_to": elsewhere["states"][0]["id"]},
                "VALIDATION_ERROR",
                "move_items_to",
            ),
            (
                "delete_state",
                {"state_id": done["id"], "move_items_to": "todo"},
                "DELETE_BLOCKED",
                "state_id",
            ),
            (
                "create_state",
                {"project_id": project["id"], "name": "QA", "category": "doing"},
                "VALIDATION_ERROR",
                "category",
            ),
        ]
        for request, body, code, field in cases:
            name, error = payload(await alice.request(request, body))
            assert (name, error["code"], error.get("field")) == ("error", code, field), request
        _, again = await _ok(alice, "list_states", {"project_id": project["id"]})
        assert again == listed  # nothing written
    finally:
        await alice.close()


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_retried_create_state_is_applied_once(server: LiveServer, encoding: str) -> None:
    alice = await _client(server, "alice", encoding)
    try:
        project = await _project(alice)
        envelope = {
            "message_id": str(uuid.uuid4()),
            "create_state": {"project_id": project["id"], "name": "QA", "category": "review"},
        }
        answers = []
        for _ in range(2):
            await alice.send_raw(envelope)
            answers.append(await alice.recv())
        assert payload(answers[0]) == payload(answers[1])
        assert answers[0]["seq"] == answers[1]["seq"]
        _, listed = await _ok(alice, "list_states", {"project_id": project["id"]})
        assert [s["key"] for s in listed["states"]].count("qa") == 1
    finally:
        await alice.close()


def _apply(
    states: dict[str, dict[str, Any]], statuses: dict[str, str], name: str, body: dict[str, Any]
) -> None:
    """What a client does with each event it replays."""
    if name in ("state_created", "state_updated"):
        states[body["state"]["id"]] = body["state"]
    elif name == "state_deleted":
        states.pop(body["state_id"])
    elif name in ("work_item_created", "work_item_updated"):
        statuses[body["work_item"]["id"]] = body["work_item"].get("status", "")


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_client_that_was_away_converges_through_get_changes(
    server: LiveServer, encoding: str
) -> None:
    alice = await _client(server, "alice", encoding)
    carol = await _client(server, "carol", encoding)
    try:
        project = await _project(alice, ("carol", "viewer"))
        items = []
        for status in ("todo", "review", "review"):
            _, made = await _ok(
                alice,
                "create_work_item",
                {"item_type": "task", "parent_id": project["id"], "title": "T", "status": status},
            )
            items.append(made["work_item"])
        _, snapshot = await _ok(carol, "get_project", {"project_id": project["id"]})
        states = {s["id"]: s for s in snapshot["states"]}
        statuses = {i["id"]: i["status"] for i in snapshot["work_items"]}
        since = int(snapshot["as_of_seq"])
        await carol.close()

        # while carol is away: a state added, one renamed and moved, one deleted with its items
        _, qa = await _ok(
            alice, "create_state", {"project_id": project["id"], "name": "QA", "category": "review"}
        )
        todo = next(s for s in snapshot["states"] if s["key"] == "todo")
        review = next(s for s in snapshot["states"] if s["key"] == "review")
        await _ok(
            alice,
            "update_state",
            {
                "state_id": todo["id"],
                "expected_version": 1,
                "name": "Next",
                "after_id": qa["state"]["id"],
            },
        )
        await _ok(alice, "delete_state", {"state_id": review["id"], "move_items_to": "qa"})

        carol = await _client(server, "carol", encoding)
        while True:
            _, changes = await _ok(
                carol,
                "get_changes",
                {"since_seq": since, "project_ids": [project["id"]], "limit": 3},
            )
            for event in changes.get("events", []):
                _apply(states, statuses, *payload(event))
            since = int(changes["as_of_seq"])
            if not changes.get("has_more"):
                break
        _, fresh = await _ok(carol, "get_project", {"project_id": project["id"]})
        assert states == {s["id"]: s for s in fresh["states"]}
        assert statuses == {i["id"]: i["status"] for i in fresh["work_items"]}
        assert [statuses[i["id"]] for i in items] == ["todo", "qa", "qa"]
        ordered = sorted(states.values(), key=lambda s: (s["position"], s["id"]))
        assert [s["name"] for s in ordered] == ["Backlog", "In Progress", "Done", "QA", "Next"]
    finally:
        await alice.close()
        await carol.close()


async def test_another_tenant_sees_nothing_of_it(server: LiveServer) -> None:
    alice = await _client(server, "alice", "json")
    outsider = await _client(server, "alice", "json", tenant="bystander")
    try:
        project = await _project(alice)
        _, created = await _ok(
            alice, "create_state", {"project_id": project["id"], "name": "QA", "category": "review"}
        )
        name, error = payload(
            await outsider.request(
                "update_state",
                {"state_id": created["state"]["id"], "expected_version": 1, "name": "Mine"},
            )
        )
        assert (name, error["code"]) == ("error", "NOT_FOUND")
        name, error = payload(await outsider.request("list_states", {"project_id": project["id"]}))
        assert (name, error["code"]) == ("error", "NOT_FOUND")
    finally:
        await alice.close()
        await outsider.close()
