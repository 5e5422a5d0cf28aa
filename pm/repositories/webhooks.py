"""Webhook subscriptions and their delivery log (the last ``keep`` attempts of each)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from pm.domain.models import Webhook, WebhookDelivery
from pm.repositories.base import Entities, RowInsert

# Log rows are never read back in the transaction that writes them: no ORM unit of work.
_INSERT_DELIVERY = RowInsert.of(
    WebhookDelivery,
    [
        "webhook_id",
        "event_id",
        "seq",
        "attempt",
        "outcome",
        "status_code",
        "error",
        "duration_ms",
        "at",
    ],
)
_TRIM_LOG = (
    "DELETE FROM webhook_deliveries WHERE webhook_id = ? AND id <= ("
    " SELECT id FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)"
)


class WebhookRepository(Entities[Webhook]):
    model = Webhook

    def live(self) -> list[Webhook]:
        """Every live webhook of the tenant, oldest first."""
        return self._live(order_by=(col(Webhook.created_at), col(Webhook.id)))

    def log_attempts(self, rows: list[dict[str, Any]], *, keep: int) -> None:
        """Add attempts of one webhook to its log and drop all but its ``keep`` latest."""
        if not rows:
            return
        self._insert_many(_INSERT_DELIVERY, rows)
        webhook_id = rows[0]["webhook_id"]
        self._execute(_TRIM_LOG, (webhook_id, webhook_id, keep))

    def attempts(self, webhook_id: str, limit: int) -> list[WebhookDelivery]:
        """The latest attempts, newest first."""
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(limit)
        )
        return list(self._session.exec(query).all())
