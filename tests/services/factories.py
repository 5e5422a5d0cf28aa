"""Small factories for service-layer tests: real commands through a real ServiceRunner."""

from __future__ import annotations

import uuid
from typing import Any

from pm.services import work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.services.views import WorkItemView

JsonDict = dict[str, Any]  # an entity's view as a test holds it


def ctx_for(
    user_id: str = "alice",
    *,
    tenant_id: str = "acme",
    roles: tuple[str, ...] = (),
    message_id: str | None = None,
) -> RequestContext:
    return RequestContext(
        tenant_id=tenant_id,
        user_id=user_id,
        roles=frozenset(roles),
        message_id=message_id,
        name=user_id.title(),
        email=f"{user_id}@example.com",
    )


def with_message(ctx: RequestContext, message_id: str | None = None) -> RequestContext:
    return RequestContext(
        tenant_id=ctx.tenant_id,
        user_id=ctx.user_id,
        roles=ctx.roles,
        message_id=message_id or str(uuid.uuid4()),
        email=ctx.email,
        name=ctx.name,
        origin=ctx.origin,
    )


async def make_project(
    runner: ServiceRunner, ctx: RequestContext, title: str = "Apollo"
) -> JsonDict:
    outcome = await runner.command(
        ctx, work_items.create_work_item, item_type="project", title=title
    )
    return outcome.payload["work_item"]  # type: ignore[no-any-return]


async def make_item(
    runner: ServiceRunner,
    ctx: RequestContext,
    parent: JsonDict,
    item_type: str = "task",
    title: str = "Do it",
    **fields: Any,
) -> JsonDict:
    outcome = await runner.command(
        ctx,
        work_items.create_work_item,
        item_type=item_type,
        parent_id=parent["id"],
        title=title,
        **fields,
    )
    return outcome.payload["work_item"]  # type: ignore[no-any-return]


COUNTED_TABLES = (
    "work_items",
    "sprints",
    "comments",
    "time_entries",
    "dependencies",
    "swim_lanes",
    "workflow_states",
    "project_members",
    "activity_log",
    "change_feed",
    "labels",
    "item_labels",
    "custom_fields",
    "item_field_values",
    "saved_views",
    "search_documents",
)


def state_of(runner: ServiceRunner, tenant_id: str = "acme") -> dict[str, Any]:
    """Row counts, live rows and the feed's seq: equal before and after a refusal."""
    from sqlalchemy import text

    def read(session: Any) -> dict[str, Any]:
        conn = session.connection()
        state: dict[str, Any] = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in COUNTED_TABLES
        }
        state["versions"] = conn.execute(
            text("SELECT group_concat(id || ':' || version) FROM work_items")
        ).scalar_one()
        state["state_versions"] = conn.execute(
            text("SELECT group_concat(id || ':' || version) FROM workflow_states")
        ).scalar_one()
        state["seq"] = conn.execute(
            text("SELECT seq FROM sqlite_sequence WHERE name='change_feed'")
        ).scalar_one_or_none()
        return state

    return runner.tenants.open_sync(tenant_id).read_sync(read)


class Refusal:
    """``async with Refusal(runner, published, "CODE")``: the block must raise that code and
    leave the tenant and the bus exactly as they were."""

    def __init__(self, runner: ServiceRunner, published: list[Any], code: str) -> None:
        self.runner, self.published, self.code = runner, published, code
        self.error: Any = None

    async def __aenter__(self) -> Refusal:
        self.before = state_of(self.runner)
        self.published_before = len(self.published)
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        from pm.errors import PmError

        assert exc is not None, f"expected {self.code}, nothing was raised"
        assert isinstance(exc, PmError), f"expected {self.code}, got {exc!r}"
        assert exc.code == self.code, f"expected {self.code}, got {exc.code}: {exc.message}"
        self.error = exc
        assert state_of(self.runner) == self.before, "a refusal wrote something"
        assert len(self.published) == self.published_before, "a refusal published an event"
        return True


async def add_member(
    runner: ServiceRunner, admin: RequestContext, project: JsonDict, user_id: str, role: str
) -> RequestContext:
    from pm.services import members

    await runner.command(
        admin, members.add_member, project_id=project["id"], user_id=user_id, role=role
    )
    return ctx_for(user_id, tenant_id=admin.tenant_id)


async def item_of(runner: ServiceRunner, ctx: RequestContext, item_id: str) -> WorkItemView:
    """One item's public view, as the doors read it (the work item detail's ``work_item``)."""
    from pm.services.read_models.work_item_detail import work_item_detail

    detail = await runner.query(ctx, work_item_detail, work_item_id=item_id)
    return detail["work_item"]
