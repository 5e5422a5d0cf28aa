"""What one user can make the server do, over real sockets (issue 14): a bounded cycle check,
no write to another's project, one request budget per user, refusals that write nothing and
say no more for a hidden entity than for an absent one, and tenant budgets."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pm.auth import issue_token
from pm.config import load_settings
from tests.conftest import TEST_SECRET, LiveServer, start_server

from .client import Client, payload

WALK_LIMIT = 20
BURST = 30


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        dependency_walk_limit=WALK_LIMIT,
        ws_rate_limit="100000/minute",
        max_tenants=2,
    )
    live = start_server(settings)
    yield live
    live.stop()


@pytest.fixture
def tight(tmp_path: Path) -> Iterator[LiveServer]:
    """A small request budget, so a burst is refused."""
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        ws_rate_limit=f"{BURST}/minute",
        rest_rate_limit="1000/minute",
        ws_abuse_close_after=5,
    )
    live = start_server(settings)
    yield live
    live.stop()


def _token(user: str, tenant: str = "acme") -> str:
    return issue_token(TEST_SECRET, tenant_id=tenant, user_id=user)


async def _create(client: Client, **body: Any) -> dict[str, Any]:
    name, value = payload(await client.request("create_work_item", body))
    assert name == "work_item_created", value
    return dict(value["work_item"])


def _error(frame: dict[str, Any]) -> dict[str, Any]:
    name, body = payload(frame)
    assert name == "error", frame
    return {key: value for key, value in body.items() if key != "current_version"}


async def test_the_cycle_check_is_bounded_and_refuses_past_its_limit(server: LiveServer) -> None:
    client = await Client.open(server.ws, _token("alice", "graph"))
    try:
        project = await _create(client, item_type="project", title="P")
        chain = [await _create(client, item_type="task", parent_id=project["id"], title="0")]
        while len(chain) < 4:
            chain.append(
                await _create(client, item_type="task", parent_id=project["id"], title="x")
            )
        for a, b in itertools.pairwise(chain):
            await client.request(
                "create_dependency", {"blocking_item_id": a["id"], "blocked_item_id": b["id"]}
            )
        closing = await client.request(
            "create_dependency",
            {"blocking_item_id": chain[-1]["id"], "blocked_item_id": chain[0]["id"]},
        )
        refused = _error(closing)
        assert refused["code"] == "CYCLE_DETECTED"
        assert refused["path"] == [item["id"] for item in chain] + [chain[0]["id"]]
    finally:
        await client.close()


async def test_a_dependency_graph_past_the_walk_limit_is_refused_not_walked(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        dependency_walk_limit=WALK_LIMIT,
        ws_rate_limit="100000/minute",
    )
    live = start_server(settings)
    client = await Client.open(live.ws, _token("alice", "graph"))
    try:
        project = await _create(client, item_type="project", title="P")
        hub = await _create(client, item_type="task", parent_id=project["id"], title="hub")
        for n in range(WALK_LIMIT + 5):  # hub blocks more items than the walk may visit
            leaf = await _create(client, item_type="task", parent_id=project["id"], title=f"{n}")
            await client.request(
                "create_dependency", {"blocking_item_id": hub["id"], "blocked_item_id": leaf["id"]}
            )
        outsider = await _create(client, item_type="task", parent_id=project["id"], title="o")
        before = payload(await client.request("get_changes", {"since_seq": 0, "limit": 500}))[1]
        refused = _error(
            await client.request(
                "create_dependency",
                {"blocking_item_id": outsider["id"], "blocked_item_id": hub["id"]},
            )
        )
        assert refused["code"] == "VALIDATION_ERROR" and refused["field"] == "blocked_item_id"
        assert str(WALK_LIMIT) in refused["message"]
        after = payload(await client.request("get_changes", {"since_seq": 0, "limit": 500}))[1]
        assert after["as_of_seq"] == before["as_of_seq"]  # nothing written
    finally:
        await client.close()
        live.stop()


async def test_no_command_writes_a_project_the_caller_cannot_edit(server: LiveServer) -> None:
    alice = await Client.open(server.ws, _token("alice"))
    mallory = await Client.open(server.ws, _token("mallory"))
    try:
        theirs = await _create(alice, item_type="project", title="alice's")
        mine = [await _create(mallory, item_type="project", title=f"m{n}") for n in range(3)]
        refused = _error(
            await mallory.request(
                "move_work_item",
                {"work_item_id": mine[0]["id"], "expected_version": 1, "after_id": mine[2]["id"]},
            )
        )
        assert refused["code"] == "VALIDATION_ERROR" and refused["field"] == "after_id"
        for n in range(60):  # creating projects never reorders, nor writes, anyone's
            await _create(mallory, item_type="project", title=f"more {n}")
        snapshot = payload(await alice.request("get_project", {"project_id": theirs["id"]}))[1]
        assert snapshot["project"]["version"] == 1
        assert snapshot["project"]["updated_by"] == "alice"
    finally:
        await alice.close()
        await mallory.close()


async def test_hidden_and_absent_get_the_same_answer(server: LiveServer) -> None:
    alice = await Client.open(server.ws, _token("alice"))
    mallory = await Client.open(server.ws, _token("mallory"))
    try:
        hidden_project = await _create(alice, item_type="project", title="hidden")
        hidden = await _create(alice, item_type="task", parent_id=hidden_project["id"], title="h")
        own_project = await _create(mallory, item_type="project", title="own")
        own = await _create(mallory, item_type="task", parent_id=own_project["id"], title="o")
        absent = str(uuid.uuid4())

        async def both(name: str, body_for: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            return (
                _error(await mallory.request(name, body_for(hidden["id"]))),
                _error(await mallory.request(name, body_for(absent))),
            )

        cases = {
            "update_work_item": lambda i: {"work_item_id": i, "expected_version": 1, "title": "x"},
            "delete_work_item": lambda i: {"work_item_id": i, "expected_version": 1},
            "get_comments": lambda i: {"work_item_id": i},
            "create_comment": lambda i: {"work_item_id": i, "content": "x"},
            "move_work_item": lambda i: {
                "work_item_id": own["id"],
                "expected_version": 1,
                "before_id": i,
            },
        }
        for name, body in cases.items():
            seen_hidden, seen_absent = await both(name, body)
            assert seen_hidden == seen_absent, name
        task = {"item_type": "task", "title": "t"}
        as_parent = [
            _error(await mallory.request("create_work_item", {**task, "parent_id": parent}))
            for parent in (hidden["id"], absent)
        ]
        assert as_parent[0] == as_parent[1]
        # A client-chosen id already taken: one answer, visible row or not, naming neither.
        taken = [
            _error(
                await mallory.request(
                    "create_work_item", {**task, "id": item_id, "parent_id": own_project["id"]}
                )
            )
            for item_id in (hidden["id"], own["id"])
        ]
        assert taken[0] == taken[1] and taken[0]["field"] == "id"
        assert "exist" not in taken[0]["message"]
    finally:
        await alice.close()
        await mallory.close()


async def test_a_message_id_over_the_bound_is_refused_and_writes_nothing(
    server: LiveServer,
) -> None:
    client = await Client.open(server.ws, _token("alice", "ids"))
    try:
        project = await _create(client, item_type="project", title="P")
        long_ids = ["x" * 128 + suffix for suffix in ("-first", "-second")]
        for message_id in long_ids:
            await client.send_raw(
                {
                    "message_id": message_id,
                    "create_work_item": {
                        "item_type": "task",
                        "parent_id": project["id"],
                        "title": message_id[-6:],
                    },
                }
            )
            answer = await client.recv()
            assert answer["message_id"] == message_id  # echoed whole, never cut
            assert _error(answer)["field"] == "message_id"
        items = payload(await client.request("get_work_items", {"project_id": project["id"]}))[1]
        assert [item["id"] for item in items["work_items"]] == [project["id"]]
    finally:
        await client.close()


async def test_the_request_budget_is_per_user_across_sockets_and_doors(tight: LiveServer) -> None:
    server = tight
    first = await Client.open(server.ws, _token("alice"))
    second = await Client.open(server.ws, _token("alice"))
    try:
        answers = []
        for n in range(BURST + 4):
            client = first if n % 2 else second
            answers.append(payload(await client.request("list_projects"))[0])
        assert answers.count("projects_list") == BURST  # two sockets, one budget
        reconnected = await Client.open(server.ws, _token("alice"))
        assert payload(await reconnected.request("list_projects"))[1]["code"] == "RATE_LIMITED"
        await reconnected.close()
        headers = {"Authorization": f"Bearer {_token('alice')}"}
        async with httpx.AsyncClient(base_url=server.http) as http:
            assert (await http.get("/api/v1/projects", headers=headers)).status_code == 200
        # REST's own window is larger; its requests still spend from the WebSocket window.
        bob = await Client.open(server.ws, _token("bob"))
        async with httpx.AsyncClient(base_url=server.http) as http:
            for _ in range(BURST):
                await http.get(
                    "/api/v1/projects", headers={"Authorization": f"Bearer {_token('bob')}"}
                )
        assert payload(await bob.request("list_projects"))[1]["code"] == "RATE_LIMITED"
        await bob.close()
    finally:
        await first.close()
        await second.close()


async def test_frames_that_do_not_decode_are_charged_and_closed_for_abuse(
    tight: LiveServer,
) -> None:
    client = await Client.open(tight.ws, _token("eve", "noise"))
    codes = []
    for _ in range(BURST + 10):
        await client.conn.send("{not json")
    try:
        while True:
            codes.append(_error(await client.recv())["code"])
    except Exception as closed:  # the server closes: 1008 once refusals kept coming
        assert "1008" in str(closed)
    assert codes[:BURST] == ["INVALID_MESSAGE"] * BURST
    assert set(codes[BURST:]) == {"RATE_LIMITED"}


async def test_provisioning_is_capped_and_a_refused_tenant_leaves_no_file(
    server: LiveServer,
) -> None:
    tenants_root = server.settings.data_dir / "tenants"
    for n in range(2):  # the cap
        client = await Client.open(server.ws, _token("u", f"t{n}"))
        await client.close()
    headers = {"Authorization": f"Bearer {_token('u', 'one-too-many')}"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        answer = await http.get("/api/v1/projects", headers=headers)
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "QUOTA_EXCEEDED"
    assert answer.json()["error"]["budget"] == "provisioning"
    assert not (tenants_root / "one-too-many").exists()


async def test_the_storage_and_write_budgets_refuse_with_quota_exceeded(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        ws_rate_limit="100000/minute",
        tenant_write_bytes_per_hour=256 * 1024,
    )
    live = start_server(settings)
    client = await Client.open(live.ws, _token("alice", "grow"))
    try:
        project = await _create(client, item_type="project", title="P")
        big = {"item_type": "task", "parent_id": project["id"], "title": "t"}
        refusal: dict[str, Any] = {}
        for _ in range(40):
            name, body = payload(
                await client.request("create_work_item", {**big, "description": "d" * 50_000})
            )
            if name == "error":
                refusal = body
                break
        assert refusal["code"] == "QUOTA_EXCEEDED" and refusal["budget"] == "writes"
        assert int(refusal["retry_after_ms"]) > 0
        before = payload(await client.request("get_changes", {"since_seq": 0, "limit": 500}))[1]
        again = payload(await client.request("create_work_item", {**big, "description": "x"}))
        assert again[0] == "error" and again[1]["code"] == "QUOTA_EXCEEDED"
        after = payload(await client.request("get_changes", {"since_seq": 0, "limit": 500}))[1]
        assert after["as_of_seq"] == before["as_of_seq"]
    finally:
        await client.close()
        live.stop()
    stored = json.dumps(refusal)
    assert "Traceback" not in stored
