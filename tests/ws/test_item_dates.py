"""Start and due dates over a real server, in both encodings: set, merged with another
person's change at the same version, cleared, and refused with the field named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pm.auth import issue_token
from pm.config import load_settings
from tests.conftest import TEST_SECRET, LiveServer, start_server

from .client import Client, payload


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("dates-ws") / "data", jwt_secret=TEST_SECRET
    )
    live = start_server(settings)
    yield live
    live.stop()


async def _client(server: LiveServer, user: str, encoding: str) -> Client:
    token = issue_token(TEST_SECRET, tenant_id="acme", user_id=user)
    return await Client.open(server.ws, token, encoding)


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
async def test_dates_travel_and_merge_with_another_field(server: LiveServer, encoding: str) -> None:
    alice = await _client(server, "alice", encoding)
    try:
        _, made = payload(
            await alice.request("create_work_item", {"item_type": "project", "title": "P"})
        )
        project = made["work_item"]
        _, made = payload(
            await alice.request(
                "create_work_item",
                {
                    "item_type": "task",
                    "parent_id": project["id"],
                    "title": "T",
                    "due_date": "2000-01-10",
                },
            )
        )
        item = made["work_item"]
        assert (item["due_date"], item["is_overdue"]) == ("2000-01-10", True)
        await alice.request(
            "update_work_item",
            {"work_item_id": item["id"], "expected_version": 1, "priority": "high"},
        )
        name, merged = payload(
            await alice.request(
                "update_work_item",
                {"work_item_id": item["id"], "expected_version": 1, "start_date": "2000-01-03"},
            )
        )
        assert name == "work_item_updated"
        view = merged["work_item"]
        assert (view["start_date"], view["due_date"], view["priority"]) == (
            "2000-01-03",
            "2000-01-10",
            "high",
        )
        name, cleared = payload(
            await alice.request(
                "update_work_item",
                {"work_item_id": item["id"], "expected_version": 3, "due_date": ""},
            )
        )
        assert "due_date" not in cleared["work_item"] or cleared["work_item"]["due_date"] is None
        assert not cleared["work_item"].get("is_overdue", False)
        name, error = payload(
            await alice.request(
                "update_work_item",
                {"work_item_id": item["id"], "expected_version": 4, "due_date": "1999-12-31"},
            )
        )
        assert (name, error["code"], error["field"]) == ("error", "VALIDATION_ERROR", "due_date")
    finally:
        await alice.close()
