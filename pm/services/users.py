"""Users of a tenant, upserted from token claims on first contact."""

from __future__ import annotations

from sqlalchemy.dialects.sqlite import insert
from sqlmodel import Session

from pm.domain.models import User
from pm.errors import NotFound
from pm.services.context import RequestContext


def upsert_user(session: Session, ctx: RequestContext, now: int) -> None:
    """Create the caller's user row, or refresh its email, name and last-seen time."""
    values = {"id": ctx.user_id, "email": ctx.email, "name": ctx.name}
    stmt = insert(User).values(**values, created_at=now, last_seen_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "email": stmt.excluded.email,
            "name": stmt.excluded.name,
            "last_seen_at": stmt.excluded.last_seen_at,
        },
    )
    session.execute(stmt)


def ensure_user_row(session: Session, user_id: str, now: int) -> None:
    """Make a user row for an id named by someone else (an invited member) if none exists."""
    session.execute(
        insert(User)
        .values(id=user_id, created_at=now, last_seen_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )


def require_user(session: Session, user_id: str, field: str) -> None:
    if session.get(User, user_id) is None:
        raise NotFound("no such user in this tenant", field=field)
