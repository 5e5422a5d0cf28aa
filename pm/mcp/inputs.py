"""The tools' inputs: one pydantic model per tool, which is both the check of what an agent sent
and (compacted by ``input_schema``) the JSON Schema the agent is shown. Every field says in its
description what it is, so the tool list is the whole manual. Items, parents and projects are
named by short key (``APO-12``, ``APO``) or id."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Any state key of the project (its context lists them; by default backlog, todo,
# in_progress, review, done); the service checks it against the item's project.
Status = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,15}$",
        description="A state key of the project (see its context's states)",
    ),
]
Priority = Literal["low", "medium", "high", "critical"]
ItemType = Literal["epic", "story", "task"]
MAX_REF = 64
MAX_TEXT = 50_000


def ref(what: str) -> Any:
    return Field(min_length=1, max_length=MAX_REF, description=what)


def optional_ref(what: str) -> Any:
    return Field(default=None, min_length=1, max_length=MAX_REF, description=what)


def request_id() -> Any:
    return Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Any unique string; a retry with the same one is applied once",
    )


def expected_version() -> Any:
    return Field(
        default=None,
        ge=1,
        description="The version you read; omit to apply to the current version",
    )


def date(what: str) -> Any:
    return Field(default=None, max_length=10, description=what)


Labels = list[str]
# a custom field's value: a string (text, date, select, user, url), a number, or a list of
# options (multi_select); null or "" clears it
FieldValue = str | float | list[str] | None


def labels(what: str) -> Any:
    return Field(default=None, max_length=50, description=what)


def custom_fields() -> Any:
    return Field(
        default=None,
        max_length=50,
        description="Custom field name or id -> value (a string, a number, or a list of options"
        " for a multi_select); the project context lists the fields and their types",
    )


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListProjects(Input):
    limit: int | None = Field(default=None, ge=1, le=100, description="Default 20")
    cursor: str | None = Field(default=None, max_length=512, description="From the last page")


class GetProjectContext(Input):
    project: str = ref("Project key (APO) or id")
    format: Literal["markdown", "json"] = Field(default="markdown", description="Default markdown")
    max_items: int | None = Field(default=None, ge=1, le=2000, description="Cap on items shown")


class SearchWorkItems(Input):
    query: str | None = Field(
        default=None,
        max_length=200,
        description="Words in title, description or comments; last word matches as a prefix",
    )
    project: str | None = optional_ref("Project key or id")
    status: Status | None = None
    item_type: Literal["project", "epic", "story", "task"] | None = None
    assignee_id: str | None = optional_ref("User id")
    sprint_id: str | None = optional_ref("Sprint id")
    priority: Priority | None = None
    due_from: str | None = date("Due on or after YYYY-MM-DD")
    due_to: str | None = date("Due on or before YYYY-MM-DD")
    labels: Labels | None = labels("Items with every one of these labels (names or ids)")
    fields: list[str] | None = Field(
        default=None,
        max_length=20,
        description="Custom field conditions: FIELD=VALUE, FIELD>=LOW, FIELD<=HIGH (names or ids)",
    )
    sort: str | None = Field(
        default=None,
        max_length=100,
        description="created (default), updated, title, due_date, start_date, priority,"
        " field:<name or id>; a leading - descends",
    )
    view: str | None = optional_ref("A saved view's id: its filters and sort")
    limit: int | None = Field(default=None, ge=1, le=100, description="Default 20")
    cursor: str | None = Field(default=None, max_length=512, description="From the last page")


class GetWorkItem(Input):
    item: str = ref("Item key (APO-12) or id")


class CreateWorkItem(Input):
    project: str = ref("Project key or id")
    parent: str | None = optional_ref("Parent item key; default: the project")
    item_type: ItemType
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=MAX_TEXT, description="Markdown")
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: str | None = optional_ref("User id")
    story_points: int | None = Field(default=None, ge=0, le=1000)
    sprint_id: str | None = optional_ref("Sprint id")
    start_date: str | None = date("YYYY-MM-DD")
    due_date: str | None = date("YYYY-MM-DD, not before start_date")
    labels: Labels | None = labels("Label names or ids of the project")
    custom_fields: dict[str, FieldValue] | None = custom_fields()
    request_id: str | None = request_id()


class UpdateWorkItem(Input):
    item: str = ref("Item key or id")
    expected_version: int | None = expected_version()
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=MAX_TEXT, description="Markdown")
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: str | None = Field(default=None, max_length=MAX_REF, description="'' clears")
    story_points: int | None = Field(default=None, ge=-1, le=1000, description="-1 clears")
    sprint_id: str | None = Field(default=None, max_length=MAX_REF, description="'' clears")
    start_date: str | None = date("YYYY-MM-DD; '' clears")
    due_date: str | None = date("YYYY-MM-DD; '' clears")
    add_labels: Labels | None = labels("Label names or ids to add")
    remove_labels: Labels | None = labels("Label names or ids to remove")
    custom_fields: dict[str, FieldValue] | None = custom_fields()
    request_id: str | None = request_id()


class MoveWorkItem(Input):
    item: str = ref("Item key or id")
    parent: str | None = optional_ref("New parent key")
    after: str | None = optional_ref("Place after this sibling")
    before: str | None = optional_ref("Place before this sibling")
    status: Status | None = None
    expected_version: int | None = expected_version()
    request_id: str | None = request_id()


class AddComment(Input):
    item: str = ref("Item key or id")
    body: str = Field(min_length=1, max_length=20_000, description="Markdown")
    reply_to: str | None = optional_ref("Comment id to reply to")
    request_id: str | None = request_id()


class LogTime(Input):
    item: str = ref("Item key or id")
    minutes: int = Field(ge=1, le=1440)
    description: str | None = Field(default=None, max_length=2000)
    date: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD; default today")
    request_id: str | None = request_id()


class AddDependency(Input):
    blocking: str = ref("Key of the item that blocks")
    blocked: str = ref("Key of the item that waits")
    dependency_type: Literal["blocks", "relates_to"] | None = None
    request_id: str | None = request_id()


class GetSprint(Input):
    sprint_id: str = ref("Sprint id")


class GetChanges(Input):
    since_seq: int = Field(ge=0, description="Last seq you saw; 0 from the start")
    project: str | None = optional_ref("Project key or id")
    limit: int | None = Field(default=None, ge=1, le=500)


# -- notifications (issue 15) -----------------------------------------------------------------


class ListNotifications(Input):
    unread_only: bool = Field(default=False, description="Only the unread ones")
    limit: int | None = Field(default=None, ge=1, le=100, description="Default 20")
    cursor: str | None = Field(default=None, max_length=512, description="From the last page")


class MarkNotificationsRead(Input):
    ids: list[str] | None = Field(
        default=None, max_length=500, description="Notification ids (from list_notifications)"
    )
    all: bool = Field(default=False, description="Mark every unread one instead")
    request_id: str | None = request_id()


class WatchItem(Input):
    item: str = ref("Item key (APO-12) or id")
    request_id: str | None = request_id()


def input_schema(model: type[Input]) -> dict[str, Any]:
    """The model's JSON Schema without what costs tokens and tells an agent nothing: titles,
    ``null`` alternatives of optional fields, null defaults."""
    schema: dict[str, Any] = _compact(model.model_json_schema())
    return schema


def _compact(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact(value) for value in node]
    if not isinstance(node, dict):
        return node
    options = node.get("anyOf")
    if isinstance(options, list):
        kept = [option for option in options if option != {"type": "null"}]
        if len(kept) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            node = {**kept[0], **rest}
    return {
        key: _compact(value)
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str))
        and not (key == "default" and value is None)
    }
