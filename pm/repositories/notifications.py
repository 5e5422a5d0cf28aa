"""Watchers of items and each user's notifications: plain SQL over their indexes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pm.domain.models import Notification, Watcher
from pm.repositories.base import Repository, RowInsert, placeholders

_WATCH = RowInsert(
    RowInsert.of(Watcher, ["work_item_id", "user_id", "project_id", "created_at"]).sql
    + " ON CONFLICT (work_item_id, user_id) DO NOTHING"
)
_UNWATCH = "DELETE FROM watchers WHERE work_item_id = ? AND user_id = ?"
_WATCHING = "SELECT 1 FROM watchers WHERE work_item_id = ? AND user_id = ?"
_WATCHER_COUNT = "SELECT count(*) FROM watchers WHERE work_item_id = ?"
# Watchers who are still members of the item's project (a removed member is told nothing).
_MEMBER_WATCHERS = (
    "SELECT w.user_id FROM watchers w JOIN project_members m"
    " ON m.project_id = w.project_id AND m.user_id = w.user_id AND m.deleted_at IS NULL"
    " WHERE w.work_item_id = ? ORDER BY w.created_at, w.user_id"
)
_WATCHERS = (
    "SELECT user_id FROM watchers WHERE work_item_id = ? ORDER BY created_at, user_id LIMIT ?"
)
_NOTIFICATION_COLUMNS = [
    "id",
    "user_id",
    "seq",
    "reason",
    "project_id",
    "work_item_id",
    "work_item_key",
    "comment_id",
    "actor_id",
    "title",
    "excerpt",
    "created_at",
    "read_at",
]
_INSERT = RowInsert.of(Notification, _NOTIFICATION_COLUMNS)
_SELECT = f"SELECT {', '.join(_NOTIFICATION_COLUMNS)} FROM notifications"
_PAGE = _SELECT + " WHERE user_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
_UNREAD_PAGE = (
    _SELECT + " WHERE user_id = ? AND seq < ? AND read_at IS NULL ORDER BY seq DESC LIMIT ?"
)
_UNREAD = "SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL"
# The oldest beyond the newest ``cap`` go (ix_notifications_user: a walk of cap + 1 keys).
_PRUNE = (
    "DELETE FROM notifications WHERE user_id = ? AND seq <= (SELECT seq FROM notifications"
    " WHERE user_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)"
)
_MARK = (
    "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL"
    " AND id IN ({marks}) RETURNING id"
)
_MARK_ALL = "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL"
_MEMBERS_AMONG = (
    "SELECT user_id FROM project_members WHERE project_id = ? AND deleted_at IS NULL"
    " AND user_id IN ({marks})"
)
_USERS_AMONG = "SELECT id FROM users WHERE id IN ({marks})"
_USERS_BY_EMAIL = "SELECT id, lower(email) FROM users WHERE lower(email) IN ({marks})"


class WatcherRepository(Repository):
    def watch(self, *, work_item_id: str, user_id: str, project_id: str, now: int) -> bool:
        """Whether the user started watching (False: they already did)."""
        values = {
            "work_item_id": work_item_id,
            "user_id": user_id,
            "project_id": project_id,
            "created_at": now,
        }
        return self._driver().execute(_WATCH.sql, values).rowcount == 1

    def unwatch(self, *, work_item_id: str, user_id: str) -> bool:
        return self._execute(_UNWATCH, (work_item_id, user_id)) == 1

    def is_watching(self, work_item_id: str, user_id: str) -> bool:
        return self._row(_WATCHING, (work_item_id, user_id)) is not None

    def count(self, work_item_id: str) -> int:
        return int(self._scalar(_WATCHER_COUNT, (work_item_id,)))

    def member_watchers(self, work_item_id: str) -> list[str]:
        """The watchers of the item who are live members of its project."""
        return self._column(_MEMBER_WATCHERS, (work_item_id,))

    def watchers(self, work_item_id: str, limit: int) -> list[str]:
        return self._column(_WATCHERS, (work_item_id, limit))


class NotificationRepository(Repository):
    def insert(self, values: Mapping[str, Any]) -> None:
        self._insert(_INSERT, values)

    def prune(self, user_id: str, *, keep: int) -> int:
        """Delete the user's oldest notifications beyond the newest ``keep``; how many went."""
        return self._execute(_PRUNE, (user_id, user_id, keep))

    def page(
        self, user_id: str, *, before_seq: int | None, unread_only: bool, limit: int
    ) -> list[dict[str, Any]]:
        """The user's notifications, newest first, below ``before_seq`` (the cursor)."""
        sql = _UNREAD_PAGE if unread_only else _PAGE
        top = (1 << 63) - 1 if before_seq is None else before_seq
        rows = self._rows(sql, (user_id, top, limit))
        return [dict(zip(_NOTIFICATION_COLUMNS, row, strict=True)) for row in rows]

    def unread_count(self, user_id: str) -> int:
        return int(self._scalar(_UNREAD, (user_id,)))

    def mark_read(self, user_id: str, ids: Sequence[str], *, now: int) -> list[str]:
        """Mark these of the user's unread notifications read; the ids that changed."""
        if not ids:
            return []
        sql = _MARK.format(marks=placeholders(len(ids)))
        return sorted(self._column(sql, (now, user_id, *ids)))

    def mark_all_read(self, user_id: str, *, now: int) -> int:
        return self._execute(_MARK_ALL, (now, user_id))

    def members_among(self, project_id: str, user_ids: Sequence[str]) -> set[str]:
        """Which of these users are live members of the project."""
        if not user_ids:
            return set()
        sql = _MEMBERS_AMONG.format(marks=placeholders(len(user_ids)))
        return set(self._column(sql, (project_id, *user_ids)))

    def users_among(self, user_ids: Sequence[str]) -> set[str]:
        """Which of these ids are users of the tenant."""
        if not user_ids:
            return set()
        return set(self._column(_USERS_AMONG.format(marks=placeholders(len(user_ids))), user_ids))

    def users_by_email(self, emails: Sequence[str]) -> dict[str, list[str]]:
        """Lower-cased e-mail address -> the ids of the users who have it."""
        if not emails:
            return {}
        found: dict[str, list[str]] = {}
        sql = _USERS_BY_EMAIL.format(marks=placeholders(len(emails)))
        for user_id, email in self._rows(sql, [email.lower() for email in emails]):
            found.setdefault(email, []).append(user_id)
        return found
