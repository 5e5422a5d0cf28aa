"""Both doors page every bounded list the same way: the WebSocket request takes the answer's
``next_cursor`` as ``cursor`` (protobuf frames here, the board's encoding), the REST endpoint
as ``?cursor=``; the snapshot's members go on with ListMembers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pm.config import Settings, load_settings
from tests.conftest import TEST_SECRET, LiveServer, TokenFactory, start_server

from .client import Client, payload

PAGE = 2


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings: Settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        max_page_size=PAGE,
        default_page_size=PAGE,
        snapshot_max_items=PAGE,
    )
    server = start_server(settings)
    yield server
    server.stop()


async def _ws_pages(client: Client, name: str, body: dict[str, Any], rows: str) -> list[Any]:
    got: list[Any] = []
    cursor: str | None = None
    while True:
        request = {**body, **({"cursor": cursor} if cursor else {})}
        answer = payload(await client.request(name, request))[1]
        assert len(answer.get(rows, [])) <= PAGE
        got += answer.get(rows, [])
        cursor = answer.get("next_cursor")
        assert bool(answer.get("has_more")) is (cursor is not None)
        if cursor is None:
            return got


def _rest_pages(http: httpx.Client, path: str, rows: str) -> list[Any]:
    got: list[Any] = []
    params: dict[str, str] = {}
    while True:
        answer = http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        got += answer.json()[rows]
        if answer.json()["next_cursor"] is None:
            return got
        params = {"cursor": answer.json()["next_cursor"]}


async def test_every_list_pages_over_both_doors(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    token = make_token("alice")
    client = await Client.open(live_server.ws, token, "protobuf")
    try:
        made = await client.request("create_work_item", {"item_type": "project", "title": "P"})
        project = payload(made)[1]["work_item"]["id"]
        for title in ("Q", "R"):
            await client.request("create_work_item", {"item_type": "project", "title": title})
        for user in ("bob", "carol", "dave"):
            body = {"project_id": project, "user_id": user, "role": "viewer"}
            await client.request("add_member", body)
        tasks = []
        for n in range(3):
            body = {"item_type": "task", "parent_id": project, "title": f"t{n}"}
            tasks.append(payload(await client.request("create_work_item", body))[1]["work_item"])
        for n in range(5):
            body = {"work_item_id": tasks[0]["id"], "content": f"c{n}"}
            await client.request("create_comment", body)
        for other in tasks[1:]:
            body = {"blocking_item_id": other["id"], "blocked_item_id": tasks[0]["id"]}
            await client.request("create_dependency", body)

        projects = await _ws_pages(client, "list_projects", {}, "projects")
        assert [p["title"] for p in projects] == ["P", "Q", "R"]
        item = {"work_item_id": tasks[0]["id"]}
        contents = [c["content"] for c in await _ws_pages(client, "get_comments", item, "comments")]
        assert contents == [f"c{n}" for n in range(5)]
        blocking = await _ws_pages(client, "get_dependencies", item, "blocking")
        assert sorted(d["blocking_item_id"] for d in blocking) == sorted(t["id"] for t in tasks[1:])
        listed = await _ws_pages(client, "list_members", {"project_id": project}, "members")
        assert [m["user_id"] for m in listed] == ["alice", "bob", "carol", "dave"]

        snapshot = payload(await client.request("get_project", {"project_id": project}))[1]
        assert len(snapshot["members"]) == PAGE and snapshot["has_more"] is True
        rest = payload(
            await client.request(
                "list_members", {"project_id": project, "cursor": snapshot["members_next_cursor"]}
            )
        )[1]
        assert [m["user_id"] for m in snapshot["members"] + rest["members"]] == [
            m["user_id"] for m in listed
        ]
    finally:
        await client.close()

    _rest_door(live_server.http, token, project, tasks[0]["id"])


def _rest_door(url: str, token: str, project: str, task_id: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, trust_env=False) as http:
        assert [p["title"] for p in _rest_pages(http, "/api/v1/projects", "projects")] == [
            "P",
            "Q",
            "R",
        ]
        base = f"/api/v1/work-items/{task_id}"
        assert [c["content"] for c in _rest_pages(http, f"{base}/comments", "comments")] == [
            f"c{n}" for n in range(5)
        ]
        detail = http.get(base).json()
        assert [c["content"] for c in detail["comments"]] == ["c0", "c1"]
        more = http.get(f"{base}/comments", params={"cursor": detail["comments_next_cursor"]})
        assert [c["content"] for c in more.json()["comments"]] == ["c2", "c3"]
        members = _rest_pages(http, f"/api/v1/projects/{project}/members", "members")
        assert len(members) == 4
        assert len(_rest_pages(http, f"{base}/dependencies", "blocking")) == 2
        time_page = http.get(f"{base}/time-entries").json()
        assert time_page == {
            "time_entries": [],
            "total_seconds": 0,
            "by_user": [],
            "has_more": False,
            "next_cursor": None,
        }
        children = _rest_pages(http, f"/api/v1/work-items/{project}/children", "items")
        assert [c["title"] for c in children] == ["t0", "t1", "t2"]
