"""The service layer's own bounds and windows (built from pm.config's Settings by pm.wiring)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSettings:
    idempotency_ttl_seconds: int = 86400
    change_retention_days: float = 30.0
    default_page_size: int = 100
    max_page_size: int = 500
    context_max_items: int = 2000
    context_recent_activity: int = 50
    max_response_bytes: int = 2 * 1024 * 1024
    snapshot_max_items: int = 5000
    cycle_time_max_items: int = 2000
    cycle_time_max_days: int = 366
    cycle_time_default_days: int = 30
    states_max_per_project: int = 50
    max_message_id_chars: int = 128
    dependency_walk_limit: int = 10000
    labels_max_per_project: int = 200
    labels_max_per_item: int = 50
    fields_max_per_project: int = 50
    fields_max_options: int = 100
    fields_max_text_chars: int = 2000
    views_max_per_user: int = 100
    views_max_conditions: int = 20
    tenant_max_bytes: int = 2 * 1024**3
    tenant_write_bytes_per_hour: int = 512 * 1024**2
    known_users_cache: int = 10000
    sweep_interval_seconds: float = 300.0
    notifications_max_per_user: int = 1000
    notifications_max_mentions: int = 50
    notifications_max_watchers: int = 100
    # Networks webhook targets may be in although they are not public (CIDR strings).
    webhook_allowed_networks: tuple[str, ...] = ()
