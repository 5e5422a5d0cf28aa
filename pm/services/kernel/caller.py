"""Who is asking, for which tenant, with which message id."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    """The caller of one service call, built by a door from a verified token.

    ``origin`` is an opaque id of the connection the request came from, so the live hub can give
    that connection its response and not the event as well.
    """

    tenant_id: str
    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    message_id: str | None = None
    email: str | None = None
    name: str | None = None
    origin: str | None = None

    @property
    def is_tenant_admin(self) -> bool:
        return "admin" in self.roles
