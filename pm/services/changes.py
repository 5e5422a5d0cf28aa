"""The change feed read side: what a reconnecting client missed, exactly, in order.

``seq`` is the change feed's autoincrement key, assigned under the tenant's write lock, so
committed sequence numbers are strictly increasing and, as readers see them, gap-free. Events
older than the retention window are swept; asking for anything before the oldest kept event
answers RESYNC_REQUIRED (timestamps are never the sync key).

A seq the feed can't vouch for answers RESYNC_REQUIRED too, never a partial answer: one from
before the current feed epoch (the tenant was restored from a backup, or another copy was put
in its place: pm.tenancy.epochs), ``0`` ("from the start") included, since the start is
gone; and one ahead of the feed (the file went back in time some other way). A client of the
new history loads a snapshot and follows from its ``as_of_seq``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pm.domain.enums import Role
from pm.domain.events import Event
from pm.domain.models import ChangeEvent
from pm.domain.streams import user_stream
from pm.errors import ResyncRequired, ValidationFailed
from pm.services.kernel.access import (
    project_role,
    require_project,
    require_role,
    visible_project_ids,
)
from pm.services.kernel.bounds import within_bounds
from pm.services.kernel.reader import Reader


@dataclass(frozen=True)
class Changes:
    events: list[Event]
    as_of_seq: int
    has_more: bool


def to_event(row: ChangeEvent) -> Event:
    assert row.seq is not None
    return Event(
        seq=row.seq,
        event_id=row.event_id,
        project_id=row.project_id,
        payload_name=row.payload_name,
        payload=json.loads(row.payload),
        actor_id=row.actor_id,
        at=row.at,
    )


def current_seq(read: Reader) -> int:
    """The last committed seq of the tenant (0 before the first change)."""
    return read.feed.current_seq()


def get_changes(
    read: Reader,
    *,
    since_seq: int,
    project_ids: list[str] | None = None,
    limit: int | None = None,
) -> Changes:
    """Events after ``since_seq`` for the given projects (none given: all the caller can view)
    and of the caller's own stream (pm.domain.streams: their notifications), at most a page of
    them, in count and in bytes (the bounds of every list)."""
    if isinstance(since_seq, bool) or not isinstance(since_seq, int) or since_seq < 0:
        raise ValidationFailed("since_seq must be a non-negative integer", field="since_seq")
    bound = read.page(limit, None).limit
    if project_ids:
        resolved = [require_project(read, ref, Role.VIEWER) for ref in project_ids]
        projects = list(dict.fromkeys(resolved))
    else:
        projects = visible_project_ids(read)
    projects.append(user_stream(read.ctx.user_id))  # the caller's own events, theirs alone
    as_of = read.feed.current_seq()
    if since_seq > as_of:
        raise ResyncRequired(
            "since_seq is ahead of this tenant's feed: its history was replaced; load the "
            "project again"
        )
    if since_seq < read.feed.epoch_base():
        raise ResyncRequired(
            "the tenant was restored: since_seq belongs to the history before; load the "
            "project again"
        )
    oldest = read.feed.oldest_kept_seq()
    if since_seq < as_of and (oldest is None or since_seq + 1 < oldest):
        raise ResyncRequired("events after since_seq are past retention; reload the project")
    cut = within_bounds(
        read.feed.after(since_seq, projects, bound + 1),
        size=lambda row: len(row.payload),
        max_rows=bound,
        max_bytes=read.settings.max_response_bytes,
    )
    events = [to_event(row) for row in cut.rows]
    return Changes(
        events=events, as_of_seq=events[-1].seq if cut.has_more else as_of, has_more=cut.has_more
    )


def viewable_projects(read: Reader, *, project_ids: list[str]) -> list[str]:
    """The projects among ``project_ids`` the caller may view now (a live socket's
    subscriptions, checked again when the caller's rights may have changed)."""
    return [project_id for project_id in project_ids if project_role(read, project_id)]


def subscribe_projects(read: Reader, *, project_ids: list[str]) -> int:
    """Check the caller may view every project; return the tenant's current seq, from which
    live events follow without a gap."""
    if not project_ids:
        raise ValidationFailed("project_ids must name at least one project", field="project_ids")
    for project_id in project_ids:
        require_role(read, project_id, Role.VIEWER)
    return read.feed.current_seq()
