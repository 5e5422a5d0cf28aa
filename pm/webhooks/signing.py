"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``:
``v1,<base64 HMAC-SHA256 of id.timestamp.body>``), by the scheme's own library, so a receiver
verifies with any standard verifier and the subscription's secret."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks import Webhook


def signed_headers(
    secret: str, message_id: str, body: str, now: datetime | None = None
) -> dict[str, str]:
    """The three headers of one attempt (its timestamp: now, so a retry is not stale)."""
    at = (now or datetime.now(UTC)).replace(microsecond=0)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }
