"""Housekeeping of open tenants: expired idempotency keys and change-feed events past retention."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from pm.services.changes import sweep_change_feed
from pm.services.idempotency import sweep_expired


@dataclass(frozen=True)
class SweepResult:
    idempotency_keys: int
    change_events: int


def sweep_tenant(
    session: Session, *, now: int, idempotency_ttl_seconds: int, change_retention_days: float
) -> SweepResult:
    """Delete what has outlived its window, in one write transaction."""
    return SweepResult(
        idempotency_keys=sweep_expired(session, now=now, ttl_seconds=idempotency_ttl_seconds),
        change_events=sweep_change_feed(session, now=now, retention_days=change_retention_days),
    )
