"""One table from request payload to what serves it (STYLE.md habit 2): adding a request is one
row here plus its service function.

    CommandRow   a service command; the response is its Outcome (payload and seq)
    QueryRow     a service query, the response payload it answers with, and how the result
                 becomes that payload
    SocketRow    a request about the socket itself (subscriptions, credentials), served by the
                 connection

Requests that update a few of many fields pass those fields together as ``fields``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pm.doorkit.events import event_envelope
from pm.services import (
    activity,
    changes,
    comments,
    custom_fields,
    dependencies,
    labels,
    members,
    notifications,
    saved_views,
    search,
    sprints,
    swim_lanes,
    time_entries,
    webhooks,
    work_items,
    workflow_states,
)
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.pagination import Page
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models import projects
from pm.services.read_models.cycle_time import get_cycle_time

Args = dict[str, Any]


class Socket(Protocol):
    """What a row needs of the connection it serves."""

    @property
    def services(self) -> ServiceRunner: ...

    async def reply(
        self, message_id: str, name: str, payload: Any, seq: int = 0, *, offload: bool = False
    ) -> None: ...

    async def subscribe(
        self, ctx: RequestContext, message_id: str, project_ids: list[str]
    ) -> None: ...

    async def unsubscribe(self, message_id: str, project_ids: list[str]) -> None: ...

    async def reauthenticate(self, message_id: str, token: str) -> None: ...

    async def list_notifications(
        self, ctx: RequestContext, message_id: str, args: Args
    ) -> None: ...


@dataclass(frozen=True)
class CommandRow:
    fn: Callable[..., Any]
    fields: frozenset[str] = frozenset()  # request fields passed together as `fields`
    adapt: Callable[[Args], Args] | None = None

    def arguments(self, args: Args) -> Args:
        if self.fields:
            args = {k: v for k, v in args.items() if k not in self.fields} | {
                "fields": {k: v for k, v in args.items() if k in self.fields}
            }
        return self.adapt(args) if self.adapt else args

    async def serve(self, socket: Socket, ctx: RequestContext, message_id: str, args: Args) -> None:
        outcome = await socket.services.command(ctx, self.fn, **self.arguments(args))
        await socket.reply(message_id, outcome.payload_name, outcome.payload, outcome.seq or 0)


@dataclass(frozen=True)
class QueryRow:
    fn: Callable[..., Any]
    response: str
    shape: Callable[[Any], Any] = field(default=lambda result: result)

    async def serve(self, socket: Socket, ctx: RequestContext, message_id: str, args: Args) -> None:
        result = await socket.services.query(ctx, self.fn, **args)
        # A query's answer may be large (a snapshot, a page): past OFFLOAD_BYTES it is encoded
        # off the event loop.
        await socket.reply(message_id, self.response, self.shape(result), offload=True)


@dataclass(frozen=True)
class SocketRow:
    handle: Callable[[Socket, RequestContext, str, Args], Awaitable[None]]

    async def serve(self, socket: Socket, ctx: RequestContext, message_id: str, args: Args) -> None:
        await self.handle(socket, ctx, message_id, args)


Row = CommandRow | QueryRow | SocketRow


def _clear_points(args: Args) -> Args:
    """Protobuf can't send null for an int: story_points -1 clears it."""
    fields = args.get("fields", {})
    if fields.get("story_points") == -1:
        fields["story_points"] = None
    return args


def _wrap(key: str) -> Callable[[Any], Any]:
    return lambda result: {key: result}


def _search_results(page: Page[search.SearchHit]) -> dict[str, Any]:
    return {"hits": page.items, "next_cursor": page.next_cursor}


def _changes(result: changes.Changes) -> dict[str, Any]:
    events = [event_envelope(event) for event in result.events]
    return {"events": events, "as_of_seq": result.as_of_seq, "has_more": result.has_more}


async def _subscribe(socket: Socket, ctx: RequestContext, message_id: str, args: Args) -> None:
    await socket.subscribe(ctx, message_id, list(dict.fromkeys(args["project_ids"])))


async def _unsubscribe(socket: Socket, _ctx: RequestContext, message_id: str, args: Args) -> None:
    await socket.unsubscribe(message_id, args["project_ids"])


async def _list_notifications(
    socket: Socket, ctx: RequestContext, message_id: str, args: Args
) -> None:
    await socket.list_notifications(ctx, message_id, args)


async def _reauthenticate(
    socket: Socket, _ctx: RequestContext, message_id: str, args: Args
) -> None:
    await socket.reauthenticate(message_id, args["token"])


DISPATCH: Mapping[str, Row] = {
    "subscribe": SocketRow(_subscribe),
    "unsubscribe": SocketRow(_unsubscribe),
    "reauthenticate": SocketRow(_reauthenticate),
    "get_changes": QueryRow(changes.get_changes, "changes", _changes),
    "list_projects": QueryRow(projects.list_projects, "projects_list"),
    "get_project": QueryRow(projects.project_snapshot, "project_snapshot"),
    "get_work_items": QueryRow(projects.project_items_as_of, "work_items_list"),
    "create_work_item": CommandRow(work_items.create_work_item),
    "update_work_item": CommandRow(
        work_items.update_work_item,
        frozenset(work_items.UPDATABLE_FIELDS),
        adapt=_clear_points,
    ),
    "move_work_item": CommandRow(work_items.move_work_item),
    "delete_work_item": CommandRow(work_items.delete_work_item),
    "create_sprint": CommandRow(sprints.create_sprint),
    "update_sprint": CommandRow(sprints.update_sprint, frozenset(sprints.UPDATABLE_FIELDS)),
    "start_sprint": CommandRow(sprints.start_sprint),
    "complete_sprint": CommandRow(sprints.complete_sprint),
    "cancel_sprint": CommandRow(sprints.cancel_sprint),
    "delete_sprint": CommandRow(sprints.delete_sprint),
    "create_comment": CommandRow(comments.create_comment),
    "update_comment": CommandRow(comments.update_comment),
    "delete_comment": CommandRow(comments.delete_comment),
    "get_comments": QueryRow(comments.get_comments, "comments_list"),
    "start_timer": CommandRow(time_entries.start_timer),
    "stop_timer": CommandRow(time_entries.stop_timer),
    "create_time_entry": CommandRow(time_entries.create_time_entry),
    "update_time_entry": CommandRow(
        time_entries.update_time_entry, frozenset(time_entries.UPDATABLE_FIELDS)
    ),
    "delete_time_entry": CommandRow(time_entries.delete_time_entry),
    "get_time_entries": QueryRow(time_entries.get_time_entries, "time_entries_list"),
    "create_dependency": CommandRow(dependencies.create_dependency),
    "delete_dependency": CommandRow(dependencies.delete_dependency),
    "get_dependencies": QueryRow(dependencies.get_dependencies, "dependencies_list"),
    "create_swim_lane": CommandRow(swim_lanes.create_swim_lane),
    "update_swim_lane": CommandRow(swim_lanes.update_swim_lane),
    "delete_swim_lane": CommandRow(swim_lanes.delete_swim_lane),
    "add_member": CommandRow(members.add_member),
    "update_member_role": CommandRow(members.update_member_role),
    "remove_member": CommandRow(members.remove_member),
    "list_members": QueryRow(members.list_members, "members_list"),
    "get_cycle_time": QueryRow(get_cycle_time, "cycle_time_report"),
    "get_activity": QueryRow(
        activity.get_activity,
        "activity_page",
        lambda page: {"entries": page.items, "next_cursor": page.next_cursor},
    ),
    "search_work_items": QueryRow(search.search_work_items, "search_results", _search_results),
    "create_webhook": CommandRow(webhooks.create_webhook),
    "update_webhook": CommandRow(webhooks.update_webhook),
    "delete_webhook": CommandRow(webhooks.delete_webhook),
    "list_webhooks": QueryRow(webhooks.list_webhooks, "webhooks_list", _wrap("webhooks")),
    "get_webhook_deliveries": QueryRow(webhooks.get_webhook_deliveries, "webhook_deliveries"),
    "create_state": CommandRow(workflow_states.create_state),
    "update_state": CommandRow(workflow_states.update_state),
    "delete_state": CommandRow(workflow_states.delete_state),
    "list_states": QueryRow(workflow_states.list_states, "states_list"),
    "create_label": CommandRow(labels.create_label),
    "update_label": CommandRow(labels.update_label),
    "delete_label": CommandRow(labels.delete_label),
    "create_custom_field": CommandRow(custom_fields.create_custom_field),
    "update_custom_field": CommandRow(custom_fields.update_custom_field),
    "delete_custom_field": CommandRow(custom_fields.delete_custom_field),
    "save_view": CommandRow(saved_views.save_view),
    "delete_view": CommandRow(saved_views.delete_view),
    "list_views": QueryRow(saved_views.list_views, "views_list"),
    # notifications (issue 15): ListNotifications also joins the user's own stream live
    "watch": CommandRow(notifications.watch_item),
    "unwatch": CommandRow(notifications.unwatch_item),
    "get_watchers": QueryRow(notifications.get_watchers, "watchers_list"),
    "list_notifications": SocketRow(_list_notifications),
    "mark_notifications_read": CommandRow(notifications.mark_notifications_read),
}
