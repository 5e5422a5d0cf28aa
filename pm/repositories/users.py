"""Users of a tenant, as token claims made them (or as a member invitation named them)."""

from __future__ import annotations

from sqlalchemy.dialects.sqlite import insert

from pm.domain.models import User
from pm.repositories.base import Repository

_UPSERT = insert(User)
_UPSERT = _UPSERT.on_conflict_do_update(
    index_elements=["id"],
    set_={
        "email": _UPSERT.excluded.email,
        "name": _UPSERT.excluded.name,
        "last_seen_at": _UPSERT.excluded.last_seen_at,
    },
)
_ENSURE = insert(User).on_conflict_do_nothing(index_elements=["id"])


class UserRepository(Repository):
    def get(self, user_id: str) -> User | None:
        return self._session.get(User, user_id)

    def upsert(self, user_id: str, *, email: str | None, name: str | None, now: int) -> None:
        """Create the row, or refresh its email, name and last-seen time."""
        values = {"id": user_id, "email": email, "name": name}
        self._insert(_UPSERT, {**values, "created_at": now, "last_seen_at": now})

    def ensure(self, user_id: str, *, now: int) -> None:
        """A row for this id if none exists (an invited member who never signed in)."""
        self._insert(_ENSURE, {"id": user_id, "created_at": now, "last_seen_at": now})
