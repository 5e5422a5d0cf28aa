"""Watchers, mentions and notifications (DOMAIN.md "Mentions and notifications").

Commands: ``watch_item``, ``unwatch_item``, ``mark_notifications_read``
Queries: ``list_notifications``, ``get_watchers``
Called by other commands, in their transaction, after their own event: ``item_created``,
``item_changed``, ``comment_written``.

Who is told of one change: the new assignee (``assigned``), the users newly mentioned in the
text it set (``mentioned``: a description or a comment; an edit tells only the mentions it
added), and the item's watchers of a new comment (``commented``) or of a status change
(``status_changed``). Each user once per change, with the strongest reason (in that order),
never the actor, never anyone who is not a live member of the item's project (a mention of a
non-member tells nobody; a watcher removed from the project stops being told).

A notification is a row of its user's inbox and an event of the user's own stream
(pm.domain.streams): both are written in the transaction of the change, so a user's sockets get
it live and a reconnecting client gets exactly the ones it missed from GetChanges, and an
idempotent retry of the change (answered from its record) tells nobody twice. Each user keeps
at most ``notifications_max_per_user``; the oldest go first. Watches and read marks are the
user's own: events of their stream too (their other sockets follow), not project history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypedDict

from pm.domain.enums import Role
from pm.domain.events import Outcome
from pm.domain.mentions import mention_handles
from pm.domain.models import Comment, WorkItem
from pm.domain.streams import user_stream
from pm.errors import ValidationFailed
from pm.observability import metrics
from pm.services.kernel import validation as v
from pm.services.kernel.access import require_item_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.pagination import encode_cursor
from pm.services.kernel.reader import Reader
from pm.services.kernel.unit_of_work import FieldChange, UnitOfWork

EXCERPT_CHARS = 200


class Reason(IntEnum):
    """Why a user is told, weakest first: one change tells each user its strongest reason."""

    COMMENTED = 1
    STATUS_CHANGED = 2
    MENTIONED = 3
    ASSIGNED = 4

    @property
    def word(self) -> str:
        return self.name.lower()


class NotificationView(TypedDict):
    id: str
    reason: str
    project_id: str
    work_item_id: str
    work_item_key: str
    title: str
    excerpt: str
    comment_id: str | None
    actor_id: str
    created_at: int
    read_at: int | None


class NotificationsPage(TypedDict):
    notifications: list[NotificationView]
    unread_count: int
    has_more: bool
    next_cursor: str | None
    as_of_seq: int


class WatchersView(TypedDict):
    work_item_id: str
    user_ids: list[str]
    watching: bool


@dataclass
class _Told:
    reason: Reason
    excerpt: str


class _Recipients:
    """The users one change tells, each with the strongest reason so far."""

    def __init__(self) -> None:
        self.told: dict[str, _Told] = {}

    def add(self, users: Iterable[str], reason: Reason, excerpt: str) -> None:
        for user_id in users:
            known = self.told.get(user_id)
            if known is None or known.reason < reason:
                self.told[user_id] = _Told(reason, excerpt)


# -- what other commands call -------------------------------------------------------------


def item_created(uow: UnitOfWork, item: WorkItem) -> None:
    """A new item: its creator and assignee watch it; the assignee and the users its
    description mentions are told."""
    _auto_watch(uow, item, [item.created_by, item.assignee_id], new_item=True)
    recipients = _Recipients()
    mentioned = _mentioned(uow, item.description, "description")
    recipients.add(mentioned, Reason.MENTIONED, _excerpt(item.description))
    if item.assignee_id:
        recipients.add([item.assignee_id], Reason.ASSIGNED, "")
    _tell(uow, item, recipients)


def item_changed(uow: UnitOfWork, item: WorkItem, changes: list[FieldChange]) -> None:
    """Fields of an item changed (``changes`` as the update reported them)."""
    by_field = {change["field"]: change for change in changes}
    recipients = _Recipients()
    status = by_field.get("status")
    if status is not None:
        excerpt = f"{status['old_value']} -> {status['new_value']}"
        recipients.add(uow.watchers.member_watchers(item.id), Reason.STATUS_CHANGED, excerpt)
    description = by_field.get("description")
    if description is not None:
        added = _mentioned(uow, item.description, "description") - _mentioned(
            uow, description["old_value"] or "", "description", checked=False
        )
        recipients.add(added, Reason.MENTIONED, _excerpt(item.description))
    if "assignee_id" in by_field and item.assignee_id:
        _auto_watch(uow, item, [item.assignee_id])
        recipients.add([item.assignee_id], Reason.ASSIGNED, "")
    _tell(uow, item, recipients)


def comment_written(
    uow: UnitOfWork, item: WorkItem, comment: Comment, *, old_content: str | None = None
) -> None:
    """A new comment tells the item's watchers and whom it mentions; an edited one
    (``old_content``) only the users it mentions now and did not before."""
    recipients = _Recipients()
    excerpt = _excerpt(comment.content)
    if old_content is None:
        recipients.add(uow.watchers.member_watchers(item.id), Reason.COMMENTED, excerpt)
        mentioned = _mentioned(uow, comment.content, "content")
    else:
        mentioned = _mentioned(uow, comment.content, "content") - _mentioned(
            uow, old_content, "content", checked=False
        )
    recipients.add(mentioned, Reason.MENTIONED, excerpt)
    _tell(uow, item, recipients, comment_id=comment.id)


# -- commands -----------------------------------------------------------------------------


def watch_item(uow: UnitOfWork, *, work_item_id: str) -> Outcome:
    """Watch an item of a project the caller is a member of (any role)."""
    item = require_item_role(uow, work_item_id, Role.VIEWER)
    watching = uow.watchers.is_watching(item.id, uow.ctx.user_id)
    if not watching:
        bound = uow.settings.notifications_max_watchers
        if uow.watchers.count(item.id) >= bound:
            metrics.BOUND_HITS.labels("notifications_watchers").inc()
            raise ValidationFailed(
                f"the item has {bound} watchers, the most allowed", field="work_item_id"
            )
        uow.watchers.watch(
            work_item_id=item.id, user_id=uow.ctx.user_id, project_id=item.project_id, now=uow.now
        )
    return _watch_outcome(uow, item, watching=True, changed=not watching)


def unwatch_item(uow: UnitOfWork, *, work_item_id: str) -> Outcome:
    item = require_item_role(uow, work_item_id, Role.VIEWER)
    changed = uow.watchers.unwatch(work_item_id=item.id, user_id=uow.ctx.user_id)
    return _watch_outcome(uow, item, watching=False, changed=changed)


def _watch_outcome(uow: UnitOfWork, item: WorkItem, *, watching: bool, changed: bool) -> Outcome:
    """The answer; an event of the caller's own stream when anything changed."""
    payload = {"work_item_id": item.id, "project_id": item.project_id, "watching": watching}
    if not changed:
        return Outcome("watch_changed", payload)
    return uow.respond(uow.emit("watch_changed", user_stream(uow.ctx.user_id), payload))


def mark_notifications_read(
    uow: UnitOfWork, *, ids: list[str] | None = None, all: bool = False
) -> Outcome:
    """Mark some of the caller's notifications read (``ids``), or every one (``all``). Ids that
    are not the caller's, already read or no longer kept change nothing and are left out of
    the answer's ``ids``."""
    wanted = _ids(uow, ids or [], everything=all)
    user_id = uow.ctx.user_id
    if all:
        changed = uow.notifications.mark_all_read(user_id, now=uow.now) > 0
        marked: list[str] = []
    else:
        marked = uow.notifications.mark_read(user_id, wanted, now=uow.now)
        changed = bool(marked)
    payload = {
        "ids": marked,
        "all": all,
        "unread_count": uow.notifications.unread_count(user_id),
    }
    if not changed:
        return Outcome("notifications_read", payload)
    return uow.respond(uow.emit("notifications_read", user_stream(user_id), payload))


def _ids(uow: UnitOfWork, ids: object, *, everything: object) -> list[str]:
    if not isinstance(everything, bool):
        raise ValidationFailed("all must be true or false", field="all")
    bound = uow.settings.max_page_size
    if not isinstance(ids, list) or len(ids) > bound:
        raise ValidationFailed(f"ids must be a list of at most {bound} ids", field="ids")
    if bool(ids) == everything:
        raise ValidationFailed(
            "name the notifications (ids) or mark all, one of the two", field="ids"
        )
    return list(dict.fromkeys(v.text(value, "ids", min_len=1, max_len=36) for value in ids))


# -- queries -------------------------------------------------------------------------------


def list_notifications(
    read: Reader,
    *,
    unread_only: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> NotificationsPage:
    """The caller's notifications, newest first, a bounded page from ``cursor``, with the
    unread count and the seq this page is as of (live ``notification_created`` events follow
    it without a gap)."""
    if not isinstance(unread_only, bool):
        raise ValidationFailed("unread_only must be true or false", field="unread_only")
    page = read.page(limit, cursor)
    after = page.after_key(int)
    user_id = read.ctx.user_id
    rows = read.notifications.page(
        user_id,
        before_seq=None if after is None else after[0],
        unread_only=unread_only,
        limit=page.limit + 1,
    )
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = encode_cursor([rows[-1]["seq"]]) if has_more else None
    return {
        "notifications": [_view(row) for row in rows],
        "unread_count": read.notifications.unread_count(user_id),
        "has_more": has_more,
        "next_cursor": next_cursor,
        "as_of_seq": read.feed.current_seq(),
    }


def get_watchers(read: Reader, *, work_item_id: str) -> WatchersView:
    """Who watches a visible item (at most ``notifications_max_watchers``), and whether the
    caller does."""
    item = require_item_role(read, work_item_id, Role.VIEWER)
    users = read.watchers.watchers(item.id, read.settings.notifications_max_watchers)
    return {
        "work_item_id": item.id,
        "user_ids": users,
        "watching": read.ctx.user_id in users,
    }


# -- internals ----------------------------------------------------------------------------


def _auto_watch(
    uow: UnitOfWork, item: WorkItem, users: list[str | None], *, new_item: bool = False
) -> None:
    """These users watch the item, as far as its bound allows (automatic watching never
    refuses the change that caused it). A new item has no watchers yet: nothing to read."""
    bound = uow.settings.notifications_max_watchers
    count = 0 if new_item else uow.watchers.count(item.id)
    for user_id in dict.fromkeys(u for u in users if u):
        if count >= bound:
            metrics.BOUND_HITS.labels("notifications_watchers").inc()
            return
        watch = {"work_item_id": item.id, "user_id": user_id, "project_id": item.project_id}
        count += uow.watchers.watch(**watch, now=uow.now)


def _mentioned(uow: UnitOfWork, text: str, field: str, *, checked: bool = True) -> set[str]:
    """The users of the tenant a text mentions: by id, or by an e-mail address exactly one
    user has. More than ``notifications_max_mentions`` handles is refused when ``checked``
    (the text being written); the text it replaces is read, never refused."""
    handles = mention_handles(text)
    if not handles:
        return set()
    bound = uow.settings.notifications_max_mentions
    if len(handles) > bound:
        if checked:
            metrics.BOUND_HITS.labels("notifications_mentions").inc()
            raise ValidationFailed(
                f"a text may mention at most {bound} users (@handles)", field=field
            )
        handles = handles[:bound]
    users = uow.notifications.users_among(handles)
    emails = [handle for handle in handles if handle not in users and "@" in handle]
    for ids in uow.notifications.users_by_email(emails).values():
        if len(ids) == 1:
            users.add(ids[0])
    return users


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "\u2026"


def _tell(
    uow: UnitOfWork, item: WorkItem, recipients: _Recipients, *, comment_id: str | None = None
) -> None:
    """One notification to each recipient who is a live member of the item's project and is
    not the actor: a row of their inbox and an event of their stream."""
    candidates = sorted(user for user in recipients.told if user != uow.ctx.user_id)
    if not candidates:
        return
    members = uow.notifications.members_among(item.project_id, candidates)
    keep = uow.settings.notifications_max_per_user
    for user_id in candidates:
        if user_id not in members:
            continue
        told = recipients.told[user_id]
        pruned = uow.notifications.prune(user_id, keep=keep - 1)
        if pruned:
            metrics.BOUND_HITS.labels("notifications_per_user").inc()
            metrics.NOTIFICATIONS_PRUNED.inc(pruned)
        view: NotificationView = {
            "id": new_id(),
            "reason": told.reason.word,
            "project_id": item.project_id,
            "work_item_id": item.id,
            "work_item_key": item.key,
            "title": item.title,
            "excerpt": told.excerpt,
            "comment_id": comment_id,
            "actor_id": uow.ctx.user_id,
            "created_at": uow.now,
            "read_at": None,
        }
        unread = uow.notifications.unread_count(user_id) + 1
        event = uow.emit(
            "notification_created",
            user_stream(user_id),
            {"notification": view, "unread_count": unread},
        )
        uow.notifications.insert({**view, "user_id": user_id, "seq": event.seq})
        metrics.NOTIFICATIONS_CREATED.labels(told.reason.word).inc()


def _view(row: dict[str, Any]) -> NotificationView:
    return {
        "id": row["id"],
        "reason": row["reason"],
        "project_id": row["project_id"],
        "work_item_id": row["work_item_id"],
        "work_item_key": row["work_item_key"],
        "title": row["title"],
        "excerpt": row["excerpt"],
        "comment_id": row["comment_id"],
        "actor_id": row["actor_id"],
        "created_at": row["created_at"],
        "read_at": row["read_at"],
    }
