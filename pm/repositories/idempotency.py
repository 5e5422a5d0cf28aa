"""Idempotency records: the first answer to each (user, message id)."""

from __future__ import annotations

from pm.domain.models import IdempotencyKey
from pm.repositories.base import Repository, RowInsert

# The record maps to no object anyone reads back in the transaction: no ORM unit of work.
_INSERT_KEY = RowInsert.of(
    IdempotencyKey,
    ["user_id", "message_id", "operation", "request_hash", "response", "created_at"],
)
_FIND_KEY = (
    "SELECT operation, request_hash, response FROM idempotency_keys"
    " WHERE user_id = ? AND message_id = ?"
)
_SWEEP = "DELETE FROM idempotency_keys WHERE created_at < ?"


class IdempotencyRepository(Repository):
    def find(self, user_id: str, message_id: str) -> tuple[str, str, str] | None:
        """(operation, request hash, response JSON) stored for this message id, if any."""
        row = self._row(_FIND_KEY, (user_id, message_id))
        return None if row is None else (row[0], row[1], row[2])

    def insert(
        self,
        *,
        user_id: str,
        message_id: str,
        operation: str,
        request_hash: str,
        response: str,
        created_at: int,
    ) -> None:
        self._insert(
            _INSERT_KEY,
            {
                "user_id": user_id,
                "message_id": message_id,
                "operation": operation,
                "request_hash": request_hash,
                "response": response,
                "created_at": created_at,
            },
        )

    def sweep(self, *, older_than: int) -> int:
        """Delete records made before the instant ``older_than``; how many went."""
        return self._execute(_SWEEP, (older_than,))
