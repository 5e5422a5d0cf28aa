"""/api/v1: read-only endpoints for LLM agents. Each route parses, calls one service query,
and returns its result; rules and SQL live in pm.services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from pm.rest import schemas
from pm.rest.markdown import render_context
from pm.rest.security import Caller
from pm.services import activity, changes, llm_context, sprints, work_items
from pm.services.context_report import project_context, work_item_detail
from pm.services.runner import ServiceRunner

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorBody, "description": text}
    for status, text in (
        (401, "Missing or invalid token (UNAUTHENTICATED)"),
        (404, "Not found, or not visible to you (NOT_FOUND)"),
        (422, "Invalid parameter (VALIDATION_ERROR, with the field)"),
        (429, "Rate limited (RATE_LIMITED; see Retry-After)"),
    )
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)
Limit = Annotated[int | None, Query(ge=1, description="Page size (bounded by the server)")]
Cursor = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the last page")]
Id = Annotated[str, Query(max_length=255)]


def _services(request: Request) -> ServiceRunner:
    runner: ServiceRunner = request.app.state.pm.services
    return runner


@router.get("/projects", response_model=schemas.ProjectList, summary="Projects you can see")
async def list_projects(request: Request, ctx: Caller) -> dict[str, Any]:
    return {"projects": await _services(request).query(ctx, work_items.list_projects)}


@router.get(
    "/projects/{project_id}/context",
    response_model=schemas.ProjectContext,
    summary="Everything about one project, for an agent",
    description="The item tree (bounded; see `truncated`), counts by status, type and assignee, "
    "sprints with velocity and burndown, blocked items and what blocks them, members, lanes and "
    "recent activity. `?format=markdown` returns the same as compact Markdown for a prompt.",
    responses={200: {"content": {"text/markdown": {}}}},
)
async def get_project_context(
    request: Request,
    ctx: Caller,
    project_id: str,
    format: Literal["json", "markdown"] = "json",
) -> Any:
    settings = request.app.state.pm.settings
    report = await _services(request).query(
        ctx,
        project_context,
        project_id=project_id,
        max_items=settings.context_max_items,
        recent_activity=settings.context_recent_activity,
    )
    if format == "markdown":
        return PlainTextResponse(render_context(report), media_type="text/markdown")
    return report


@router.get("/work-items", response_model=schemas.WorkItemPage, summary="Find work items")
async def list_work_items(
    request: Request,
    ctx: Caller,
    project_id: Annotated[str | None, Query(max_length=255)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    assignee_id: Annotated[str | None, Query(max_length=255)] = None,
    sprint_id: Annotated[str | None, Query(max_length=255)] = None,
    item_type: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in title or description")
    ] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    services = _services(request)
    page = await services.query(
        ctx,
        work_items.list_work_items,
        page=services.page(limit, cursor),
        project_id=project_id,
        status=status,
        assignee_id=assignee_id,
        sprint_id=sprint_id,
        item_type=item_type,
        q=q,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/work-items/{work_item_id}",
    response_model=schemas.WorkItemDetail,
    summary="One item with children, comments, time, dependencies and activity",
)
async def get_work_item(request: Request, ctx: Caller, work_item_id: str) -> dict[str, Any]:
    return await _services(request).query(ctx, work_item_detail, work_item_id=work_item_id)


@router.get(
    "/sprints/{sprint_id}",
    response_model=schemas.SprintReport,
    summary="A sprint with its items, points committed and done, and burndown",
)
async def get_sprint(request: Request, ctx: Caller, sprint_id: str) -> dict[str, Any]:
    return await _services(request).query(ctx, sprints.get_sprint_report, sprint_id=sprint_id)


@router.get(
    "/activity", response_model=schemas.ActivityPage, summary="The activity log, newest first"
)
async def get_activity(
    request: Request,
    ctx: Caller,
    project_id: Annotated[str | None, Query(max_length=255)] = None,
    entity_id: Annotated[str | None, Query(max_length=255)] = None,
    user_id: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[int | None, Query(ge=0, le=2**53, description="Unix ms, inclusive")] = None,
    until: Annotated[int | None, Query(ge=0, le=2**53, description="Unix ms, exclusive")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    services = _services(request)
    page = await services.query(
        ctx,
        activity.get_activity,
        page=services.page(limit, cursor),
        project_id=project_id,
        entity_id=entity_id,
        user_id=user_id,
        since=since,
        until=until,
    )
    return {"entries": page.items, "next_cursor": page.next_cursor}


@router.get("/changes", response_model=schemas.Changes, summary="The change feed, for polling")
async def get_changes(
    request: Request,
    ctx: Caller,
    since_seq: Annotated[int, Query(ge=0, le=2**62)],
    project_id: Annotated[list[str] | None, Query(max_length=100)] = None,
    limit: Limit = None,
) -> dict[str, Any]:
    services = _services(request)
    page_size = services.page(limit, None).limit
    result = await services.query(
        ctx, changes.get_changes, since_seq=since_seq, project_ids=project_id, limit=page_size
    )
    return {
        "events": [
            {
                "seq": e.seq,
                "message_id": e.event_id,
                "actor_id": e.actor_id,
                "sent_at_ms": e.at,
                "project_id": e.project_id,
                "payload_name": e.payload_name,
                "payload": e.payload,
            }
            for e in result.events
        ],
        "as_of_seq": result.as_of_seq,
        "has_more": result.has_more,
    }


@router.get(
    "/llm/context",
    response_model=schemas.LlmContextList,
    summary="Documentation for agents: schema, rules, query patterns, examples",
)
async def get_llm_context(
    request: Request,
    ctx: Caller,
    context_type: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    entries = await _services(request).query(
        ctx, llm_context.list_llm_context, context_type=context_type, category=category
    )
    return {"entries": entries}
