"""Idempotency records, written in the transaction of the change they answer.

A retried mutation with the same (user, message id) gets the first response again and writes
nothing; the same message id with a different request is refused.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session

from pm.domain.events import Outcome
from pm.domain.models import IdempotencyKey
from pm.errors import ValidationFailed
from pm.services.access import driver_row

# A Core insert built once: the record maps to no object anyone reads back in the transaction,
# so the ORM unit of work would only add cost at commit.
_INSERT_KEY = insert(IdempotencyKey)
_FIND_KEY = (
    "SELECT operation, request_hash, response FROM idempotency_keys"
    " WHERE user_id = ? AND message_id = ?"
)


def request_hash(operation: str, arguments: dict[str, Any]) -> str:
    body = json.dumps([operation, arguments], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def replay(
    session: Session, user_id: str, message_id: str, operation: str, digest: str
) -> Outcome | None:
    """The stored answer to this exact request, or None if the message id is new."""
    record = driver_row(session, _FIND_KEY, (user_id, message_id))
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
    session: Session,
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
    session.connection().execute(
        _INSERT_KEY,
        {
            "user_id": user_id,
            "message_id": message_id,
            "operation": operation,
            "request_hash": digest,
            "response": json.dumps(response, separators=(",", ":")),
            "created_at": now,
        },
    )


def sweep_expired(session: Session, *, now: int, ttl_seconds: int) -> int:
    """Delete records older than the window; return how many went."""
    cutoff = now - ttl_seconds * 1000
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))  # type: ignore[arg-type]
    return int(result.rowcount)  # type: ignore[attr-defined]
