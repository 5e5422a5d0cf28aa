"""The tool table (PROTOCOL.md "MCP"): each tool's name, description and input model, and the one
service entry it calls. A handler parses (its input model), calls that entry through the runner
as the caller, and writes the answer down (pm.mcp.render); it holds no rule of its own. A
write's ``request_id`` becomes the command's message id: the idempotency ledger of the
WebSocket's message ids.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from pm.auth import Principal
from pm.domain.events import Outcome
from pm.doorkit.caller import caller_context
from pm.doorkit.field_conditions import parse_conditions
from pm.doorkit.markdown import render_context
from pm.mcp import inputs as i
from pm.mcp import render
from pm.services import (
    changes,
    comments,
    dependencies,
    notifications,
    search,
    time_entries,
    work_items,
)
from pm.services.kernel.reader import Reader
from pm.services.kernel.runner import ServiceRunner
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.read_models.project_context import project_context
from pm.services.read_models.projects import project_overview
from pm.services.read_models.sprint_report import get_sprint_report
from pm.services.read_models.work_item_detail import work_item_detail

P = ParamSpec("P")
T = TypeVar("T")
AGENT_PAGE = 20  # an agent's page: a model reads every line it is given


@dataclass(frozen=True)
class Call:
    """One tool call: who asks, through which runner."""

    services: ServiceRunner
    principal: Principal

    async def query(self, fn: Callable[Concatenate[Reader, P], T], *a: P.args, **kw: P.kwargs) -> T:
        return await self.services.query(caller_context(self.principal), fn, *a, **kw)

    async def command(
        self,
        request_id: str | None,
        fn: Callable[Concatenate[UnitOfWork, P], Outcome],
        *a: P.args,
        **kw: P.kwargs,
    ) -> Outcome:
        ctx = caller_context(self.principal, message_id=request_id)
        return await self.services.command(ctx, fn, *a, **kw)


Handler = Callable[[Call, Any], Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input: type[i.Input]
    run: Handler
    entry: Callable[..., Any]  # the service entry ``run`` calls (tests hold them together)


def given(**values: Any) -> dict[str, Any]:
    """The arguments an agent gave (None: it did not): a service entry's defaults apply."""
    return {name: value for name, value in values.items() if value is not None}


async def _list_projects(call: Call, args: i.ListProjects) -> str:
    page = await call.query(project_overview, limit=args.limit or AGENT_PAGE, cursor=args.cursor)
    return render.projects(page)


async def _get_project_context(call: Call, args: i.GetProjectContext) -> str:
    report = await call.query(project_context, project_id=args.project, max_items=args.max_items)
    if args.format == "json":
        return json.dumps(report, separators=(",", ":"))
    return render_context(report)


async def _search(call: Call, args: i.SearchWorkItems) -> str:
    page = await call.query(
        search.search_work_items,
        query=args.query,
        project_id=args.project,
        status=args.status,
        item_type=args.item_type,
        assignee_id=args.assignee_id,
        sprint_id=args.sprint_id,
        priority=args.priority,
        due_from=args.due_from,
        due_to=args.due_to,
        labels=args.labels,
        fields=parse_conditions(args.fields or []),
        sort=args.sort,
        view_id=args.view,
        limit=args.limit or AGENT_PAGE,
        cursor=args.cursor,
    )
    return render.search_page(page.items, page.next_cursor)


async def _get_work_item(call: Call, args: i.GetWorkItem) -> str:
    return render.detail(await call.query(work_item_detail, work_item_id=args.item))


async def _create(call: Call, args: i.CreateWorkItem) -> str:
    outcome = await call.command(
        args.request_id,
        work_items.create_work_item,
        item_type=args.item_type,
        title=args.title,
        project_id=args.project,
        **given(
            parent_id=args.parent,
            description=args.description,
            status=args.status,
            priority=args.priority,
            assignee_id=args.assignee_id,
            story_points=args.story_points,
            sprint_id=args.sprint_id,
            start_date=args.start_date,
            due_date=args.due_date,
            labels=args.labels,
            custom_fields=args.custom_fields,
        ),
    )
    return render.written("Created", outcome.payload["work_item"])


async def _update(call: Call, args: i.UpdateWorkItem) -> str:
    fields = {
        name: getattr(args, name) for name in args.model_fields_set & work_items.UPDATABLE_FIELDS
    }
    if fields.get("story_points") == -1:
        fields["story_points"] = None
    outcome = await call.command(
        args.request_id,
        work_items.update_work_item,
        work_item_id=args.item,
        expected_version=args.expected_version,
        fields=fields,
    )
    return render.written("Updated", outcome.payload["work_item"], outcome.payload["changes"])


async def _move(call: Call, args: i.MoveWorkItem) -> str:
    outcome = await call.command(
        args.request_id,
        work_items.move_work_item,
        work_item_id=args.item,
        expected_version=args.expected_version,
        **given(
            parent_id=args.parent, after_id=args.after, before_id=args.before, status=args.status
        ),
    )
    return render.written("Moved", outcome.payload["work_item"], outcome.payload["changes"])


async def _comment(call: Call, args: i.AddComment) -> str:
    outcome = await call.command(
        args.request_id,
        comments.create_comment,
        work_item_id=args.item,
        content=args.body,
        **given(parent_comment_id=args.reply_to),
    )
    return f"Added comment `{outcome.payload['comment']['id']}` on {args.item}"


async def _log_time(call: Call, args: i.LogTime) -> str:
    outcome = await call.command(
        args.request_id,
        time_entries.log_time,
        work_item_id=args.item,
        minutes=args.minutes,
        **given(date=args.date, description=args.description),
    )
    entry = outcome.payload["time_entry"]
    return f"Logged {args.minutes} min on {args.item} (time entry `{entry['id']}`)"


async def _add_dependency(call: Call, args: i.AddDependency) -> str:
    outcome = await call.command(
        args.request_id,
        dependencies.create_dependency,
        blocking_item_id=args.blocking,
        blocked_item_id=args.blocked,
        **given(dependency_type=args.dependency_type),
    )
    dep = outcome.payload["dependency"]
    return f"{args.blocking} {dep['dependency_type']} {args.blocked} (dependency `{dep['id']}`)"


async def _get_sprint(call: Call, args: i.GetSprint) -> str:
    return render.sprint(await call.query(get_sprint_report, sprint_id=args.sprint_id))


async def _get_changes(call: Call, args: i.GetChanges) -> str:
    result = await call.query(
        changes.get_changes,
        since_seq=args.since_seq,
        project_ids=[args.project] if args.project else None,
        limit=args.limit,
    )
    return render.changes(result.events, result.as_of_seq, result.has_more)


async def _list_notifications(call: Call, args: i.ListNotifications) -> str:
    page = await call.query(
        notifications.list_notifications,
        unread_only=args.unread_only,
        limit=args.limit or AGENT_PAGE,
        cursor=args.cursor,
    )
    return render.notifications(page)


async def _mark_read(call: Call, args: i.MarkNotificationsRead) -> str:
    outcome = await call.command(
        args.request_id, notifications.mark_notifications_read, ids=args.ids or [], all=args.all
    )
    body = outcome.payload
    marked = "every one" if body["all"] else f"{len(body['ids'])}"
    return f"Marked {marked} read; {body['unread_count']} unread"


async def _watch(call: Call, args: i.WatchItem) -> str:
    outcome = await call.command(args.request_id, notifications.watch_item, work_item_id=args.item)
    return f"Watching {args.item} (item `{outcome.payload['work_item_id']}`)"


async def _unwatch(call: Call, args: i.WatchItem) -> str:
    outcome = await call.command(
        args.request_id, notifications.unwatch_item, work_item_id=args.item
    )
    return f"Not watching {args.item} (item `{outcome.payload['work_item_id']}`)"


TOOLS: tuple[Tool, ...] = (
    Tool(
        "list_projects",
        "Projects you can see, with their keys and item counts by status, a page at a time. "
        "Start here.",
        i.ListProjects,
        _list_projects,
        project_overview,
    ),
    Tool(
        "get_project_context",
        "Everything about one project in one bounded answer: item tree with keys, sprints with "
        "velocity and burndown, blocked items, members, lanes, recent activity.",
        i.GetProjectContext,
        _get_project_context,
        project_context,
    ),
    Tool(
        "search_work_items",
        "Find items: full-text over titles, descriptions, comments and text fields (best match "
        "first, with the matching passage), or by filters alone: labels, custom fields, due "
        "dates (oldest first, or `sort`).",
        i.SearchWorkItems,
        _search,
        search.search_work_items,
    ),
    Tool(
        "get_work_item",
        "One item in full: fields, children, comments, time logged, dependencies, activity.",
        i.GetWorkItem,
        _get_work_item,
        work_item_detail,
    ),
    Tool(
        "create_work_item",
        "Create an epic, story or task in a project (under `parent`, else the project itself).",
        i.CreateWorkItem,
        _create,
        work_items.create_work_item,
    ),
    Tool(
        "update_work_item",
        "Change fields of an item; only the fields you name change. A CONFLICT answer names "
        "each field someone else changed since `expected_version`.",
        i.UpdateWorkItem,
        _update,
        work_items.update_work_item,
    ),
    Tool(
        "move_work_item",
        "Move an item: new parent, place among its siblings (after/before), and/or status.",
        i.MoveWorkItem,
        _move,
        work_items.move_work_item,
    ),
    Tool(
        "add_comment",
        "Comment on an item (or reply to a comment).",
        i.AddComment,
        _comment,
        comments.create_comment,
    ),
    Tool(
        "log_time",
        "Record time spent on an item: minutes, today unless `date` says otherwise.",
        i.LogTime,
        _log_time,
        time_entries.log_time,
    ),
    Tool(
        "add_dependency",
        "Record that one item blocks another (or only relates to it). Cycles are refused.",
        i.AddDependency,
        _add_dependency,
        dependencies.create_dependency,
    ),
    Tool(
        "get_sprint",
        "A sprint: its items, points committed and done, daily burndown.",
        i.GetSprint,
        _get_sprint,
        get_sprint_report,
    ),
    Tool(
        "get_changes",
        "Every change after `since_seq`, in order (deletions too), to catch up without polling "
        "everything. Continue from the `as_of_seq` it answers.",
        i.GetChanges,
        _get_changes,
        changes.get_changes,
    ),
    Tool(
        "list_notifications",
        "Your notifications, newest first: assigned, mentioned (@you), comments and status "
        "changes on items you watch; with the unread count.",
        i.ListNotifications,
        _list_notifications,
        notifications.list_notifications,
    ),
    Tool(
        "mark_notifications_read",
        "Mark notifications read: `ids` from list_notifications, or `all`.",
        i.MarkNotificationsRead,
        _mark_read,
        notifications.mark_notifications_read,
    ),
    Tool(
        "watch_item",
        "Watch an item: be told of its comments and status changes.",
        i.WatchItem,
        _watch,
        notifications.watch_item,
    ),
    Tool(
        "unwatch_item",
        "Stop watching an item.",
        i.WatchItem,
        _unwatch,
        notifications.unwatch_item,
    ),
)
TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}
