"""One table from request payload to service call (STYLE.md habit 2).

A command entry names its service function (its response is the function's Outcome); a query
entry names the service query, the response payload and how the result becomes that payload.
Requests that update a few of many fields pass those fields as ``fields``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pm.services import (
    activity,
    changes,
    comments,
    dependencies,
    members,
    projects,
    sprints,
    swim_lanes,
    time_entries,
    work_items,
)
from pm.services.runner import ServiceRunner

Args = dict[str, Any]


@dataclass(frozen=True)
class Command:
    fn: Callable[..., Any]
    fields: frozenset[str] = frozenset()  # request fields passed together as `fields`
    adapt: Callable[[Args], Args] | None = None


@dataclass(frozen=True)
class Query:
    fn: Callable[..., Any]
    response: str
    shape: Callable[[Any], Any] = field(default=lambda result: result)
    paged: bool = False


def _clear_points(args: Args) -> Args:
    """Protobuf can't send null for an int: story_points -1 clears it."""
    fields = args.get("fields", {})
    if fields.get("story_points") == -1:
        fields["story_points"] = None
    return args


def _wrap(key: str) -> Callable[[Any], Any]:
    return lambda result: {key: result}


DISPATCH: dict[str, Command | Query] = {
    "list_projects": Query(work_items.list_projects, "projects_list", _wrap("projects")),
    "get_project": Query(projects.project_snapshot, "project_snapshot"),
    "get_work_items": Query(projects.project_items_as_of, "work_items_list"),
    "create_work_item": Command(work_items.create_work_item),
    "update_work_item": Command(
        work_items.update_work_item,
        frozenset(work_items.UPDATABLE_FIELDS),
        adapt=_clear_points,
    ),
    "move_work_item": Command(work_items.move_work_item),
    "delete_work_item": Command(work_items.delete_work_item),
    "create_sprint": Command(sprints.create_sprint),
    "update_sprint": Command(sprints.update_sprint, frozenset(sprints.UPDATABLE_FIELDS)),
    "start_sprint": Command(sprints.start_sprint),
    "complete_sprint": Command(sprints.complete_sprint),
    "cancel_sprint": Command(sprints.cancel_sprint),
    "delete_sprint": Command(sprints.delete_sprint),
    "create_comment": Command(comments.create_comment),
    "update_comment": Command(comments.update_comment),
    "delete_comment": Command(comments.delete_comment),
    "get_comments": Query(comments.get_comments, "comments_list", _wrap("comments")),
    "start_timer": Command(time_entries.start_timer),
    "stop_timer": Command(time_entries.stop_timer),
    "create_time_entry": Command(time_entries.create_time_entry),
    "update_time_entry": Command(
        time_entries.update_time_entry, frozenset(time_entries.UPDATABLE_FIELDS)
    ),
    "delete_time_entry": Command(time_entries.delete_time_entry),
    "get_time_entries": Query(time_entries.get_time_entries, "time_entries_list"),
    "create_dependency": Command(dependencies.create_dependency),
    "delete_dependency": Command(dependencies.delete_dependency),
    "get_dependencies": Query(dependencies.get_dependencies, "dependencies_list"),
    "create_swim_lane": Command(swim_lanes.create_swim_lane),
    "update_swim_lane": Command(swim_lanes.update_swim_lane),
    "delete_swim_lane": Command(swim_lanes.delete_swim_lane),
    "add_member": Command(members.add_member),
    "update_member_role": Command(members.update_member_role),
    "remove_member": Command(members.remove_member),
    "list_members": Query(members.list_members, "members_list", _wrap("members")),
    "get_activity": Query(
        activity.get_activity,
        "activity_page",
        lambda page: {"entries": page.items, "next_cursor": page.next_cursor},
        paged=True,
    ),
}
# Handled by the connection itself: they change the socket's state, not the tenant's data.
CONNECTION_REQUESTS = frozenset({"subscribe", "unsubscribe", "get_changes", "reauthenticate"})
SUBSCRIBE_QUERY = changes.subscribe_projects
CHANGES_QUERY = changes.get_changes


def command_args(entry: Command, args: Args) -> Args:
    if entry.fields:
        args = {k: v for k, v in args.items() if k not in entry.fields} | {
            "fields": {k: v for k, v in args.items() if k in entry.fields}
        }
    return entry.adapt(args) if entry.adapt else args


def query_args(entry: Query, runner: ServiceRunner, args: Args) -> Args:
    if entry.paged:
        args = dict(args)
        args["page"] = runner.page(args.pop("limit", None), args.pop("cursor", None))
    return args
