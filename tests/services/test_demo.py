from __future__ import annotations

from pm.demo import seed_demo
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.projects import project_snapshot
from pm.services.time_entries import get_time_entries


async def test_demo_project_has_everything_a_newcomer_explores(runner: ServiceRunner) -> None:
    ctx = RequestContext(tenant_id="demo", user_id="demo-user", roles=frozenset({"admin"}))
    project = await seed_demo(runner, ctx)
    snapshot = await runner.query(ctx, project_snapshot, project_id=project["id"])
    items = snapshot["work_items"]
    assert {i["item_type"] for i in items} == {"project", "epic", "story", "task"}
    assert len({i["status"] for i in items}) >= 4
    assert [s["status"] for s in snapshot["sprints"]] == ["active"]
    assert any(i["is_blocked"] for i in items)
    # three people to try roles and presence with: the admin who made it, an editor, a viewer
    roles = {m["user_id"]: m["role"] for m in snapshot["members"]}
    assert roles == {"demo-user": "admin", "sam": "editor", "kim": "viewer"}
    assert len(snapshot["dependencies"]) == 2
    running = [
        e
        for i in items
        if i["item_type"] == "task"
        for e in (await runner.query(ctx, get_time_entries, work_item_id=i["id"]))["time_entries"]
        if e["ended_at"] is None
    ]
    assert len(running) == 1
