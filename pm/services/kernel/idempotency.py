"""Idempotency records, written in the transaction of the change they answer.

A retried mutation with the same (user, message id) gets the first response again and writes
nothing; the same message id with a different request is refused.

A response that is the payload of the change's own event (nearly every one) is stored by
reference: the record keeps the event's seq, and a replay reads the payload from the change
feed, where the transaction stored it once already. A description is then stored twice (its
row and its event), not three times. Records never outlive the feed rows they point to: the
sweep takes them at the earlier of their TTL and the feed's retention.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pm.domain.events import Outcome
from pm.errors import ValidationFailed
from pm.repositories.changes import ChangeFeedRepository
from pm.repositories.idempotency import IdempotencyRepository


def request_hash(operation: str, arguments: dict[str, Any]) -> str:
    body = json.dumps([operation, arguments], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def replay(
    records: IdempotencyRepository,
    feed: ChangeFeedRepository,
    user_id: str,
    message_id: str,
    operation: str,
    digest: str,
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
    payload = stored["payload"] if "payload" in stored else _from_feed(feed, stored["seq"])
    return Outcome(stored["payload_name"], payload, stored["seq"], (), replayed=True)


def _from_feed(feed: ChangeFeedRepository, seq: int) -> Any:
    payload = feed.payload_of(seq)
    if payload is None:  # the sweep takes a record with its event: only a damaged file
        raise ValidationFailed(
            "the first answer to this message_id is no longer kept: use a new message_id",
            field="message_id",
        )
    return json.loads(payload)


def remember(
    records: IdempotencyRepository,
    user_id: str,
    message_id: str,
    operation: str,
    digest: str,
    outcome: Outcome,
    now: int,
) -> None:
    response: dict[str, Any] = {"payload_name": outcome.payload_name, "seq": outcome.seq}
    if not _in_its_event(outcome):
        response["payload"] = outcome.payload
    records.insert(
        user_id=user_id,
        message_id=message_id,
        operation=operation,
        request_hash=digest,
        response=json.dumps(response, separators=(",", ":")),
        created_at=now,
    )


def _in_its_event(outcome: Outcome) -> bool:
    """The response is the payload of the event of its seq, stored in the feed."""
    return any(
        event.seq == outcome.seq
        and event.payload_name == outcome.payload_name
        and (event.payload is outcome.payload or event.payload == outcome.payload)
        for event in outcome.events
    )
