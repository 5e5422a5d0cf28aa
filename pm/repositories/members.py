"""Project members and their roles; the one lookup every command and query starts with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sqlmodel import col, select

from pm.domain.models import ProjectMember, User
from pm.repositories.base import Repository

# Every command and query asks this first: the project's type and liveness and the caller's
# membership, in one statement.
_ROLE_SQL = (
    "SELECT w.item_type, w.deleted_at, (SELECT m.role FROM project_members m"
    " WHERE m.project_id = w.id AND m.user_id = ? AND m.deleted_at IS NULL)"
    " FROM work_items w WHERE w.id = ?"
)
# The same for an item's project, with the item itself: one statement where the ORM took a
# Session.get and then the role lookup (10% of a CreateWorkItem, py-spy).
_ITEM_ROLE_SQL = (
    "SELECT i.id, i.item_type, i.project_id, i.deleted_at, p.item_type, p.deleted_at,"
    " (SELECT m.role FROM project_members m"
    " WHERE m.project_id = i.project_id AND m.user_id = ? AND m.deleted_at IS NULL)"
    " FROM work_items i LEFT JOIN work_items p ON p.id = i.project_id WHERE i.id = ?"
)
_MEMBER_PROJECT_IDS = (
    "SELECT w.id FROM work_items w JOIN project_members m ON m.project_id = w.id"
    " WHERE w.item_type = 'project' AND w.deleted_at IS NULL"
    " AND m.user_id = ? AND m.deleted_at IS NULL ORDER BY w.created_at, w.id"
)
_LIVE_MEMBERS = "SELECT count(*) FROM project_members WHERE project_id = ? AND deleted_at IS NULL"
_ADMIN_PROJECT_IDS = (
    "SELECT w.id FROM work_items w JOIN project_members m ON m.project_id = w.id"
    " WHERE w.item_type = 'project' AND w.deleted_at IS NULL"
    " AND m.user_id = ? AND m.role = 'admin' AND m.deleted_at IS NULL"
    " ORDER BY w.created_at, w.id"
)
_LIVE_ADMINS = (
    "SELECT count(*) FROM project_members"
    " WHERE project_id = ? AND role = 'admin' AND deleted_at IS NULL"
)


class ItemRole(NamedTuple):
    """An item, whether it is live, and the caller's standing in its project."""

    id: str
    item_type: str
    project_id: str
    deleted_at: int | None
    project_type: str | None  # None: the item's project row is missing
    project_deleted_at: int | None
    role: str | None  # the caller's live role in the project, None if not a member


class MemberRepository(Repository):
    def role_lookup(
        self, user_id: str, project_id: str
    ) -> tuple[str, int | None, str | None] | None:
        """(item type, deleted_at, the user's live role or None) of the item ``project_id``, or
        None when there is no such item."""
        row = self._row(_ROLE_SQL, (user_id, project_id))
        return None if row is None else (row[0], row[1], row[2])

    def item_role_lookup(self, user_id: str, item_id: str) -> ItemRole | None:
        """The item ``item_id`` with its project's type and liveness and the user's live role
        there, or None when there is no such item."""
        row = self._row(_ITEM_ROLE_SQL, (user_id, item_id))
        return None if row is None else ItemRole(*row)

    def project_ids_of(self, user_id: str) -> list[str]:
        """The live projects the user is a live member of, oldest first."""
        return self._column(_MEMBER_PROJECT_IDS, (user_id,))

    def admin_project_ids_of(self, user_id: str) -> list[str]:
        """The live projects the user is a live admin of, oldest first."""
        return self._column(_ADMIN_PROJECT_IDS, (user_id,))

    def find(self, project_id: str, user_id: str) -> ProjectMember | None:
        """The one row of this user in this project, live or removed."""
        return self._session.exec(
            select(ProjectMember).where(
                ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
            )
        ).first()

    def count_admins(self, project_id: str) -> int:
        return int(self._scalar(_LIVE_ADMINS, (project_id,)))

    def live_with_users_from(
        self, project_id: str, after: tuple[int, str] | None, *, limit: int
    ) -> Iterator[tuple[ProjectMember, User]]:
        """Live members with their user rows, oldest membership first after the key
        ``(created_at, id)``; streamed."""
        query = (
            select(ProjectMember, User)
            .join(User, col(User.id) == col(ProjectMember.user_id))
            .where(ProjectMember.project_id == project_id, col(ProjectMember.deleted_at).is_(None))
        )
        if after is not None:
            at, last_id = after
            query = query.where(
                (col(ProjectMember.created_at) > at)
                | ((col(ProjectMember.created_at) == at) & (col(ProjectMember.id) > last_id))
            )
        order = (col(ProjectMember.created_at), col(ProjectMember.id))
        return self._stream(query.order_by(*order).limit(limit))

    def count_live(self, project_id: str) -> int:
        return int(self._scalar(_LIVE_MEMBERS, (project_id,)))
