"""Public shapes of the entities: the field names of DOMAIN.md and PROTOCOL.md, instants as
int64 milliseconds, enumerations as their lowercase words. Both doors and the change feed use
exactly these dicts, so a live event and its replay are the same bytes.

Each shape is a ``TypedDict`` (plain dicts at run time, checked by mypy where they are built);
tests/test_view_contracts.py holds each one against its REST response model and its pm.proto
message, field by field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypedDict

from pm.domain.models import (
    ActivityLog,
    Comment,
    CustomField,
    Dependency,
    Label,
    ProjectMember,
    SavedView,
    Sprint,
    SwimLane,
    TimeEntry,
    User,
    WorkflowState,
    WorkItem,
)

# A custom field's value: text, date, select, user and url a string; number a float;
# multi_select a list of strings.
FieldValue = str | float | list[str]


class Audited(TypedDict):
    created_at: int
    created_by: str
    updated_at: int
    updated_by: str


class WorkItemView(Audited):
    id: str
    key: str
    item_type: str
    project_id: str
    parent_id: str | None
    title: str
    description: str
    status: str
    priority: str
    assignee_id: str | None
    story_points: int | None
    sprint_id: str | None
    position: str
    version: int
    is_blocked: bool
    start_date: str | None
    due_date: str | None
    is_overdue: bool
    labels: list[str]  # label ids, sorted
    custom_fields: dict[str, FieldValue]  # field id -> value; no value: absent


class SprintView(Audited):
    id: str
    project_id: str
    name: str
    goal: str
    start_date: str | None
    end_date: str | None
    status: str
    velocity: int | None
    committed_points: int | None
    started_at: int | None
    completed_at: int | None
    version: int


class CommentView(Audited):
    id: str
    work_item_id: str
    project_id: str
    parent_comment_id: str | None
    content: str
    version: int


class TimeEntryView(Audited):
    id: str
    work_item_id: str
    project_id: str
    user_id: str
    started_at: int
    ended_at: int | None
    duration_seconds: int | None
    description: str
    version: int


class DependencyView(Audited):
    id: str
    blocking_item_id: str
    blocked_item_id: str
    project_id: str
    dependency_type: str


class ItemRef(TypedDict):
    id: str
    key: str
    title: str
    status: str


class LinkedDependency(DependencyView):
    """A dependency of one item, with the item at its other end."""

    other_item: ItemRef | None


class SwimLaneView(Audited):
    id: str
    project_id: str
    name: str
    status_value: str
    position: str
    is_default: bool
    version: int


class StateView(Audited):
    id: str
    project_id: str
    key: str
    name: str
    colour: str
    category: str
    position: str
    version: int


class LabelView(Audited):
    id: str
    project_id: str
    name: str
    colour: str
    version: int


class CustomFieldView(Audited):
    id: str
    project_id: str
    name: str
    field_type: str
    options: list[str]
    required: bool
    version: int


class SavedViewView(Audited):
    id: str
    project_id: str
    owner_id: str
    name: str
    filters: dict[str, Any]  # a SearchWorkItems spec: the fields of ViewFilters that are set
    group_by: str
    sort: str
    shared: bool
    version: int


class MemberView(Audited):
    id: str
    project_id: str
    user_id: str
    role: str
    email: str | None
    name: str | None
    version: int


class ActivityView(TypedDict):
    id: int | None
    entity_type: str
    entity_id: str
    project_id: str | None
    action: str
    field_name: str | None
    old_value: str | None
    new_value: str | None
    user_id: str
    version: int | None
    seq: int | None
    at: int


def _audit(
    row: WorkItem
    | Sprint
    | Comment
    | TimeEntry
    | Dependency
    | SwimLane
    | ProjectMember
    | WorkflowState
    | Label
    | CustomField
    | SavedView,
) -> Audited:
    return {
        "created_at": row.created_at,
        "created_by": row.created_by,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }


def utc_today() -> str:
    return datetime.now(UTC).date().isoformat()


def work_item_view(
    item: WorkItem,
    *,
    is_blocked: bool = False,
    is_overdue: bool = False,
    labels: list[str] | None = None,
    custom_fields: dict[str, FieldValue] | None = None,
) -> WorkItemView:
    """Derived flags are the caller's: ``is_blocked`` from the dependencies, ``is_overdue``
    from the project's workflow (pm.services.workflows.overdue_among); ``labels`` and
    ``custom_fields`` are the item's (pm.services.item_fields reads them), None: it has none."""
    return {
        "id": item.id,
        "key": item.key,
        "item_type": item.item_type,
        "project_id": item.project_id,
        "parent_id": item.parent_id,
        "title": item.title,
        "description": item.description,
        "status": item.status,
        "priority": item.priority,
        "assignee_id": item.assignee_id,
        "story_points": item.story_points,
        "sprint_id": item.sprint_id,
        "position": item.position,
        "version": item.version,
        "is_blocked": is_blocked,
        "start_date": item.start_date,
        "due_date": item.due_date,
        "is_overdue": is_overdue,
        "labels": labels or [],
        "custom_fields": custom_fields or {},
        **_audit(item),
    }


def sprint_view(sprint: Sprint) -> SprintView:
    return {
        "id": sprint.id,
        "project_id": sprint.project_id,
        "name": sprint.name,
        "goal": sprint.goal,
        "start_date": sprint.start_date,
        "end_date": sprint.end_date,
        "status": sprint.status,
        "velocity": sprint.velocity,
        "committed_points": sprint.committed_points,
        "started_at": sprint.started_at,
        "completed_at": sprint.completed_at,
        "version": sprint.version,
        **_audit(sprint),
    }


def comment_view(comment: Comment) -> CommentView:
    return {
        "id": comment.id,
        "work_item_id": comment.work_item_id,
        "project_id": comment.project_id,
        "parent_comment_id": comment.parent_comment_id,
        "content": comment.content,
        "version": comment.version,
        **_audit(comment),
    }


def time_entry_view(entry: TimeEntry) -> TimeEntryView:
    return {
        "id": entry.id,
        "work_item_id": entry.work_item_id,
        "project_id": entry.project_id,
        "user_id": entry.user_id,
        "started_at": entry.started_at,
        "ended_at": entry.ended_at,
        "duration_seconds": entry.duration_seconds,
        "description": entry.description,
        "version": entry.version,
        **_audit(entry),
    }


def dependency_view(dep: Dependency) -> DependencyView:
    return {
        "id": dep.id,
        "blocking_item_id": dep.blocking_item_id,
        "blocked_item_id": dep.blocked_item_id,
        "project_id": dep.project_id,
        "dependency_type": dep.dependency_type,
        **_audit(dep),
    }


def swim_lane_view(lane: SwimLane) -> SwimLaneView:
    return {
        "id": lane.id,
        "project_id": lane.project_id,
        "name": lane.name,
        "status_value": lane.status_value,
        "position": lane.position,
        "is_default": lane.is_default,
        "version": lane.version,
        **_audit(lane),
    }


def state_view(state: WorkflowState) -> StateView:
    return {
        "id": state.id,
        "project_id": state.project_id,
        "key": state.key,
        "name": state.name,
        "colour": state.colour,
        "category": state.category,
        "position": state.position,
        "version": state.version,
        **_audit(state),
    }


def label_view(label: Label) -> LabelView:
    return {
        "id": label.id,
        "project_id": label.project_id,
        "name": label.name,
        "colour": label.colour,
        "version": label.version,
        **_audit(label),
    }


def custom_field_view(field: CustomField) -> CustomFieldView:
    return {
        "id": field.id,
        "project_id": field.project_id,
        "name": field.name,
        "field_type": field.field_type,
        "options": json.loads(field.options),
        "required": field.required,
        "version": field.version,
        **_audit(field),
    }


def saved_view_view(view: SavedView) -> SavedViewView:
    return {
        "id": view.id,
        "project_id": view.project_id,
        "owner_id": view.owner_id,
        "name": view.name,
        "filters": json.loads(view.filters),
        "group_by": view.group_by,
        "sort": view.sort,
        "shared": view.shared,
        "version": view.version,
        **_audit(view),
    }


def member_view(member: ProjectMember, user: User | None = None) -> MemberView:
    return {
        "id": member.id,
        "project_id": member.project_id,
        "user_id": member.user_id,
        "role": member.role,
        "email": user.email if user else None,
        "name": user.name if user else None,
        "version": member.version,
        **_audit(member),
    }


def activity_view(row: ActivityLog) -> ActivityView:
    return {
        "id": row.id,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "project_id": row.project_id,
        "action": row.action,
        "field_name": row.field_name,
        "old_value": row.old_value,
        "new_value": row.new_value,
        "user_id": row.user_id,
        "version": row.version,
        "seq": row.seq,
        "at": row.at,
    }


class UserTime(TypedDict):
    user_id: str
    total_seconds: int


class Paged(TypedDict):
    """The end of every bounded list: ``has_more`` when the bounds left rows out, and the
    cursor its request takes to go on from them."""

    has_more: bool
    next_cursor: str | None


class TimeEntries(Paged):
    """A page of an item's time entries, with the totals of all of them (a running timer
    counted up to now)."""

    time_entries: list[TimeEntryView]
    total_seconds: int
    by_user: list[UserTime]


class ItemDependencies(Paged):
    """``blocking``: dependencies whose blocking item holds this one up (it is the blocked
    side); ``blocked``: dependencies in which this item blocks others. One page of both,
    oldest first; ``is_blocked`` over all of them."""

    blocking: list[LinkedDependency]
    blocked: list[LinkedDependency]
    is_blocked: bool


class CommentsPage(Paged):
    """A page of an item's comments, oldest first."""

    comments: list[CommentView]


class MembersPage(Paged):
    """A page of a project's members, oldest membership first."""

    members: list[MemberView]


def paged(next_cursor: str | None) -> Paged:
    return {"has_more": next_cursor is not None, "next_cursor": next_cursor}


class LlmContextEntry(TypedDict):
    id: str
    context_type: str
    category: str
    title: str
    content: str
    priority: int
