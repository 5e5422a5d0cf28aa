"""Idempotency records, written in the transaction of the change they answer.

A retried mutation with the same (user, message id) gets the first response again and writes
nothing; the same message id with a different request is refused.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pm.domain.events import Outcome
from pm.errors import ValidationFailed
from pm.repositories.idempotency import IdempotencyRepository


def request_hash(operation: str, arguments: dict[str, Any]) -> str:
    body = json.dumps([operation, arguments], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def replay(
    records: IdempotencyRepository, user_id: str, message_id: str, operation: str, digest: str
) -> Outcome | None:
    """The stored answer to this exact request, or None if the message id is new."""
    record = records.find(user_id, message_id)
    if record is None:
        return None
    stored_operation, stored_digest, response = record
    if stored_operation != operation or stored_digest != digest:
        raise ValidationFailed(
            "this message_id was already used for a different request", field="message_id"
        )
    stored = json.loads(response)
    return Outcome(stored["payload_name"], stored["payload"], stored["seq"], (), replayed=True)


def remember(
    records: IdempotencyRepository,
    user_id: str,
    message_id: str,
    operation: str,
    digest: str,
    outcome: Outcome,
    now: int,
) -> None:
    response = {
        "payload_name": outcome.payload_name,
        "payload": outcome.payload,
        "seq": outcome.seq,
    }
    records.insert(
        user_id=user_id,
        message_id=message_id,
        operation=operation,
        request_hash=digest,
        response=json.dumps(response, separators=(",", ":")),
        created_at=now,
    )
