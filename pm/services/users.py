"""Users of a tenant. They come from token claims (the runner upserts the caller on first
contact) or from an admin naming them (an invited member); a user named as an assignee must be
one of them."""

from __future__ import annotations

from pm.errors import NotFound
from pm.services.kernel.scope import Scope


def require_user(scope: Scope, user_id: str, field: str) -> None:
    if scope.users.get(user_id) is None:
        raise NotFound("no such user in this tenant", field=field)
