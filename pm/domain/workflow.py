"""Workflow states and what each means to the rules: its category (DOMAIN.md, "Everyday fields").

Every project has its own ordered states; an item's ``status`` is the ``key`` of one of them. A
rule never compares keys: it asks the category of the item's status in the item's project
("is it completed?", "has work started?") through that project's ``Workflow``.

``DEFAULT_STATES`` is the seed: every new project gets these five, and migration 0005 gave them
to every project that existed before, with the keys items already carried, so old data keeps its
meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

# A state's key: what items carry in ``status`` (work_items.status holds 16 characters).
STATE_KEY = re.compile(r"[a-z][a-z0-9_]{0,15}", re.ASCII)


class StatusCategory(StrEnum):
    BACKLOG = "backlog"
    UNSTARTED = "unstarted"
    STARTED = "started"
    REVIEW = "review"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class StateSeed:
    key: str
    name: str
    colour: str
    category: StatusCategory


DEFAULT_STATES: tuple[StateSeed, ...] = (
    StateSeed("backlog", "Backlog", "#94a3b8", StatusCategory.BACKLOG),
    StateSeed("todo", "To Do", "#64748b", StatusCategory.UNSTARTED),
    StateSeed("in_progress", "In Progress", "#3b82f6", StatusCategory.STARTED),
    StateSeed("review", "Review", "#a855f7", StatusCategory.REVIEW),
    StateSeed("done", "Done", "#22c55e", StatusCategory.COMPLETED),
)

# Work is under way in these: the cycle time starts at the first entry into either (an item
# sent straight to review was worked on all the same).
WORK_STARTED: frozenset[StatusCategory] = frozenset({StatusCategory.STARTED, StatusCategory.REVIEW})

# An item in these is finished with: its due date no longer makes it overdue.
FINISHED: frozenset[StatusCategory] = frozenset(
    {StatusCategory.COMPLETED, StatusCategory.CANCELLED}
)


@dataclass(frozen=True)
class Workflow:
    """One project's states as the rules read them: the category of every key the project
    has ever had (a deleted state's key is never reused, so the history of items stays
    readable), and the keys of its live states (the ones an item may be given)."""

    categories: Mapping[str, StatusCategory]
    live: frozenset[str]
    default: str | None  # a new item's status when none is given

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, bool]]) -> Workflow:
        """From (key, category, is_live) rows in board order. A new item's status is
        ``backlog`` while the project has it (what it always was), else its first state."""
        categories: dict[str, StatusCategory] = {}
        board: list[str] = []
        for key, category, is_live in rows:
            categories[key] = StatusCategory(category)
            if is_live:
                board.append(key)
        live = frozenset(board)
        default = "backlog" if "backlog" in live else next(iter(board), None)
        return cls(categories, live, default)

    def category_of(self, status: str | None) -> StatusCategory | None:
        """The category of a status; None for a value that is no state of the project."""
        return None if status is None else self.categories.get(status)

    def is_completed(self, status: str | None) -> bool:
        """ "Done" in every rule (velocity, blocked, burndown, cycle time): category completed."""
        return self.category_of(status) is StatusCategory.COMPLETED

    def keys_in(self, *categories: StatusCategory) -> list[str]:
        """Every key (live or not) of these categories, sorted."""
        return sorted(key for key, category in self.categories.items() if category in categories)

    def is_overdue(self, due_date: str | None, status: str, today: str) -> bool:
        """Derived, never stored: due before ``today`` (YYYY-MM-DD, as dates compare) and not
        finished."""
        return (
            due_date is not None and due_date < today and self.category_of(status) not in FINISHED
        )


DEFAULT_WORKFLOW = Workflow.of((s.key, s.category.value, True) for s in DEFAULT_STATES)
