"""What each status means to the rules: its category (DOMAIN.md, "Everyday fields").

Today every project has the same five statuses; this table is the one place that says which
category each belongs to, so per-project workflow states can replace it without touching a rule
that asks a category ("is it completed?", "has work started?").
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pm.domain.enums import Status


class StatusCategory(StrEnum):
    BACKLOG = "backlog"
    UNSTARTED = "unstarted"
    STARTED = "started"
    REVIEW = "review"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


STATUS_CATEGORIES: Mapping[str, StatusCategory] = {
    Status.BACKLOG: StatusCategory.BACKLOG,
    Status.TODO: StatusCategory.UNSTARTED,
    Status.IN_PROGRESS: StatusCategory.STARTED,
    Status.REVIEW: StatusCategory.REVIEW,
    Status.DONE: StatusCategory.COMPLETED,
}

# Work is under way in these: the cycle time starts at the first entry into either (an item
# sent straight to review was worked on all the same).
WORK_STARTED: frozenset[StatusCategory] = frozenset({StatusCategory.STARTED, StatusCategory.REVIEW})


def category_of(status: str) -> StatusCategory | None:
    """The category of a status; None for a value that is no status (never in stored data)."""
    return STATUS_CATEGORIES.get(status)


def is_completed(status: str) -> bool:
    """ "Done" in every rule (velocity, blocked, burndown, cycle time): category completed."""
    return category_of(status) is StatusCategory.COMPLETED


def statuses_in(*categories: StatusCategory) -> list[str]:
    """The statuses of these categories, in the order of the table."""
    return [str(status) for status, category in STATUS_CATEGORIES.items() if category in categories]


# An item in these is finished with: its due date no longer makes it overdue.
FINISHED: frozenset[StatusCategory] = frozenset(
    {StatusCategory.COMPLETED, StatusCategory.CANCELLED}
)


def is_overdue(due_date: str | None, status: str, today: str) -> bool:
    """Derived, never stored: due before ``today`` (YYYY-MM-DD, as dates compare) and not
    finished."""
    return due_date is not None and due_date < today and category_of(status) not in FINISHED
