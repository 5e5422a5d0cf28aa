"""/api/v1: read-only endpoints for LLM agents and scripts. Each route parses its parameters,
calls one service query through the runner, and returns the result; rules and SQL live in
pm.services. Operation ids are the function names, so generated clients read naturally."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Query as QueryString
from fastapi.responses import PlainTextResponse, Response

from pm.doorkit.events import event_view
from pm.doorkit.field_conditions import parse_conditions
from pm.doorkit.markdown import render_context
from pm.rest import schemas
from pm.rest.deps import Caller, Services
from pm.rest.render import json_answer
from pm.services import (
    activity,
    changes,
    comments,
    dependencies,
    llm_context,
    members,
    notifications,
    search,
    time_entries,
    work_items,
)
from pm.services.read_models import projects
from pm.services.read_models.cycle_time import CycleTimeReport, get_cycle_time
from pm.services.read_models.project_context import project_context
from pm.services.read_models.sprint_report import get_sprint_report
from pm.services.read_models.work_item_detail import work_item_detail
from pm.services.workflow_states import StatesList, list_states


def _documented(*statuses: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": schemas.ErrorBody, "description": text} for status, text in statuses}


ERRORS = _documented(
    (401, "Missing, invalid or expired token (UNAUTHENTICATED)"),
    (404, "Not found, or not visible to you (NOT_FOUND); other tenants' ids are never visible"),
    (422, "A parameter is invalid (VALIDATION_ERROR, naming the `field`)"),
    (429, "Rate limited per user (RATE_LIMITED); retry after `Retry-After` seconds"),
    (431, "The request line and headers pass `http_max_header_bytes` (PAYLOAD_TOO_LARGE)"),
    (503, "The tenant is overloaded (UNAVAILABLE); retry after `Retry-After` seconds"),
)


def _operation_id(route: Any) -> str:
    """The endpoint's function name. FastAPI passes the route as included into the app (not
    always an ``APIRoute`` instance), so read its name rather than test its class; testing it
    gave every operation an empty id (duplicates: a warning, or a 500 where warnings are
    errors, and nameless generated clients)."""
    return str(route.name)


router = APIRouter(prefix="/api/v1", responses=ERRORS, generate_unique_id_function=_operation_id)


NoParameters = Annotated[schemas.NoParameters, QueryString()]
PageParameters = Annotated[schemas.PageParameters, QueryString()]


@router.get("/projects", response_model=schemas.ProjectList, summary="Projects you can see")
async def list_projects(services: Services, ctx: Caller, params: PageParameters) -> Response:
    """Start here: the projects of your tenant you are a member of (every one, for an admin),
    oldest first, a page at a time."""
    page = await services.query(ctx, projects.list_projects, **params.model_dump())
    return await json_answer(schemas.ProjectList, page)


@router.get(
    "/projects/{project_id}/members",
    response_model=schemas.MemberPage,
    summary="The members of a project, with their roles",
)
async def list_members(
    services: Services, ctx: Caller, project_id: str, params: PageParameters
) -> Response:
    page = await services.query(
        ctx, members.list_members, project_id=project_id, **params.model_dump()
    )
    return await json_answer(schemas.MemberPage, page)


@router.get(
    "/projects/{project_id}/context",
    response_model=schemas.ProjectContext,
    summary="Everything about one project, in one bounded answer",
    responses={
        200: {
            "content": {
                "text/markdown": {
                    "schema": {"type": "string"},
                    "example": "# Project: Mobile app launch\n\nItems: 12; blocked: 2 ...",
                }
            },
            "description": "JSON (default) or, with `format=markdown`, compact Markdown",
        }
    },
)
async def get_project_context(
    services: Services,
    ctx: Caller,
    project_id: str,
    params: Annotated[schemas.ContextParameters, QueryString()],
) -> Any:
    """The item tree, counts by status, type and assignee, sprints with velocity and burndown,
    blocked items and what blocks them, dependencies, members, board lanes and recent activity.

    Bounded on any project size: at most `limits.max_items` items (the most relevant first,
    always with their ancestors), descriptions clipped to `limits.text_chars` characters. When
    anything was cut, `truncated` is true and `truncation_note` says what and where to page.
    About 0.5 KB of JSON or 0.13 KB of Markdown per item kept."""
    report = await services.query(
        ctx, project_context, project_id=project_id, max_items=params.max_items
    )
    if params.format == "markdown":
        return PlainTextResponse(render_context(report), media_type="text/markdown")
    return await json_answer(schemas.ProjectContext, report)


@router.get(
    "/projects/{project_id}/states",
    response_model=schemas.StatesList,
    summary="The project's workflow states, in board order",
)
async def get_project_states(
    services: Services,
    ctx: Caller,
    project_id: str,
    _: NoParameters,
) -> StatesList:
    """Each state's `key` (what items carry in `status`), name, colour and category (what it
    means to velocity, blocking, burndown, overdue and cycle time)."""
    return await services.query(ctx, list_states, project_id=project_id)


@router.get(
    "/projects/{project_id}/cycle-time",
    response_model=schemas.CycleTimeReport,
    summary="Cycle and lead time of the items completed in a range of days, with percentiles",
)
async def get_project_cycle_time(
    services: Services,
    ctx: Caller,
    project_id: str,
    params: Annotated[schemas.CycleTimeParameters, QueryString()],
) -> CycleTimeReport:
    """Per item and as p50/p85/p95: lead time from creation to the first entry into `done`,
    cycle time from the first entry into `in_progress` or `review` to that completion. The
    items first completed from `since` to `until` (at most 366 days; at most 2000 items, the
    earliest completed, `has_more` beyond); deleted items are left out."""
    return await services.query(
        ctx, get_cycle_time, project_id=project_id, **params.model_dump(mode="json")
    )


@router.get("/work-items", response_model=schemas.WorkItemPage, summary="Find work items")
async def list_work_items(
    services: Services, ctx: Caller, params: Annotated[schemas.WorkItemFilters, QueryString()]
) -> Response:
    """Items of the projects you can see; every filter narrows the result. With `q` and no
    `sort`, a full-text search of titles, descriptions, comments and text custom fields, best
    match first, each item with its best passage; otherwise in the `sort` order (oldest first
    by default)."""
    arguments = params.model_dump(mode="json")
    arguments["labels"] = arguments.pop("label")
    arguments["fields"] = parse_conditions(arguments.pop("field"))
    page = await services.query(
        ctx, search.search_work_items, query=arguments.pop("q"), **arguments
    )
    items = [
        {**hit["work_item"], "snippet": hit["snippet"], "rank": hit["rank"]} for hit in page.items
    ]
    return await json_answer(
        schemas.WorkItemPage, {"items": items, "next_cursor": page.next_cursor}
    )


@router.get(
    "/work-items/{work_item_id}",
    response_model=schemas.WorkItemDetail,
    summary="One item with children, comments, time, dependencies and activity",
)
async def get_work_item(
    services: Services, ctx: Caller, work_item_id: str, _: NoParameters
) -> Response:
    """Each list is its first page; its `*_next_cursor` goes on at the list's own endpoint."""
    detail = await services.query(ctx, work_item_detail, work_item_id=work_item_id)
    return await json_answer(schemas.WorkItemDetail, detail)


@router.get(
    "/work-items/{work_item_id}/children",
    response_model=schemas.ChildrenPage,
    summary="The children of an item, in board order",
)
async def get_children(
    services: Services, ctx: Caller, work_item_id: str, params: PageParameters
) -> Response:
    page = await services.query(
        ctx, work_items.get_children, work_item_id=work_item_id, **params.model_dump()
    )
    return await json_answer(
        schemas.ChildrenPage, {"items": page.items, "next_cursor": page.next_cursor}
    )


@router.get(
    "/work-items/{work_item_id}/comments",
    response_model=schemas.CommentPage,
    summary="The comments of an item, oldest first",
)
async def get_comments(
    services: Services, ctx: Caller, work_item_id: str, params: PageParameters
) -> Response:
    page = await services.query(
        ctx, comments.get_comments, work_item_id=work_item_id, **params.model_dump()
    )
    return await json_answer(schemas.CommentPage, page)


@router.get(
    "/work-items/{work_item_id}/time-entries",
    response_model=schemas.TimeEntryPage,
    summary="The time entries of an item, with the totals of all of them",
)
async def get_time_entries(
    services: Services, ctx: Caller, work_item_id: str, params: PageParameters
) -> Response:
    page = await services.query(
        ctx, time_entries.get_time_entries, work_item_id=work_item_id, **params.model_dump()
    )
    return await json_answer(schemas.TimeEntryPage, page)


@router.get(
    "/work-items/{work_item_id}/dependencies",
    response_model=schemas.Dependencies,
    summary="The dependencies of an item, both directions, oldest first",
)
async def get_dependencies(
    services: Services, ctx: Caller, work_item_id: str, params: PageParameters
) -> Response:
    page = await services.query(
        ctx, dependencies.get_dependencies, work_item_id=work_item_id, **params.model_dump()
    )
    return await json_answer(schemas.Dependencies, page)


@router.get(
    "/sprints/{sprint_id}",
    response_model=schemas.SprintReport,
    summary="A sprint with its items, points committed and done, and burndown",
)
async def get_sprint(services: Services, ctx: Caller, sprint_id: str, _: NoParameters) -> Response:
    report = await services.query(ctx, get_sprint_report, sprint_id=sprint_id)
    return await json_answer(schemas.SprintReport, report)


@router.get("/activity", response_model=schemas.ActivityPage, summary="The activity log")
async def get_activity(
    services: Services, ctx: Caller, params: Annotated[schemas.ActivityFilters, QueryString()]
) -> Response:
    """Who changed what and when, newest first, in the projects you can see."""
    page = await services.query(ctx, activity.get_activity, **params.model_dump())
    return await json_answer(
        schemas.ActivityPage, {"entries": page.items, "next_cursor": page.next_cursor}
    )


@router.get(
    "/changes",
    response_model=schemas.Changes,
    summary="The change feed, for agents that poll",
    responses=_documented((410, "Events after since_seq are past retention (RESYNC_REQUIRED)")),
)
async def get_changes(
    services: Services, ctx: Caller, params: Annotated[schemas.ChangesParameters, QueryString()]
) -> Response:
    """Every committed change after `since_seq`, in order, deletions included. Poll again
    from `as_of_seq`; `has_more` means there is more to fetch at once."""
    result = await services.query(
        ctx,
        changes.get_changes,
        since_seq=params.since_seq,
        project_ids=params.project_id,
        limit=params.limit,
    )
    answer = {
        "events": [event_view(event) for event in result.events],
        "as_of_seq": result.as_of_seq,
        "has_more": result.has_more,
    }
    return await json_answer(schemas.Changes, answer)


@router.get(
    "/notifications",
    response_model=schemas.NotificationsPage,
    summary="Your notifications: assigned, mentioned, and changes to items you watch",
)
async def list_notifications(
    services: Services,
    ctx: Caller,
    params: Annotated[schemas.NotificationFilters, QueryString()],
) -> Response:
    """Yours alone, newest first, with the unread count. Marking them read is a write: the
    WebSocket's `MarkNotificationsRead` or the MCP tool `mark_notifications_read`."""
    page = await services.query(ctx, notifications.list_notifications, **params.model_dump())
    return await json_answer(schemas.NotificationsPage, page)


@router.get(
    "/llm/context",
    response_model=schemas.LlmContextList,
    summary="How to use this API well: schema docs, rules, query patterns, examples",
)
async def get_llm_context(
    services: Services, ctx: Caller, params: Annotated[schemas.LlmContextFilters, QueryString()]
) -> Response:
    """Read this first: what each entity and field means, the rules, and worked examples."""
    entries = await services.query(ctx, llm_context.list_llm_context, **params.model_dump())
    return await json_answer(schemas.LlmContextList, {"entries": entries})
