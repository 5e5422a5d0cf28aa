"""Comments on work items."""

from __future__ import annotations

from sqlmodel import col

from pm.domain.models import Comment
from pm.repositories.base import Entities


class CommentRepository(Entities[Comment]):
    model = Comment

    def live_on_item(self, item_id: str) -> list[Comment]:
        """Oldest first; replies carry their parent_comment_id."""
        return self._live(
            Comment.work_item_id == item_id, order_by=(col(Comment.created_at), col(Comment.id))
        )
