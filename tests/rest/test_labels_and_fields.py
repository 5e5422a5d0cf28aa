"""Labels, custom fields and saved views over REST on a real server: GET /api/v1/work-items
filtered by `label`, `field` conditions (parsed at the door, read by the field's type in the
service), `sort` and `view_id`; items carry their labels and values; the context lists the
project's labels and fields (JSON and Markdown); every bad filter is refused with its code."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pm.config import load_settings
from pm.services import custom_fields, labels, saved_views
from pm.wiring import build_components
from tests.conftest import TEST_SECRET, LiveServer, start_server
from tests.rest.conftest import bearer
from tests.services.factories import ctx_for, make_item, make_project

Seeded = tuple[LiveServer, dict[str, Any]]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("tags-rest") / "data", jwt_secret=TEST_SECRET
    )
    components = build_components(settings)

    async def seed() -> dict[str, Any]:
        alice, run = ctx_for("alice"), components.services
        project = await make_project(run, alice, "Tagged")
        await run.command(alice, labels.create_label, project_id=project["id"], name="Bug")
        size = await run.command(
            alice,
            custom_fields.create_custom_field,
            project_id=project["id"],
            name="Size",
            field_type="number",
        )
        await run.command(
            alice,
            custom_fields.create_custom_field,
            project_id=project["id"],
            name="Shipped",
            field_type="date",
        )
        for title, more in (
            ("Big bug", {"labels": ["bug"], "custom_fields": {"size": 8, "shipped": "2026-03-02"}}),
            ("Small bug", {"labels": ["bug"], "custom_fields": {"size": 1}}),
            ("Big chore", {"custom_fields": {"size": 9}}),
            ("Bare", {}),
        ):
            await make_item(run, alice, project, title=title, **more)
        view = await run.command(
            alice,
            saved_views.save_view,
            project_id=project["id"],
            name="Big bugs",
            filters={"labels": ["bug"], "fields": [{"field_id": "size", "low": "5"}]},
        )
        return {
            "project": project,
            "size": size.payload["custom_field"],
            "view": view.payload["view"],
        }

    try:
        seeded = asyncio.run(seed())
    finally:
        components.tenants.close()
    server = start_server(settings)
    yield server, seeded
    server.stop()


def _get(server: LiveServer, path: str, params: Any = None) -> httpx.Response:
    return httpx.get(server.http + path, params=params, headers=bearer("alice"), timeout=30)


def _titles(server: LiveServer, params: Any) -> list[str]:
    response = _get(server, "/api/v1/work-items", params)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


def test_work_items_filter_by_label_and_field_conditions(served: Seeded) -> None:
    server, seeded = served
    project_id = seeded["project"]["id"]
    assert _titles(server, [("project_id", project_id), ("label", "bug")]) == [
        "Big bug",
        "Small bug",
    ]
    assert _titles(
        server,
        [("project_id", project_id), ("label", "Bug"), ("field", "Size>=5"), ("field", "size<=8")],
    ) == ["Big bug"]
    assert _titles(server, [("project_id", project_id), ("field", "Shipped=2026-03-02")]) == [
        "Big bug"
    ]
    assert _titles(
        server, [("project_id", project_id), ("item_type", "task"), ("sort", "-field:size")]
    ) == ["Big chore", "Big bug", "Small bug", "Bare"]
    assert _titles(server, [("view_id", seeded["view"]["id"])]) == ["Big bug"]


def test_items_carry_their_labels_and_values(served: Seeded) -> None:
    server, seeded = served
    found = _get(
        server, "/api/v1/work-items", [("project_id", seeded["project"]["id"]), ("q", "Big bug")]
    ).json()
    item = found["items"][0]
    assert len(item["labels"]) == 1
    assert item["custom_fields"][seeded["size"]["id"]] == 8.0


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ([("field", "Size")], 422, "VALIDATION_ERROR"),  # no operator
        ([("field", "Size=many")], 422, "VALIDATION_ERROR"),  # not a number
        ([("field", "Shipped>=2026-02-30")], 422, "VALIDATION_ERROR"),  # no such day
        ([("field", "Nope=1")], 404, "NOT_FOUND"),
        ([("label", "nope")], 404, "NOT_FOUND"),
        ([("sort", "mood")], 422, "VALIDATION_ERROR"),
        ([("view_id", "nope")], 404, "NOT_FOUND"),
    ],
)
def test_bad_filters_are_refused_with_their_code(
    served: Seeded, params: list[tuple[str, str]], status: int, code: str
) -> None:
    server, seeded = served
    response = _get(
        server, "/api/v1/work-items", [("project_id", seeded["project"]["id"]), *params]
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_context_lists_labels_and_fields(served: Seeded) -> None:
    server, seeded = served
    path = f"/api/v1/projects/{seeded['project']['id']}/context"
    context = _get(server, path).json()
    assert [label["name"] for label in context["labels"]] == ["Bug"]
    assert {field["name"]: field["field_type"] for field in context["custom_fields"]} == {
        "Shipped": "date",
        "Size": "number",
    }
    by_title = {item["title"]: item for item in context["work_items"]}
    assert by_title["Big bug"]["labels"] == ["Bug"]
    assert by_title["Big bug"]["custom_fields"] == {"Size": 8.0, "Shipped": "2026-03-02"}
    markdown = _get(server, path, {"format": "markdown"}).text
    assert "- Size (number)" in markdown
    line = next(line for line in markdown.splitlines() if "Big bug" in line)
    assert "#Bug" in line and "Size: 8" in line and "Shipped: 2026-03-02" in line
