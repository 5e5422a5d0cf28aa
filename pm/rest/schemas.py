"""Models of /api/v1: the query parameters of each endpoint, then the responses, with the field
names of DOMAIN.md, each documented, so /docs and /openapi.json are the whole reference an agent
needs. Instants are Unix milliseconds (UTC) in fields ending ``_at``; calendar dates are
``YYYY-MM-DD``; enumerations are lowercase words."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from pm.domain.enums import ContextType, ItemType, Priority

PROJECT_ID = "0b7e2f64-3c41-4bb8-9d1e-6c8f6a2d5e10"
EPIC_ID = "a1d3c9b2-77b4-4d8e-8f0a-3e2b1c4d5f60"
ITEM_ID = "5f0c6a4e-8f7e-4a53-9a53-2b7f1f0c9d11"
BLOCKER_ID = "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"
SPRINT_ID = "c2e4f6a8-1b3d-4f5a-9c7e-0d2f4b6a8c1e"
AT = 1764000000000

WORK_ITEM_EXAMPLE: dict[str, Any] = {
    "id": ITEM_ID,
    "key": "APO-12",
    "item_type": "task",
    "project_id": PROJECT_ID,
    "parent_id": EPIC_ID,
    "title": "Rate-limit sign-ups",
    "description": "Per email and per IP.",
    "status": "in_progress",
    "priority": "high",
    "assignee_id": "sam",
    "story_points": 3,
    "sprint_id": SPRINT_ID,
    "position": "V",
    "version": 4,
    "is_blocked": False,
    "start_date": "2026-03-02",
    "due_date": "2026-03-06",
    "is_overdue": False,
    "labels": ["3c6b1d2e-5a7f-4e8b-9c0d-1e2f3a4b5c6d"],
    "custom_fields": {"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d": 5.0},
    "created_at": AT,
    "created_by": "alice",
    "updated_at": AT + 3_600_000,
    "updated_by": "sam",
}
ACTIVITY_EXAMPLE: dict[str, Any] = {
    "id": 812,
    "entity_type": "work_item",
    "entity_id": ITEM_ID,
    "project_id": PROJECT_ID,
    "action": "updated",
    "field_name": "status",
    "old_value": "todo",
    "new_value": "in_progress",
    "user_id": "sam",
    "version": 4,
    "seq": 1207,
    "at": AT + 3_600_000,
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# -- query parameters ----------------------------------------------------------------------


class QueryParameters(BaseModel):
    """The query parameters of one endpoint. An unknown parameter is refused (422 naming it),
    not ignored: a misspelt filter (``stauts=done``) would otherwise widen the answer silently."""

    model_config = ConfigDict(extra="forbid")


def _ref(what: str) -> Any:
    return Field(default=None, max_length=255, description=what)


def _limit() -> Any:
    return Field(
        default=None,
        ge=1,
        description="Page size: default 100; a larger one is capped at the server's maximum",
    )


def _cursor() -> Any:
    return Field(
        default=None,
        max_length=512,
        description="The `next_cursor` of the previous page (any other value is refused)",
    )


def _iso_text(value: Any) -> Any:
    """A query date must be written YYYY-MM-DD (pydantic alone takes "0" as 1970-01-01)."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]


class NoParameters(QueryParameters):
    """For endpoints that take no query parameter."""


class PageParameters(QueryParameters):
    """A bounded list: its page size and the cursor of the page before."""

    limit: int | None = _limit()
    cursor: str | None = _cursor()


class ContextParameters(QueryParameters):
    format: Literal["json", "markdown"] = Field(
        default="json", description="`markdown`: the same content as headings and nested lists"
    )
    max_items: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Fewer items than the server's bound (default 2000); more is capped",
    )


class WorkItemFilters(QueryParameters):
    project_id: str | None = _ref("Items of this project only (its id or its key, `APO`)")
    status: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,15}$",
        description="Items in this state only (a state's key; of the project's states when "
        "`project_id` is given)",
    )
    assignee_id: str | None = _ref("Items assigned to this user id only")
    sprint_id: str | None = _ref("Items planned in this sprint only")
    item_type: ItemType | None = Field(default=None, description="Items of this type only")
    priority: Priority | None = Field(default=None, description="Items of this priority only")
    q: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"\S",
        description="Full-text search of titles, descriptions and comments, best match first;"
        " every word must match, the last one as a prefix; characters are literal",
    )
    due_from: IsoDate | None = Field(default=None, description="Due on or after this YYYY-MM-DD")
    due_to: IsoDate | None = Field(default=None, description="Due on or before this YYYY-MM-DD")
    label: list[Annotated[str, Field(max_length=255)]] = Field(
        default_factory=list,
        description="Items with this label (its id or name); repeat it: items with every one",
    )
    field: list[Annotated[str, Field(max_length=2300, pattern=r"^[^=<>]+(=|>=|<=)")]] = Field(
        default_factory=list,
        description="A custom field condition, `FIELD=VALUE` (a multi_select: has the option),"
        " `FIELD>=LOW` or `FIELD<=HIGH` (number and date fields); FIELD its id or name; repeat"
        " it: items meeting every one (labels and field conditions together: at most the"
        " server's `views_max_conditions`, 20 by default, else VALIDATION_ERROR)",
    )
    sort: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^-?(created|updated|title|due_date|start_date|priority|field:.+)$",
        description="created (default), updated, title, due_date, start_date, priority or"
        " field:<id>; a leading `-` descends; items without a value come last",
    )
    view_id: str | None = _ref("A saved view's filters and sort (the other parameters add to them)")
    limit: int | None = _limit()
    cursor: str | None = _cursor()


class ActivityFilters(QueryParameters):
    project_id: str | None = _ref("Activity of this project only")
    entity_id: str | None = _ref("Activity of this entity (item, sprint, comment...) only")
    user_id: str | None = _ref("Changes made by this user id only")
    since: int | None = Field(default=None, ge=0, le=2**53, description="Unix ms, inclusive")
    until: int | None = Field(default=None, ge=0, le=2**53, description="Unix ms, exclusive")
    limit: int | None = _limit()
    cursor: str | None = _cursor()


class NotificationFilters(QueryParameters):
    unread_only: bool = Field(default=False, description="Only the unread ones")
    limit: int | None = _limit()
    cursor: str | None = _cursor()


class CycleTimeParameters(QueryParameters):
    since: IsoDate | None = Field(
        default=None, description="YYYY-MM-DD, first day (UTC); default: 30 days before `until`"
    )
    until: IsoDate | None = Field(
        default=None, description="YYYY-MM-DD, last day, inclusive; default: today"
    )


class ChangesParameters(QueryParameters):
    since_seq: int = Field(
        ge=0,
        le=2**62,
        description="The last seq you saw (0: from the start). A seq the feed can't vouch for "
        "(from before a restore, or past the feed) answers 410 RESYNC_REQUIRED: load again",
    )
    project_id: list[str] | None = Field(
        default=None, max_length=100, description="Repeat for several projects (default: all)"
    )
    limit: int | None = _limit()


class LlmContextFilters(QueryParameters):
    context_type: ContextType | None = Field(default=None, description="Entries of this type only")
    category: str | None = Field(
        default=None, max_length=64, description="Entries of this category only"
    )


# -- responses -----------------------------------------------------------------------------


class Audit(BaseModel):
    created_at: int = Field(description="When it was created (Unix ms, UTC)")
    created_by: str = Field(description="User id of its creator")
    updated_at: int = Field(description="When it last changed (Unix ms, UTC)")
    updated_by: str = Field(description="User id of the last change's author")


class WorkItem(Audit):
    """A project, epic, story or task: one table, four levels."""

    model_config = _examples(WORK_ITEM_EXAMPLE)

    id: str = Field(description="UUID")
    key: str = Field(
        description="Short key, accepted wherever the id is: `APO-12` (a project's: `APO`)"
    )
    item_type: str = Field(description="project | epic | story | task (fixed at creation)")
    project_id: str = Field(description="The root project (a project's own id)")
    parent_id: str | None = Field(description="The parent item; null for a project")
    title: str = Field(description="1 to 200 characters")
    description: str = Field(description="Markdown, up to 50,000 characters")
    status: str = Field(
        description="The key of one of the project's workflow states (by default backlog, "
        "todo, in_progress, review, done)"
    )
    priority: str = Field(description="low | medium | high | critical")
    assignee_id: str | None = Field(description="User id of the assignee, or null")
    story_points: int | None = Field(description="0 to 1000, or null")
    sprint_id: str | None = Field(description="The sprint it is planned in; null: the backlog")
    position: str = Field(description="Order among siblings: sort as plain strings")
    version: int = Field(description="Starts at 1, +1 on every change")
    is_blocked: bool = Field(description="True while any item blocking it is not done")
    start_date: str | None = Field(description="YYYY-MM-DD, or null")
    due_date: str | None = Field(description="YYYY-MM-DD (not before start_date), or null")
    is_overdue: bool = Field(description="Due before today (UTC) and not done")
    labels: list[str] = Field(description="Ids of the item's labels (the project's `labels`)")
    custom_fields: dict[str, str | float | list[str]] = Field(
        description="Custom field id -> value: a string (text, date, select, user, url), a number,"
        " or a list of options (multi_select); a field without a value is absent"
    )


class Label(Audit):
    id: str = Field(description="UUID")
    project_id: str
    name: str = Field(description="1 to 50 characters, unique in the project whatever the case")
    colour: str = Field(description="#rrggbb")
    version: int


class CustomField(Audit):
    id: str = Field(description="UUID")
    project_id: str
    name: str = Field(description="1 to 50 characters, unique in the project whatever the case")
    field_type: str = Field(description="text | number | date | select | multi_select | user | url")
    options: list[str] = Field(description="The choices of a select or multi_select")
    required: bool = Field(description="Set on every new item; can't be cleared")
    version: int


class Sprint(Audit):
    id: str = Field(description="UUID")
    project_id: str
    name: str = Field(description="1 to 100 characters")
    goal: str
    start_date: str | None = Field(description="YYYY-MM-DD")
    end_date: str | None = Field(description="YYYY-MM-DD, not before start_date")
    status: str = Field(description="planned | active | completed | cancelled")
    velocity: int | None = Field(description="Story points done, recorded at completion")
    committed_points: int | None = Field(description="Story points it held at completion")
    started_at: int | None = Field(description="Unix ms")
    completed_at: int | None = Field(description="Unix ms")
    version: int


class Comment(Audit):
    id: str
    work_item_id: str
    project_id: str
    parent_comment_id: str | None = Field(description="Set on a reply (one level deep)")
    content: str = Field(description="Markdown, 1 to 20,000 characters")
    version: int


class Dependency(Audit):
    id: str
    blocking_item_id: str = Field(description="This item blocks...")
    blocked_item_id: str = Field(description="...this one")
    project_id: str = Field(description="The blocked item's project")
    dependency_type: str = Field(description="blocks | relates_to")


class ItemRef(BaseModel):
    """Enough of another item to name it; GET /api/v1/work-items/{id} has the rest."""

    id: str
    key: str
    title: str
    status: str


class DependencyWithOther(Dependency):
    other_item: ItemRef | None = Field(description="The item at the other end")


class SwimLane(Audit):
    id: str
    project_id: str
    name: str
    status_value: str = Field(description="The status this board column shows")
    position: str = Field(description="Column order: sort as plain strings")
    is_default: bool = Field(description="Default lanes can be renamed, not deleted")
    version: int


class WorkflowState(Audit):
    """One of a project's own workflow states; items carry its ``key`` in ``status``."""

    id: str
    project_id: str
    key: str = Field(description="What items carry in `status`; never changed, never reused")
    name: str
    colour: str = Field(description="#rrggbb")
    category: str = Field(
        description="backlog | unstarted | started | review | completed | cancelled: what the "
        "state means to velocity, blocking, burndown, overdue and cycle time"
    )
    position: str = Field(description="Board order: sort as plain strings")
    version: int


class StatesList(BaseModel):
    project_id: str
    states: list[WorkflowState] = Field(description="In board order")


class Member(Audit):
    id: str
    project_id: str
    user_id: str
    role: str = Field(description="viewer < editor < admin")
    email: str | None
    name: str | None
    version: int


class Activity(BaseModel):
    """One field change or action, written in the same transaction as the change."""

    model_config = _examples(ACTIVITY_EXAMPLE)

    id: int | None
    entity_type: str = Field(description="work_item, sprint, comment, time_entry, ...")
    entity_id: str
    project_id: str | None
    action: str = Field(description="created, updated, moved, deleted, started, completed, ...")
    field_name: str | None = Field(description="The changed field, for field changes")
    old_value: str | None
    new_value: str | None
    user_id: str = Field(description="Who made the change")
    version: int | None = Field(description="The entity's version the change produced")
    seq: int | None = Field(description="The change-feed seq of the change")
    at: int = Field(description="Unix ms")


def _has_more() -> Any:
    return Field(description="True: the bounds left some out; pass `next_cursor` as `cursor`")


def _next_cursor() -> Any:
    return Field(description="Pass as `cursor` for the next page; null: done")


class ProjectList(BaseModel):
    projects: list[WorkItem] = Field(
        description="Projects you are a member of (all, for admins), oldest first"
    )
    has_more: bool = _has_more()
    next_cursor: str | None = _next_cursor()


class MemberPage(BaseModel):
    members: list[Member] = Field(description="Oldest membership first")
    has_more: bool = _has_more()
    next_cursor: str | None = _next_cursor()


class CommentPage(BaseModel):
    comments: list[Comment] = Field(description="Oldest first; replies carry parent_comment_id")
    has_more: bool = _has_more()
    next_cursor: str | None = _next_cursor()


class FoundWorkItem(WorkItem):
    """A work item as a search finds it: with ``q``, where and how well it matched."""

    snippet: str | None = Field(
        description="With `q`: the best matching passage, matches in **bold**; else null"
    )
    rank: float | None = Field(description="With `q`: relevance, higher is better; else null")


class WorkItemPage(BaseModel):
    model_config = _examples(
        {
            "items": [{**WORK_ITEM_EXAMPLE, "snippet": "**Rate**-limit sign-ups", "rank": 7.25}],
            "next_cursor": "WzE3NjQwMDAwMDAwMDBd",
        }
    )

    items: list[FoundWorkItem] = Field(description="Best match first with `q`, else oldest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")


class ChildrenPage(BaseModel):
    model_config = _examples({"items": [WORK_ITEM_EXAMPLE], "next_cursor": None})

    items: list[WorkItem] = Field(description="In board order (position, then id)")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")


class ActivityPage(BaseModel):
    model_config = _examples({"entries": [ACTIVITY_EXAMPLE], "next_cursor": None})

    entries: list[Activity] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")


class Notification(BaseModel):
    id: str
    reason: Literal["assigned", "mentioned", "commented", "status_changed"]
    project_id: str
    work_item_id: str
    work_item_key: str = Field(description="The item's short key (APO-12)")
    title: str = Field(description="The item's title when the notification was made")
    excerpt: str = Field(description="The comment or text, or `old -> new` of a status")
    comment_id: str | None
    actor_id: str = Field(description="Who made the change")
    created_at: int = Field(description="Unix ms")
    read_at: int | None = Field(description="Unix ms; null: unread")


class NotificationsPage(BaseModel):
    notifications: list[Notification] = Field(description="Yours alone, newest first")
    unread_count: int
    has_more: bool = _has_more()
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")
    as_of_seq: int = Field(description="The change feed's seq this page is as of")


class Dependencies(BaseModel):
    blocking: list[DependencyWithOther] = Field(description="Dependencies holding this item up")
    blocked: list[DependencyWithOther] = Field(description="Dependencies where it blocks others")
    is_blocked: bool = Field(description="Over every dependency, whatever this page holds")
    has_more: bool = _has_more()
    next_cursor: str | None = Field(
        description="Both lists are one page, oldest first: GET "
        "/api/v1/work-items/{id}/dependencies?cursor= goes on; null: done"
    )


class TimeEntry(Audit):
    id: str
    work_item_id: str
    project_id: str
    user_id: str = Field(description="Whose time it is")
    started_at: int = Field(description="Unix ms")
    ended_at: int | None = Field(description="Unix ms; null while the timer runs")
    duration_seconds: int | None = Field(description="Set when it ended")
    description: str
    version: int


class UserTime(BaseModel):
    user_id: str
    total_seconds: int


class TimeEntryPage(BaseModel):
    time_entries: list[TimeEntry] = Field(description="By start")
    total_seconds: int = Field(description="Every entry, running timers up to now")
    by_user: list[UserTime] = Field(description="The total per user, every entry")
    has_more: bool = _has_more()
    next_cursor: str | None = _next_cursor()


class WorkItemDetail(BaseModel):
    """Each list is the first page of its own endpoint, and the answer is bounded in bytes:
    a list's `*_next_cursor` (null: complete) goes on there."""

    work_item: WorkItem
    children: list[WorkItem] = Field(description="Live children in board order")
    children_next_cursor: str | None = Field(
        description="GET /api/v1/work-items/{id}/children?cursor= goes on; null: complete"
    )
    comments: list[Comment] = Field(description="Oldest first")
    comments_next_cursor: str | None = Field(
        description="GET /api/v1/work-items/{id}/comments?cursor= goes on; null: complete"
    )
    time_total_seconds: int = Field(description="Finished entries plus running timers up to now")
    time_by_user: list[UserTime]
    dependencies: Dependencies
    activity: list[Activity] = Field(description="The item's latest 50 changes, newest first")
    activity_next_cursor: str | None = Field(
        description="GET /api/v1/activity?entity_id={id}&cursor= goes on; null: complete"
    )


class BurndownPoint(BaseModel):
    date: str = Field(description="YYYY-MM-DD")
    remaining_points: int = Field(description="Points not done at the end of that day")


class SprintReport(BaseModel):
    sprint: Sprint
    work_items: list[WorkItem]
    points_committed: int = Field(description="Story points of the sprint's items")
    points_done: int = Field(description="Story points of its done items")
    burndown: list[BurndownPoint] = Field(description="One point per day, start to today")


class Durations(BaseModel):
    count: int = Field(description="Items measured")
    p50_ms: int | None = Field(description="Median, milliseconds (nearest rank; null: none)")
    p85_ms: int | None = Field(description="85th percentile, milliseconds")
    p95_ms: int | None = Field(description="95th percentile, milliseconds")


class ItemFlow(BaseModel):
    work_item_id: str
    title: str
    item_type: str
    created_at: int = Field(description="Unix ms")
    started_at: int | None = Field(
        description="First entry into in_progress or review before completion (null: never)"
    )
    completed_at: int = Field(description="First entry into done, Unix ms")
    cycle_time_ms: int | None = Field(description="completed_at - started_at")
    lead_time_ms: int = Field(description="completed_at - created_at")


class CycleTimeSummary(BaseModel):
    since: str = Field(description="YYYY-MM-DD, first day of the range (UTC)")
    until: str = Field(description="YYYY-MM-DD, last day, inclusive")
    cycle_time: Durations = Field(description="First start to first completion")
    lead_time: Durations = Field(description="Creation to first completion")
    has_more: bool = Field(description="More items than the bound: the figures cover the earliest")


class CycleTimeReport(CycleTimeSummary):
    project_id: str
    items: list[ItemFlow] = Field(
        description="The items first completed in the range, by completion"
    )


class ContextSprint(Sprint):
    """A sprint in the project context: running and planned ones carry their live figures."""

    points_committed: int | None = Field(default=None, description="Running/planned sprints")
    points_done: int | None = Field(default=None, description="Running/planned sprints")
    items: int | None = Field(default=None, description="Items in it (running/planned sprints)")
    burndown: list[BurndownPoint] | None = Field(default=None, description="Running sprints")


class Velocity(BaseModel):
    recent_average: float | None = Field(
        description="Mean velocity of the latest completed sprints (null: none completed yet)"
    )
    sprints_averaged: int


class BlockRef(BaseModel):
    id: str
    key: str
    title: str
    status: str
    assignee_id: str | None


class BlockedItem(BlockRef):
    blocked_by: list[BlockRef] = Field(description="Items with a `blocks` edge to it")


class PointCounts(BaseModel):
    total: int
    done: int


class Counts(BaseModel):
    items: int = Field(description="Live items below the project (all of them, never truncated)")
    blocked: int
    by_status: dict[str, int]
    by_category: dict[str, int] = Field(description="The same items by their state's category")
    by_type: dict[str, int]
    by_assignee: dict[str, dict[str, int]] = Field(
        description="Per assignee id (`unassigned` for none): `total` and a count per status"
    )
    story_points: PointCounts


class ContextItem(BaseModel):
    """A work item in the context: the tree fields, description clipped."""

    id: str
    key: str
    item_type: str
    parent_id: str | None
    depth: int = Field(description="0 for a project's direct children, +1 per level")
    title: str
    description: str | None = Field(description="Clipped to `limits.text_chars` characters")
    status: str
    priority: str
    assignee_id: str | None
    story_points: int | None
    sprint_id: str | None
    position: str
    is_blocked: bool
    version: int
    updated_at: int
    start_date: str | None
    due_date: str | None
    is_overdue: bool
    labels: list[str] = Field(description="Label names")
    custom_fields: dict[str, str | float | list[str]] = Field(
        description="Custom field name -> value"
    )


class ContextActivity(BaseModel):
    at: int
    user_id: str
    action: str
    entity_type: str
    entity_id: str
    field_name: str | None
    old_value: str | None = Field(description="Clipped to `limits.text_chars` characters")
    new_value: str | None = Field(description="Clipped to `limits.text_chars` characters")
    seq: int | None


class ContextLimits(BaseModel):
    max_items: int = Field(description="Most work items (and blocked items, dependencies, members)")
    text_chars: int = Field(description="Longest free text before it is clipped")
    recent_activity: int = Field(description="Activity rows included")
    finished_sprints: int = Field(description="Completed or cancelled sprints included")


class ProjectContext(BaseModel):
    """Everything about one project in one bounded answer."""

    model_config = _examples(
        {
            "project": {**WORK_ITEM_EXAMPLE, "id": PROJECT_ID, "item_type": "project"},
            "as_of_seq": 1207,
            "limits": {
                "max_items": 2000,
                "text_chars": 280,
                "recent_activity": 50,
                "finished_sprints": 10,
            },
            "truncated": False,
            "truncation_note": None,
            "counts": {
                "items": 2,
                "blocked": 1,
                "by_status": {"in_progress": 1, "todo": 1},
                "by_category": {"started": 1, "unstarted": 1},
                "by_type": {"task": 2},
                "by_assignee": {"sam": {"total": 2, "in_progress": 1, "todo": 1}},
                "story_points": {"total": 8, "done": 0},
            },
            "sprints": [],
            "velocity": {"recent_average": 21.5, "sprints_averaged": 2},
            "blocked_items": [
                {
                    "id": ITEM_ID,
                    "title": "Rate-limit sign-ups",
                    "status": "todo",
                    "assignee_id": "sam",
                    "blocked_by": [
                        {
                            "id": BLOCKER_ID,
                            "title": "Sign-up form",
                            "status": "in_progress",
                            "assignee_id": "sam",
                        }
                    ],
                }
            ],
            "work_items": [],
            "dependencies": [],
            "members": [],
            "states": [],
            "swim_lanes": [],
            "recent_activity": [],
        }
    )

    project: WorkItem
    as_of_seq: int = Field(description="The change-feed seq of this snapshot: poll /changes after")
    limits: ContextLimits = Field(description="The bounds this answer was cut to")
    truncated: bool = Field(description="True when some list was cut to its bound")
    truncation_note: str | None = Field(description="What was left out, and where to page for it")
    counts: Counts
    sprints: list[ContextSprint] = Field(
        description="Running and planned sprints, then the latest finished ones"
    )
    velocity: Velocity
    cycle_time: CycleTimeSummary = Field(
        description="Cycle and lead time of the items completed in the last 30 days"
    )
    blocked_items: list[BlockedItem]
    work_items: list[ContextItem] = Field(
        description="The item tree, depth first, siblings in board order; most relevant items "
        "(in progress, review, todo, backlog, done) kept first, always with their ancestors"
    )
    dependencies: list[Dependency]
    members: list[Member]
    states: list[WorkflowState] = Field(description="The project's workflow states, board order")
    swim_lanes: list[SwimLane]
    labels: list[Label]
    custom_fields: list[CustomField]
    recent_activity: list[ContextActivity] = Field(description="Newest first")


class FieldChange(BaseModel):
    field: str
    old_value: str | None
    new_value: str | None


# -- change events: the payload of each, as pm.proto's message of the same name --------------
# tests/test_view_contracts.py holds each against its message; a payload the service layer
# emits without a model here would make GET /api/v1/changes fail its own response model.


class WorkItemCreated(BaseModel):
    work_item: WorkItem


class WorkItemUpdated(BaseModel):
    work_item: WorkItem
    changes: list[FieldChange] = Field(description="One per field that really changed")


class WorkItemDeleted(BaseModel):
    work_item_id: str
    project_id: str


class SprintCreated(BaseModel):
    sprint: Sprint


class SprintUpdated(BaseModel):
    sprint: Sprint
    changes: list[FieldChange]


class SprintDeleted(BaseModel):
    sprint_id: str
    project_id: str


class CommentCreated(BaseModel):
    comment: Comment


class CommentUpdated(BaseModel):
    comment: Comment


class CommentDeleted(BaseModel):
    comment_id: str
    work_item_id: str
    project_id: str


class TimerStarted(BaseModel):
    time_entry: TimeEntry
    stopped_entry: TimeEntry | None = Field(
        default=None, description="The user's timer this one stopped, in the same transaction"
    )


class TimeEntryCreated(BaseModel):
    time_entry: TimeEntry


class TimeEntryUpdated(BaseModel):
    time_entry: TimeEntry


class TimeEntryDeleted(BaseModel):
    time_entry_id: str
    work_item_id: str
    project_id: str


class DependencyCreated(BaseModel):
    dependency: Dependency


class DependencyDeleted(BaseModel):
    dependency_id: str
    project_id: str


class SwimLaneCreated(BaseModel):
    swim_lane: SwimLane


class SwimLaneUpdated(BaseModel):
    swim_lane: SwimLane
    changes: list[FieldChange]


class SwimLaneDeleted(BaseModel):
    swim_lane_id: str
    project_id: str


class StateCreated(BaseModel):
    state: WorkflowState


class StateUpdated(BaseModel):
    state: WorkflowState
    changes: list[FieldChange]


class StateDeleted(BaseModel):
    state_id: str
    project_id: str
    moved_items_to: str | None = Field(description="The key its items moved to, if any")


class MemberAdded(BaseModel):
    member: Member


class MemberUpdated(BaseModel):
    member: Member
    changes: list[FieldChange]


class MemberRemoved(BaseModel):
    project_id: str
    user_id: str


class BlockedState(BaseModel):
    work_item_id: str
    is_blocked: bool


class BlockedChanged(BaseModel):
    """Items whose derived ``is_blocked`` changed (a dependency, a blocker's status, a delete)."""

    project_id: str
    changes: list[BlockedState]


class WebhookDeleted(BaseModel):
    webhook_id: str


class LabelCreated(BaseModel):
    label: Label


class LabelUpdated(BaseModel):
    label: Label
    changes: list[FieldChange]


class LabelDeleted(BaseModel):
    """The label is gone, and off every item."""

    label_id: str
    project_id: str


class CustomFieldCreated(BaseModel):
    custom_field: CustomField


class CustomFieldUpdated(BaseModel):
    custom_field: CustomField
    changes: list[FieldChange]


class CustomFieldDeleted(BaseModel):
    """The field is gone, with its values."""

    custom_field_id: str
    project_id: str


class SavedView(Audit):
    id: str = Field(description="UUID")
    project_id: str
    owner_id: str
    name: str
    filters: dict[str, Any] = Field(description="The search's filters (SearchWorkItems' names)")
    group_by: str
    sort: str
    shared: bool
    version: int


class ViewSaved(BaseModel):
    """A shared view, made or changed."""

    view: SavedView


class ViewDeleted(BaseModel):
    """A shared view deleted, or no longer shared."""

    view_id: str
    project_id: str


class NotificationCreated(BaseModel):
    """One of the caller's notifications (their own stream: nobody else's feed has it)."""

    notification: Notification
    unread_count: int


class NotificationsRead(BaseModel):
    ids: list[str] = Field(description="Those that changed (empty with `all`)")
    all: bool
    unread_count: int


class WatchChanged(BaseModel):
    work_item_id: str
    project_id: str
    watching: bool


EVENT_PAYLOADS: dict[str, type[BaseModel]] = {
    "work_item_created": WorkItemCreated,
    "work_item_updated": WorkItemUpdated,
    "work_item_deleted": WorkItemDeleted,
    "sprint_created": SprintCreated,
    "sprint_updated": SprintUpdated,
    "sprint_deleted": SprintDeleted,
    "comment_created": CommentCreated,
    "comment_updated": CommentUpdated,
    "comment_deleted": CommentDeleted,
    "timer_started": TimerStarted,
    "time_entry_created": TimeEntryCreated,
    "time_entry_updated": TimeEntryUpdated,
    "time_entry_deleted": TimeEntryDeleted,
    "dependency_created": DependencyCreated,
    "dependency_deleted": DependencyDeleted,
    "swim_lane_created": SwimLaneCreated,
    "swim_lane_updated": SwimLaneUpdated,
    "swim_lane_deleted": SwimLaneDeleted,
    "member_added": MemberAdded,
    "member_updated": MemberUpdated,
    "member_removed": MemberRemoved,
    "blocked_changed": BlockedChanged,
    "webhook_deleted": WebhookDeleted,
    "state_created": StateCreated,
    "state_updated": StateUpdated,
    "state_deleted": StateDeleted,
    "label_created": LabelCreated,
    "label_updated": LabelUpdated,
    "label_deleted": LabelDeleted,
    "custom_field_created": CustomFieldCreated,
    "custom_field_updated": CustomFieldUpdated,
    "custom_field_deleted": CustomFieldDeleted,
    "view_saved": ViewSaved,
    "view_deleted": ViewDeleted,
    "notification_created": NotificationCreated,
    "notifications_read": NotificationsRead,
    "watch_changed": WatchChanged,
}


class ChangeEventBase(BaseModel):
    """What every change event has; its ``payload`` is typed by ``payload_name``."""

    seq: int = Field(description="The tenant's gap-free sequence number")
    message_id: str = Field(description="The event's id")
    actor_id: str = Field(description="The user who made the change")
    sent_at_ms: int
    project_id: str
    payload_name: str = Field(description="Names the payload: work_item_created, ...")
    payload: Any = Field(description="The event's fields, as pm.proto's message names them")


def _event_model(name: str, payload: type[BaseModel]) -> type[ChangeEventBase]:
    named: Any = Literal[name]  # the discriminator: one value per model
    return create_model(
        f"{payload.__name__}Event",
        __base__=ChangeEventBase,
        __doc__=f"A {name} change event: its payload is pm.proto's {payload.__name__}.",
        payload_name=(named, Field(description="Names the payload")),
        payload=(payload, Field(description=f"pm.proto's {payload.__name__}")),
    )


EVENT_MODELS = [_event_model(name, model) for name, model in EVENT_PAYLOADS.items()]
ChangeEvent = Annotated[Union[tuple(EVENT_MODELS)], Field(discriminator="payload_name")]  # type: ignore[valid-type]  # noqa: UP007


class Changes(BaseModel):
    events: list[ChangeEvent] = Field(description="In seq order")  # type: ignore[valid-type]
    as_of_seq: int = Field(description="Pass as `since_seq` on the next poll")
    has_more: bool = Field(description="True: poll again at once")


class LlmContextEntry(BaseModel):
    id: str
    context_type: str = Field(description="schema_doc | query_pattern | business_rule | example")
    category: str
    title: str
    content: str = Field(description="Markdown")
    priority: int = Field(description="Higher first")


class LlmContextList(BaseModel):
    entries: list[LlmContextEntry] = Field(description="Most important first")


class ErrorDetail(BaseModel):
    code: str = Field(description="A code of DOMAIN.md, e.g. NOT_FOUND, VALIDATION_ERROR")
    message: str = Field(description="For people; never a stack trace")
    field: str | None = Field(description="The offending parameter, when there is one")


class ErrorBody(BaseModel):
    model_config = _examples(
        {"error": {"code": "NOT_FOUND", "message": "project not found", "field": "project_id"}}
    )

    error: ErrorDetail
