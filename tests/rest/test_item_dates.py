"""Dates over REST on a real server: the due-date range filter of GET /api/v1/work-items, and
the dates with overdue in the project context (JSON and Markdown)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pm.config import load_settings
from pm.wiring import build_components
from tests.conftest import TEST_SECRET, LiveServer, start_server
from tests.rest.conftest import bearer
from tests.services.factories import ctx_for, make_item, make_project


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("dates-rest") / "data", jwt_secret=TEST_SECRET
    )
    components = build_components(settings)

    async def seed() -> str:
        alice = ctx_for("alice")
        project = await make_project(components.services, alice, "Dated")
        for title, due in (
            ("Early", "2000-01-05"),
            ("Middle", "2000-01-15"),
            ("Late", "2999-01-25"),
        ):
            await make_item(components.services, alice, project, title=title, due_date=due)
        await make_item(components.services, alice, project, title="Undated")
        return str(project["id"])

    try:
        project_id = asyncio.run(seed())
    finally:
        components.tenants.close()
    server = start_server(settings)
    yield server, project_id
    server.stop()


def _get(server: LiveServer, path: str, **params: Any) -> httpx.Response:
    return httpx.get(server.http + path, params=params, headers=bearer("alice"), timeout=30)


def test_work_items_filter_by_a_due_range(served: tuple[LiveServer, str]) -> None:
    server, project_id = served
    found = _get(
        server,
        "/api/v1/work-items",
        project_id=project_id,
        due_from="2000-01-05",
        due_to="2000-01-15",
    ).json()
    assert [item["title"] for item in found["items"]] == ["Early", "Middle"]
    assert all(item["is_overdue"] for item in found["items"])


@pytest.mark.parametrize("value", ["0", "2000-13-01", "Jan 5"])
def test_a_bad_due_date_filter_is_422(served: tuple[LiveServer, str], value: str) -> None:
    server, project_id = served
    response = _get(server, "/api/v1/work-items", project_id=project_id, due_from=value)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_context_gives_dates_and_overdue(served: tuple[LiveServer, str]) -> None:
    server, project_id = served
    context = _get(server, f"/api/v1/projects/{project_id}/context").json()
    by_title = {item["title"]: item for item in context["work_items"]}
    assert (by_title["Early"]["due_date"], by_title["Early"]["is_overdue"]) == ("2000-01-05", True)
    assert (by_title["Late"]["due_date"], by_title["Late"]["is_overdue"]) == ("2999-01-25", False)
    assert by_title["Undated"]["due_date"] is None
    markdown = _get(server, f"/api/v1/projects/{project_id}/context", format="markdown").text
    assert "Early (backlog, due 2000-01-05 OVERDUE)" in markdown
    assert "Late (backlog, due 2999-01-25)" in markdown
