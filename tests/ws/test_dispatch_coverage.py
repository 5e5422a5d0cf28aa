"""The dispatch table is complete: every request of pm.proto reaches a handler, every command of
the service layer is reachable over the socket, and the request names of PROTOCOL.md exist.

PROTOCOL.md is the contract clients in other languages are written against; its names are
copied here (rather than parsed from ../shared, which a clone may not have) so a change to
either side shows up as a failing test.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

import pm.services
from pm.domain.events import Outcome
from pm.mcp.tools import TOOLS
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.ws.codec import ALL_PAYLOADS, REQUEST_PAYLOADS
from pm.ws.dispatch import DISPATCH, CommandRow, QueryRow, SocketRow
from pm.ws.pm_pb2 import Envelope

# One string per row of PROTOCOL.md's "Requests and their responses" table.
PROTOCOL_REQUEST_ROWS = (
    "Subscribe Unsubscribe",
    "ListProjects",
    "GetProject",
    "GetWorkItems",
    "GetChanges",
    "CreateWorkItem",
    "UpdateWorkItem",
    "MoveWorkItem",
    "DeleteWorkItem",
    "CreateSprint UpdateSprint StartSprint CompleteSprint CancelSprint DeleteSprint",
    "CreateComment UpdateComment DeleteComment GetComments",
    "StartTimer StopTimer CreateTimeEntry UpdateTimeEntry DeleteTimeEntry GetTimeEntries",
    "CreateDependency DeleteDependency GetDependencies",
    "CreateSwimLane UpdateSwimLane DeleteSwimLane",
    "AddMember UpdateMemberRole RemoveMember ListMembers",
    "GetActivity",
    "Reauthenticate",
    "SearchWorkItems",  # PROTOCOL.md "Search"
    "CreateWebhook UpdateWebhook DeleteWebhook ListWebhooks GetWebhookDeliveries",  # "Webhooks"
    "CreateState UpdateState DeleteState",  # "Everyday fields"
    "Watch Unwatch",  # "Everyday fields"
    "ListNotifications MarkNotificationsRead",
)
PROTOCOL_RESPONSE_ROWS = (
    "Error",
    "Subscribed Unsubscribed",
    "ProjectsList",
    "ProjectSnapshot",
    "WorkItemsList",
    "Changes",
    "WorkItemCreated WorkItemUpdated WorkItemDeleted",
    "SprintCreated SprintUpdated SprintDeleted",
    "CommentCreated CommentUpdated CommentDeleted CommentsList",
    "TimerStarted TimeEntryUpdated TimeEntryCreated TimeEntryDeleted TimeEntriesList",
    "DependencyCreated DependencyDeleted DependenciesList",
    "SwimLaneCreated SwimLaneUpdated SwimLaneDeleted",
    "MemberAdded MemberUpdated MemberRemoved MembersList",
    "ActivityPage",
    "Reauthenticated",
    "PresenceChanged",
    "SearchResults",
    "WebhookCreated",
    "StateCreated StateUpdated StateDeleted",  # "Everyday fields": StateCreated...
    "NotificationCreated",  # "Everyday fields"
)
PROTOCOL_REQUESTS = [name for row in PROTOCOL_REQUEST_ROWS for name in row.split()]
PROTOCOL_RESPONSES_AND_EVENTS = [name for row in PROTOCOL_RESPONSE_ROWS for name in row.split()]


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _service_modules() -> Iterator[ModuleType]:
    for info in pkgutil.iter_modules(pm.services.__path__, "pm.services."):
        yield importlib.import_module(info.name)


def _is_command(fn: Callable[..., Any]) -> bool:
    """A command is a function given a UnitOfWork first that answers an Outcome (the response
    and the event); helpers that take a UnitOfWork but answer rows are not commands."""
    signature = inspect.signature(fn, eval_str=True)
    parameters = list(signature.parameters.values())
    return (
        bool(parameters)
        and parameters[0].annotation is UnitOfWork
        and signature.return_annotation is Outcome
    )


def service_commands() -> dict[str, Callable[..., Any]]:
    """Every public command function defined in a pm.services module, by qualified name."""
    found: dict[str, Callable[..., Any]] = {}
    for module in _service_modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_") and _is_command(fn):
                found[f"{module.__name__}.{name}"] = fn
    return found


def _message_name(field: FieldDescriptor) -> str:
    assert field.message_type is not None, field.name
    return field.message_type.name


def test_snake_case_matches_the_proto_convention() -> None:
    assert snake_case("UpdateMemberRole") == "update_member_role"
    assert snake_case("Error") == "error"


def test_every_request_payload_has_a_row() -> None:
    unhandled = REQUEST_PAYLOADS - DISPATCH.keys()
    assert not unhandled


def test_the_table_holds_requests_only() -> None:
    assert DISPATCH.keys() <= REQUEST_PAYLOADS


def test_only_requests_about_the_socket_itself_skip_the_service_layer() -> None:
    """ListNotifications is one: the socket joins its user's own stream with it, from the seq
    the page is as of, as Subscribe joins a project's."""
    socket_rows = {name for name, row in DISPATCH.items() if isinstance(row, SocketRow)}
    assert socket_rows == {"subscribe", "unsubscribe", "reauthenticate", "list_notifications"}


def test_every_service_command_is_reachable_by_a_request() -> None:
    """Over the socket, or (for what only agents ask, as ``log_time``) as an MCP tool."""
    commands = service_commands()
    dispatched = {entry.fn for entry in DISPATCH.values() if isinstance(entry, CommandRow)}
    dispatched |= {tool.entry for tool in TOOLS if tool.entry in commands.values()}
    unreachable = sorted(name for name, fn in commands.items() if fn not in dispatched)
    assert not unreachable
    # The enumeration itself is sound only if it finds every command the table already names.
    assert dispatched <= set(commands.values())


def test_command_entries_are_commands_and_query_entries_are_queries() -> None:
    for name, entry in DISPATCH.items():
        if isinstance(entry, CommandRow):
            assert _is_command(entry.fn), name
        elif isinstance(entry, QueryRow):
            first = next(iter(inspect.signature(entry.fn, eval_str=True).parameters.values()))
            assert first.annotation is not UnitOfWork, name
            assert entry.response in ALL_PAYLOADS - REQUEST_PAYLOADS, name


def test_protocol_requests_exist_in_the_proto_under_their_snake_case_name() -> None:
    fields = Envelope.DESCRIPTOR.fields_by_name
    for message in PROTOCOL_REQUESTS:
        field = snake_case(message)
        assert field in REQUEST_PAYLOADS, message
        assert _message_name(fields[field]) == message


def test_protocol_responses_and_events_exist_in_the_proto() -> None:
    fields = Envelope.DESCRIPTOR.fields_by_name
    for message in PROTOCOL_RESPONSES_AND_EVENTS:
        field = snake_case(message)
        assert field in ALL_PAYLOADS - REQUEST_PAYLOADS, message
        assert _message_name(fields[field]) == message


def test_every_mcp_tool_calls_the_entry_it_names() -> None:
    for tool in TOOLS:
        assert tool.entry.__name__ in tool.run.__code__.co_names, tool.name
