"""Workflow states over REST on a real server: the list, the context (JSON and Markdown) and a
status filter by a project's own state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pm.config import load_settings
from pm.services import workflow_states
from pm.wiring import build_components
from tests.conftest import TEST_SECRET, LiveServer, start_server
from tests.rest.conftest import bearer
from tests.services.factories import ctx_for, make_item, make_project


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("states-rest") / "data", jwt_secret=TEST_SECRET
    )
    components = build_components(settings)

    async def seed() -> str:
        alice = ctx_for("alice")
        project = await make_project(components.services, alice, "Stated")
        await components.services.command(
            alice,
            workflow_states.create_state,
            project_id=project["id"],
            name="Shipped",
            category="completed",
        )
        await make_item(components.services, alice, project, title="Out", status="shipped")
        await make_item(components.services, alice, project, title="Still open", status="todo")
        return str(project["id"])

    try:
        project_id = asyncio.run(seed())
    finally:
        components.tenants.close()
    server = start_server(settings)
    yield server, project_id
    server.stop()


def _get(server: LiveServer, path: str, user: str = "alice", **params: Any) -> httpx.Response:
    return httpx.get(server.http + path, params=params, headers=bearer(user), timeout=30)


def test_the_states_of_a_project_in_board_order(served: tuple[LiveServer, str]) -> None:
    server, project_id = served
    response = _get(server, f"/api/v1/projects/{project_id}/states")
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == project_id
    assert [(s["key"], s["category"]) for s in body["states"]] == [
        ("backlog", "backlog"),
        ("todo", "unstarted"),
        ("in_progress", "started"),
        ("review", "review"),
        ("done", "completed"),
        ("shipped", "completed"),
    ]
    hidden = _get(server, f"/api/v1/projects/{project_id}/states", user="mallory")
    assert hidden.status_code == 404


def test_the_context_has_the_states_and_counts_by_category(
    served: tuple[LiveServer, str],
) -> None:
    server, project_id = served
    context = _get(server, f"/api/v1/projects/{project_id}/context").json()
    assert [s["key"] for s in context["states"]][-1] == "shipped"
    assert context["counts"]["by_category"] == {"completed": 1, "unstarted": 1}
    assert context["counts"]["by_status"] == {"shipped": 1, "todo": 1}
    markdown = _get(server, f"/api/v1/projects/{project_id}/context", format="markdown").text
    assert "## Workflow states" in markdown
    assert "- `shipped` Shipped (completed)" in markdown
    assert "- by category: completed 1, unstarted 1" in markdown


def test_a_status_filter_takes_a_projects_own_state(served: tuple[LiveServer, str]) -> None:
    server, project_id = served
    found = _get(server, "/api/v1/work-items", project_id=project_id, status="shipped").json()
    assert [item["title"] for item in found["items"]] == ["Out"]
    none = _get(server, "/api/v1/work-items", project_id=project_id, status="launched").json()
    assert none["items"] == []
    bad = _get(server, "/api/v1/work-items", status="Shipped!")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"
