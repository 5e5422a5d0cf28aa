"""Small factories for service-layer tests: real commands through a real ServiceRunner."""

from __future__ import annotations

import uuid
from typing import Any

from pm.domain.events import JsonDict
from pm.services import work_items
from pm.services.context import RequestContext
from pm.services.runner import ServiceRunner


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
