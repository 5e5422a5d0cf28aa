"""Saved views: named searches of a project, private or shared."""

from __future__ import annotations

from sqlmodel import col, or_, select

from pm.domain.models import SavedView
from pm.repositories.base import Entities

_OWNED_COUNT = (
    "SELECT count(*) FROM saved_views WHERE project_id = ? AND owner_id = ? AND deleted_at IS NULL"
)


class SavedViewRepository(Entities[SavedView]):
    model = SavedView

    def visible_in(self, project_id: str, user_id: str, *, limit: int) -> list[SavedView]:
        """The user's own views of the project and the shared ones, by name then id; at most
        ``limit``."""
        query = (
            select(SavedView)
            .where(
                SavedView.project_id == project_id,
                col(SavedView.deleted_at).is_(None),
                or_(col(SavedView.owner_id) == user_id, col(SavedView.shared).is_(True)),
            )
            .order_by(col(SavedView.name), col(SavedView.id))
            .limit(limit)
        )
        return list(self._session.exec(query).all())

    def count_owned(self, project_id: str, user_id: str) -> int:
        return int(self._scalar(_OWNED_COUNT, (project_id, user_id)))
