"""Every shape the service layer answers with agrees, field by field, with the REST response
model and the pm.proto message that carry it: the same field names, and null allowed in the
same places. A field added to a view and not to its schema or its message (or the reverse)
fails here, as does a new view that is not listed.

The views are TypedDicts (pm.services.views, the read models, the kernel's FieldChange, the
door kit's EventView); the REST models are pm.rest.schemas; the messages are pm.proto's.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, is_typeddict

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from pydantic import BaseModel

import pm.doorkit
import pm.services
from pm.doorkit.events import EventView
from pm.rest import schemas
from pm.services import notifications, saved_views, search, views, webhooks, workflow_states
from pm.services.kernel.unit_of_work import BlockedChanged, BlockedState, FieldChange
from pm.services.read_models import cycle_time as flow
from pm.services.read_models import project_context as context
from pm.services.read_models.projects import (
    ProjectOverview,
    ProjectOverviewPage,
    ProjectSnapshot,
    ProjectsPage,
    WorkItemsAsOf,
)
from pm.services.read_models.sprint_report import BurndownPoint, SprintReport
from pm.services.read_models.work_item_detail import WorkItemDetail
from pm.ws import pm_pb2

# A field whose null the wire can't say: proto3 int64 ids have no presence, and a stored
# activity row always has its id (the table's model types it optional until the insert).
NULL_NOT_ON_THE_WIRE = {("ActivityView", "id")}


@dataclass(frozen=True)
class Contract:
    view: Any  # a TypedDict, or a union of them where one list holds either
    rest: type[BaseModel] | None
    proto: Descriptor | None

    def __str__(self) -> str:
        return " | ".join(member.__name__ for member in _members(self.view))


CONTRACTS = [
    # entities: the view, its REST model, its message
    Contract(views.WorkItemView, schemas.WorkItem, pm_pb2.WorkItem.DESCRIPTOR),
    Contract(views.SprintView, schemas.Sprint, pm_pb2.Sprint.DESCRIPTOR),
    Contract(views.CommentView, schemas.Comment, pm_pb2.Comment.DESCRIPTOR),
    Contract(views.TimeEntryView, schemas.TimeEntry, pm_pb2.TimeEntry.DESCRIPTOR),
    Contract(views.DependencyView, schemas.Dependency, None),
    Contract(views.LinkedDependency, schemas.DependencyWithOther, pm_pb2.Dependency.DESCRIPTOR),
    Contract(views.ItemRef, schemas.ItemRef, pm_pb2.ItemRef.DESCRIPTOR),
    Contract(views.SwimLaneView, schemas.SwimLane, pm_pb2.SwimLane.DESCRIPTOR),
    Contract(views.MemberView, schemas.Member, pm_pb2.Member.DESCRIPTOR),
    Contract(views.ActivityView, schemas.Activity, pm_pb2.ActivityEntry.DESCRIPTOR),
    Contract(views.Audited, schemas.Audit, None),
    Contract(FieldChange, schemas.FieldChange, pm_pb2.FieldChange.DESCRIPTOR),
    Contract(BlockedState, schemas.BlockedState, pm_pb2.BlockedState.DESCRIPTOR),
    Contract(BlockedChanged, schemas.BlockedChanged, pm_pb2.BlockedChanged.DESCRIPTOR),
    Contract(views.UserTime, schemas.UserTime, pm_pb2.UserTime.DESCRIPTOR),
    Contract(views.LlmContextEntry, schemas.LlmContextEntry, None),
    Contract(views.LabelView, schemas.Label, pm_pb2.Label.DESCRIPTOR),
    Contract(views.CustomFieldView, schemas.CustomField, pm_pb2.CustomField.DESCRIPTOR),
    Contract(views.SavedViewView, schemas.SavedView, pm_pb2.SavedView.DESCRIPTOR),
    Contract(saved_views.ViewsList, None, pm_pb2.ViewsList.DESCRIPTOR),
    Contract(EventView, schemas.ChangeEventBase, None),
    Contract(notifications.NotificationView, schemas.Notification, pm_pb2.Notification.DESCRIPTOR),
    Contract(
        notifications.NotificationsPage,
        schemas.NotificationsPage,
        pm_pb2.NotificationsPage.DESCRIPTOR,
    ),
    Contract(notifications.WatchersView, None, pm_pb2.WatchersList.DESCRIPTOR),
    # query answers
    Contract(views.TimeEntries, schemas.TimeEntryPage, pm_pb2.TimeEntriesList.DESCRIPTOR),
    Contract(views.CommentsPage, schemas.CommentPage, pm_pb2.CommentsList.DESCRIPTOR),
    Contract(views.MembersPage, schemas.MemberPage, pm_pb2.MembersList.DESCRIPTOR),
    Contract(ProjectsPage, schemas.ProjectList, pm_pb2.ProjectsList.DESCRIPTOR),
    Contract(views.Paged, None, None),  # the end of every page above, checked with each
    Contract(views.ItemDependencies, schemas.Dependencies, pm_pb2.DependenciesList.DESCRIPTOR),
    Contract(ProjectSnapshot, None, pm_pb2.ProjectSnapshot.DESCRIPTOR),
    Contract(WorkItemsAsOf, None, pm_pb2.WorkItemsList.DESCRIPTOR),
    Contract(WorkItemDetail, schemas.WorkItemDetail, None),
    Contract(SprintReport, schemas.SprintReport, None),
    Contract(BurndownPoint, schemas.BurndownPoint, None),
    Contract(flow.CycleTimeReport, schemas.CycleTimeReport, pm_pb2.CycleTimeReport.DESCRIPTOR),
    Contract(flow.CycleTimeSummary, schemas.CycleTimeSummary, None),
    Contract(flow.Durations, schemas.Durations, pm_pb2.Durations.DESCRIPTOR),
    Contract(flow.ItemFlow, schemas.ItemFlow, pm_pb2.ItemFlow.DESCRIPTOR),
    # the project context and its parts
    Contract(context.ProjectContext, schemas.ProjectContext, None),
    Contract(context.ContextLimits, schemas.ContextLimits, None),
    Contract(context.Counts, schemas.Counts, None),
    Contract(context.PointCounts, schemas.PointCounts, None),
    # running and planned sprints carry figures, finished ones are plain: one list, one model
    Contract(context.RunningSprint | views.SprintView, schemas.ContextSprint, None),
    Contract(context.Velocity, schemas.Velocity, None),
    Contract(context.BlockRef, schemas.BlockRef, None),
    Contract(context.BlockedItem, schemas.BlockedItem, None),
    Contract(context.ContextItem, schemas.ContextItem, None),
    Contract(context.ContextActivity, schemas.ContextActivity, None),
    Contract(context.Truncation, None, None),  # a part of ProjectContext, checked with it
    # search and webhooks (REST flattens a hit into its item: pm.rest.schemas.FoundWorkItem)
    Contract(search.SearchHit, None, pm_pb2.SearchHit.DESCRIPTOR),
    Contract(webhooks.WebhookView, None, pm_pb2.Webhook.DESCRIPTOR),
    Contract(webhooks.DeliveryView, None, pm_pb2.WebhookDelivery.DESCRIPTOR),
    Contract(webhooks.WebhookDeliveries, None, pm_pb2.WebhookDeliveries.DESCRIPTOR),
    # workflow states
    Contract(views.StateView, schemas.WorkflowState, pm_pb2.WorkflowState.DESCRIPTOR),
    Contract(workflow_states.StatesList, schemas.StatesList, pm_pb2.StatesList.DESCRIPTOR),
    # the MCP door renders it as text: no schema or message carries it
    Contract(ProjectOverview, None, None),
    Contract(ProjectOverviewPage, None, None),
]


def _nullable(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation) or annotation is types.NoneType


def _members(view: Any) -> tuple[type, ...]:
    return typing.get_args(view) if isinstance(view, types.UnionType) else (view,)


def _view_fields(view: Any) -> dict[str, bool]:
    """Field name -> whether it may be null (or, in a union, missing from a member)."""
    hints = [typing.get_type_hints(member) for member in _members(view)]
    names = {name for member in hints for name in member}
    return {
        name: any(name not in member or _nullable(member[name]) for member in hints)
        for name in names
    }


def _rest_fields(model: type[BaseModel]) -> dict[str, bool]:
    return {name: _nullable(info.annotation) for name, info in model.model_fields.items()}


def _proto_fields(message: Descriptor) -> dict[str, bool | None]:
    """Field name -> whether it may be null; None for a message field, which proto3 always
    lets be absent (the view says whether it ever is)."""

    def may_be_null(field: FieldDescriptor) -> bool | None:
        if field.message_type is not None and not field.is_repeated:
            return None
        return field.has_presence and not field.is_repeated

    return {field.name: may_be_null(field) for field in message.fields}


@pytest.mark.parametrize("contract", [c for c in CONTRACTS if c.rest is not None], ids=str)
def test_a_view_has_the_fields_of_its_rest_model(contract: Contract) -> None:
    assert contract.rest is not None
    view, rest = _view_fields(contract.view), _rest_fields(contract.rest)
    assert set(view) == set(rest), (
        f"only in the view: {set(view) - set(rest)}; only in REST: {set(rest) - set(view)}"
    )
    nullable = {name for name in view if view[name] != rest[name]}
    assert not nullable, f"null allowed in one and not the other: {nullable}"


@pytest.mark.parametrize("contract", [c for c in CONTRACTS if c.proto is not None], ids=str)
def test_a_view_has_the_fields_of_its_proto_message(contract: Contract) -> None:
    assert contract.proto is not None
    view, proto = _view_fields(contract.view), _proto_fields(contract.proto)
    assert set(view) == set(proto), (
        f"only in the view: {set(view) - set(proto)}; only in the message: {set(proto) - set(view)}"
    )
    name = str(contract)
    differ = {
        field
        for field in view
        if proto[field] is not None
        and view[field] != proto[field]
        and (name, field) not in NULL_NOT_ON_THE_WIRE
    }
    assert not differ, f"null allowed in one and not the other: {differ}"


def _typed_dicts(package: types.ModuleType) -> Iterator[type]:
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(info.name)
        for _name, value in inspect.getmembers(module, is_typeddict):
            if value.__module__ == module.__name__:
                yield value


def test_every_view_is_held_against_its_counterparts() -> None:
    """A new TypedDict in the service layer or the door kit must be listed above."""
    listed = {member for contract in CONTRACTS for member in _members(contract.view)}
    defined = set(_typed_dicts(pm.services)) | set(_typed_dicts(pm.doorkit))
    assert defined - listed == set(), "views nobody holds against a schema or a message"
    assert listed <= defined


def test_the_check_sees_a_missing_field() -> None:
    """The comparison bites: a view with one field less than its model differs."""

    class Short(typing.TypedDict):
        user_id: str

    assert set(_view_fields(Short)) != set(_rest_fields(schemas.UserTime))
    assert set(_view_fields(Short)) != set(_proto_fields(pm_pb2.UserTime.DESCRIPTOR))


# -- the change events of the REST feed, typed ------------------------------------------------


def _envelope_payload(name: str) -> Descriptor:
    field = pm_pb2.Envelope.DESCRIPTOR.fields_by_name[name]
    assert field.containing_oneof is not None and field.message_type is not None, name
    return field.message_type


@pytest.mark.parametrize("name", sorted(schemas.EVENT_PAYLOADS))
def test_an_event_payload_model_is_its_proto_message(name: str) -> None:
    """The REST feed's typed payload has the fields of the Envelope payload of that name."""
    model, message = schemas.EVENT_PAYLOADS[name], _envelope_payload(name)
    assert model.__name__ == message.name
    rest, proto = _rest_fields(model), _proto_fields(message)
    assert set(rest) == set(proto), name
    differ = {f for f in rest if proto[f] is not None and rest[f] != proto[f]}
    assert not differ, f"null allowed in one and not the other: {differ}"


def test_every_event_the_service_layer_emits_has_a_typed_payload() -> None:
    """The payload names written in the service layer (``uow.emit("work_item_created", ...)``)
    are exactly the typed ones: a new event without a model would fail /api/v1/changes."""
    envelope = set(pm_pb2.Envelope.DESCRIPTOR.fields_by_name)
    emitted = set()
    for source in Path(pm.services.__file__).parent.rglob("*.py"):
        emitted |= set(re.findall(r'emit\(\s*"([a-z_]+)"', source.read_text(encoding="utf-8")))
    assert emitted and emitted <= envelope
    assert emitted == set(schemas.EVENT_PAYLOADS)
