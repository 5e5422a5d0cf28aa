"""Comments on work items."""

from __future__ import annotations

from collections.abc import Iterator

from pm.domain.models import Comment
from pm.repositories.base import Entities

# ix_comments_item holds (work_item_id, created_at): the keys are ordered from the index, and
# only the rows of the keys taken are loaded.
_ITEM_KEYS = (
    "SELECT id FROM comments WHERE work_item_id = ? AND deleted_at IS NULL"
    " AND (created_at > ? OR (created_at = ? AND id > ?)) ORDER BY created_at, id LIMIT ?"
)


class CommentRepository(Entities[Comment]):
    model = Comment

    def live_on_item_from(
        self, item_id: str, after: tuple[int, str] | None, *, limit: int
    ) -> Iterator[Comment]:
        """Oldest first after the key ``(created_at, id)``; replies carry their
        parent_comment_id."""
        low_at, low_id = after if after is not None else (-1, "")
        return self._keyed(_ITEM_KEYS, (item_id, low_at, low_at, low_id, limit))
