"""What a service function is given: the caller, and the repositories of its one transaction."""

from __future__ import annotations

from pm.repositories import Repositories
from pm.repositories.base import Db
from pm.services.kernel.caller import RequestContext


class Scope(Repositories):
    """The base of ``UnitOfWork`` (commands) and ``Reader`` (queries)."""

    def __init__(self, session: Db, ctx: RequestContext) -> None:
        super().__init__(session)
        self.ctx = ctx
