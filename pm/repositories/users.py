"""Users of a tenant, as token claims made them (or as a member invitation named them)."""

from __future__ import annotations

from pm.domain.models import User
from pm.repositories.base import Repository, RowInsert

_COLUMNS = ["id", "email", "name", "created_at", "last_seen_at"]
_UPSERT = RowInsert(
    RowInsert.of(User, _COLUMNS).sql
    + " ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name,"
    " last_seen_at = excluded.last_seen_at"
)
_ENSURE = RowInsert(RowInsert.of(User, _COLUMNS).sql + " ON CONFLICT (id) DO NOTHING")


class UserRepository(Repository):
    def get(self, user_id: str) -> User | None:
        return self._session.get(User, user_id)

    def upsert(self, user_id: str, *, email: str | None, name: str | None, now: int) -> None:
        """Create the row, or refresh its email, name and last-seen time."""
        values = {"id": user_id, "email": email, "name": name}
        self._insert(_UPSERT, {**values, "created_at": now, "last_seen_at": now})

    def ensure(self, user_id: str, *, now: int) -> None:
        """A row for this id if none exists (an invited member who never signed in)."""
        values = {"id": user_id, "email": None, "name": None}
        self._insert(_ENSURE, {**values, "created_at": now, "last_seen_at": now})
