"""The tenant's LLM context entries."""

from __future__ import annotations

from sqlmodel import col, select

from pm.domain.models import LlmContext
from pm.repositories.base import Repository


class LlmContextRepository(Repository):
    def listed(self, *, context_type: str | None, category: str | None) -> list[LlmContext]:
        """Most important first."""
        query = select(LlmContext)
        if context_type is not None:
            query = query.where(LlmContext.context_type == context_type)
        if category is not None:
            query = query.where(LlmContext.category == category)
        ordered = query.order_by(col(LlmContext.priority).desc(), col(LlmContext.id))
        return list(self._session.exec(ordered).all())
