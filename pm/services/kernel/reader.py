"""The reader of one query: the caller, the repositories over one read snapshot (a WAL read
transaction on a reader connection), and the service layer's bounds.

Bounds are applied here, from the service's settings, whatever door a request came by: a page
size above the maximum is capped, none means the default, below 1 is refused; a page holds at
most ``max_response_bytes`` of content (pm.services.kernel.bounds).
"""

from __future__ import annotations

from pm.repositories.base import Db
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.pagination import PageRequest
from pm.services.kernel.scope import Scope
from pm.services.kernel.settings import ServiceSettings


class Reader(Scope):
    def __init__(self, session: Db, ctx: RequestContext, settings: ServiceSettings) -> None:
        super().__init__(session, ctx)
        self.settings = settings

    def page(self, limit: int | None, cursor: str | None) -> PageRequest:
        """A page request bounded by the configured default and maximum page size."""
        return PageRequest.build(
            limit,
            cursor,
            default=self.settings.default_page_size,
            maximum=self.settings.max_page_size,
            max_bytes=self.settings.max_response_bytes,
        )

    def snapshot_page(self, limit: int | None, cursor: str | None) -> PageRequest:
        """A page of a project's items for a snapshot: up to ``snapshot_max_items``."""
        bound = self.settings.snapshot_max_items
        return PageRequest.build(
            limit, cursor, default=bound, maximum=bound, max_bytes=self.settings.max_response_bytes
        )
