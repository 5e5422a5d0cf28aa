from __future__ import annotations

from pm.services import work_items
from pm.services.runner import ServiceRunner
from tests.services.factories import ctx_for, make_item, make_project


async def test_create_and_update_roundtrip(runner: ServiceRunner) -> None:
    ctx = ctx_for()
    project = await make_project(runner, ctx)
    task = await make_item(runner, ctx, project, title="First")
    out = await runner.command(
        ctx,
        work_items.update_work_item,
        work_item_id=task["id"],
        expected_version=1,
        fields={"title": "Renamed"},
    )
    assert out.payload["work_item"]["version"] == 2
    assert out.payload["changes"] == [
        {"field": "title", "old_value": "First", "new_value": "Renamed"}
    ]
    got = await runner.query(ctx, work_items.get_work_item, work_item_id=task["id"])
    assert got["title"] == "Renamed"
