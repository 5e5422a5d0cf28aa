"""Housekeeping of open tenants: expired idempotency keys and change-feed events past retention."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from pm.repositories import Repositories


@dataclass(frozen=True)
class SweepResult:
    idempotency_keys: int
    change_events: int


def sweep_tenant(
    session: Session, *, now: int, idempotency_ttl_seconds: int, change_retention_days: float
) -> SweepResult:
    """Delete what has outlived its window, in one write transaction. The newest event is always
    kept, so the oldest kept seq stays known (a client behind it is told to resync). An
    idempotency record goes at the latest with the events of its time (its answer may be the
    payload of its event: pm.services.kernel.idempotency)."""
    repos = Repositories(session)
    retention_ms = int(change_retention_days * 86_400_000)
    records_ms = min(idempotency_ttl_seconds * 1000, retention_ms)
    return SweepResult(
        idempotency_keys=repos.idempotency.sweep(older_than=now - records_ms),
        change_events=repos.feed.sweep(
            older_than=now - retention_ms, keeping_from_seq=repos.feed.current_seq()
        ),
    )
