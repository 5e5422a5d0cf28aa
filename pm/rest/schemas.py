"""Response models of /api/v1: the field names of DOMAIN.md, documented for agents reading
/docs. Instants are Unix milliseconds (UTC); dates are YYYY-MM-DD."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

WORK_ITEM_EXAMPLE: dict[str, Any] = {
    "id": "5f0c6a4e-8f7e-4a53-9a53-2b7f1f0c9d11",
    "item_type": "task",
    "project_id": "0b7e2f64-3c41-4bb8-9d1e-6c8f6a2d5e10",
    "parent_id": "a1d3c9b2-77b4-4d8e-8f0a-3e2b1c4d5f60",
    "title": "Rate-limit sign-ups",
    "description": "Per email and per IP.",
    "status": "in_progress",
    "priority": "high",
    "assignee_id": "sam",
    "story_points": 3,
    "sprint_id": "c2e4f6a8-1b3d-4f5a-9c7e-0d2f4b6a8c1e",
    "position": "V",
    "version": 4,
    "is_blocked": False,
    "created_at": 1764000000000,
    "created_by": "alice",
    "updated_at": 1764003600000,
    "updated_by": "sam",
}


class Audit(BaseModel):
    created_at: int = Field(description="Unix ms, UTC")
    created_by: str
    updated_at: int = Field(description="Unix ms, UTC")
    updated_by: str


class WorkItem(Audit):
    model_config = ConfigDict(json_schema_extra={"examples": [WORK_ITEM_EXAMPLE]})

    id: str
    item_type: str = Field(description="project | epic | story | task")
    project_id: str = Field(description="The root project (a project's own id)")
    parent_id: str | None
    title: str
    description: str = Field(description="Markdown")
    status: str = Field(description="backlog | todo | in_progress | review | done")
    priority: str = Field(description="low | medium | high | critical")
    assignee_id: str | None
    story_points: int | None
    sprint_id: str | None = Field(description="null: in the backlog")
    position: str = Field(description="Order among siblings: sort as plain strings")
    version: int
    is_blocked: bool = Field(description="True while any item blocking it is not done")


class Sprint(Audit):
    id: str
    project_id: str
    name: str
    goal: str
    start_date: str | None
    end_date: str | None
    status: str = Field(description="planned | active | completed | cancelled")
    velocity: int | None = Field(description="Story points done, recorded at completion")
    committed_points: int | None = Field(description="Story points held at completion")
    started_at: int | None
    completed_at: int | None
    version: int


class Comment(Audit):
    id: str
    work_item_id: str
    project_id: str
    parent_comment_id: str | None = Field(description="Set on a reply (one level deep)")
    content: str
    version: int


class Dependency(Audit):
    id: str
    blocking_item_id: str = Field(description="This item blocks...")
    blocked_item_id: str = Field(description="...this one")
    project_id: str
    dependency_type: str = Field(description="blocks | relates_to")


class DependencyWithOther(Dependency):
    other_item: dict[str, Any] | None = Field(description="id, title and status of the other item")


class SwimLane(Audit):
    id: str
    project_id: str
    name: str
    status_value: str
    position: str
    is_default: bool
    version: int


class Member(Audit):
    id: str
    project_id: str
    user_id: str
    role: str = Field(description="viewer | editor | admin")
    email: str | None
    name: str | None
    version: int


class Activity(BaseModel):
    id: int | None
    entity_type: str
    entity_id: str
    project_id: str | None
    action: str = Field(description="created, updated, moved, deleted, started, completed, ...")
    field_name: str | None
    old_value: str | None
    new_value: str | None
    user_id: str
    version: int | None
    seq: int | None = Field(description="The change-feed seq of the change")
    at: int


class ProjectList(BaseModel):
    projects: list[WorkItem]


class WorkItemPage(BaseModel):
    items: list[WorkItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class ActivityPage(BaseModel):
    entries: list[Activity]
    next_cursor: str | None


class Dependencies(BaseModel):
    blocking: list[DependencyWithOther] = Field(description="Dependencies holding this item up")
    blocked: list[DependencyWithOther] = Field(
        description="Dependencies where this item blocks others"
    )
    is_blocked: bool


class UserTime(BaseModel):
    user_id: str
    total_seconds: int


class WorkItemDetail(BaseModel):
    work_item: WorkItem
    children: list[WorkItem]
    comments: list[Comment]
    time_total_seconds: int = Field(description="Finished entries plus running timers up to now")
    time_by_user: list[UserTime]
    dependencies: Dependencies
    activity: list[Activity] = Field(description="Newest first")


class BurndownPoint(BaseModel):
    date: str
    remaining_points: int


class SprintReport(BaseModel):
    sprint: Sprint
    work_items: list[WorkItem]
    points_committed: int
    points_done: int
    burndown: list[BurndownPoint]


class SprintSummary(Sprint):
    points_committed: int | None = None
    points_done: int | None = None
    burndown: list[BurndownPoint] | None = None


class BlockedItem(BaseModel):
    id: str
    title: str
    status: str
    blocked_by: list[dict[str, Any]]


class Counts(BaseModel):
    items: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    by_assignee: dict[str, int] = Field(description="`unassigned` counts items with no assignee")
    blocked: int


class ProjectContext(BaseModel):
    project: WorkItem
    as_of_seq: int = Field(description="Follow /api/v1/changes from this seq")
    counts: Counts
    work_items: list[WorkItem] = Field(description="Projects and epics first, then stories, tasks")
    truncated: bool
    truncation_note: str | None
    blocked_items: list[BlockedItem]
    dependencies: list[Dependency]
    sprints: list[SprintSummary]
    members: list[Member]
    swim_lanes: list[SwimLane]
    recent_activity: list[Activity]


class ChangeEvent(BaseModel):
    seq: int
    message_id: str = Field(description="The event's id")
    actor_id: str
    sent_at_ms: int
    project_id: str
    payload_name: str = Field(description="e.g. work_item_created, work_item_deleted")
    payload: dict[str, Any]


class Changes(BaseModel):
    events: list[ChangeEvent]
    as_of_seq: int
    has_more: bool


class LlmContextEntry(BaseModel):
    id: str
    context_type: str = Field(description="schema_doc | query_pattern | business_rule | example")
    category: str
    title: str
    content: str
    priority: int


class LlmContextList(BaseModel):
    entries: list[LlmContextEntry]


class ErrorDetail(BaseModel):
    code: str = Field(description="A code of DOMAIN.md, e.g. NOT_FOUND")
    message: str
    field: str | None


class ErrorBody(BaseModel):
    error: ErrorDetail
