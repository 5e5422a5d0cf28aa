"""Enumerated values. They travel as these lowercase words on every door."""

from __future__ import annotations

from enum import StrEnum


class ItemType(StrEnum):
    PROJECT = "project"
    EPIC = "epic"
    STORY = "story"
    TASK = "task"


class Status(StrEnum):
    BACKLOG = "backlog"
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"
    DONE = "done"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class SprintStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class DependencyType(StrEnum):
    BLOCKS = "blocks"
    RELATES_TO = "relates_to"


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class ContextType(StrEnum):
    SCHEMA_DOC = "schema_doc"
    QUERY_PATTERN = "query_pattern"
    BUSINESS_RULE = "business_rule"
    EXAMPLE = "example"


# Which parent types each item type accepts (DOMAIN.md, work item `parent_id`).
ALLOWED_PARENTS: dict[ItemType, frozenset[ItemType]] = {
    ItemType.PROJECT: frozenset(),
    ItemType.EPIC: frozenset({ItemType.PROJECT}),
    ItemType.STORY: frozenset({ItemType.PROJECT, ItemType.EPIC}),
    ItemType.TASK: frozenset({ItemType.PROJECT, ItemType.EPIC, ItemType.STORY}),
}


class FieldType(StrEnum):
    """The types of a project's custom fields (DOMAIN.md "Everyday fields")."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"
    MULTI_SELECT = "multi_select"
    USER = "user"
    URL = "url"
