"""The activity log, read side: filtered, newest first, cursor paginated by activity id."""

from __future__ import annotations

from pm.services.kernel import validation as v
from pm.services.kernel.access import projects_in_view
from pm.services.kernel.bounds import text_size
from pm.services.kernel.pagination import Page, page_of
from pm.services.kernel.reader import Reader
from pm.services.views import ActivityView, activity_view

INSTANT_MAX = 2**53


def get_activity(
    read: Reader,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    project_id: str | None = None,
    entity_id: str | None = None,
    user_id: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> Page[ActivityView]:
    """Activity of the projects the caller can view; nothing of other projects ever shows."""
    page = read.page(limit, cursor)
    projects = projects_in_view(read, project_id)
    if since is not None:
        since = v.int_range(since, "since", low=0, high=INSTANT_MAX)
    if until is not None:
        until = v.int_range(until, "until", low=0, high=INSTANT_MAX)
    after = page.after_key(int)
    rows = read.activity_log.page(
        projects,
        limit=page.limit + 1,
        before_id=None if after is None else after[0],
        entity_id=entity_id,
        user_id=user_id,
        since=since,
        until=until,
    )
    result = page_of(
        rows,
        page,
        key=lambda row: [row.id],
        size=lambda row: text_size(row.old_value, row.new_value),
    )
    return Page([activity_view(row) for row in result.items], result.next_cursor)
