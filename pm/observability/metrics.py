"""Every Prometheus metric of the process, defined once. Labels are bounded: operation names,
route templates, status codes, error codes, fixed kinds; never a user or tenant id.

With ``pm serve --workers N`` every worker keeps its values in files under
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, set up by pm.workers), and
``exposition`` sums them, so whichever worker answers a scrape reports the whole node; each
gauge says how its workers' values combine.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from pm.observability.operator_view import OperatorCollector, TenantActivity

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# Tenancy and database
TENANTS_OPEN = Gauge(
    "pm_tenants_open", "Tenant databases currently open", multiprocess_mode="livesum"
)
TENANT_OPENS = Counter("pm_tenant_opens_total", "Tenant databases opened", ["kind"])
TENANT_OPEN_SECONDS = Histogram(
    "pm_tenant_open_seconds", "Time to open a tenant database", ["kind"], buckets=LATENCY_BUCKETS
)
TENANT_MIGRATIONS = Counter("pm_tenant_migrations_total", "Tenant migrations run", ["result"])
TENANT_MIGRATION_SECONDS = Histogram(
    "pm_tenant_migration_seconds", "Time to migrate a tenant file", buckets=LATENCY_BUCKETS
)
TENANT_EVICTIONS = Counter("pm_tenant_evictions_total", "Tenants closed by the pool", ["reason"])
TENANT_REFUSALS = Counter("pm_tenant_refusals_total", "Tenant opens refused", ["reason"])
# Why a tenant's file is refused (pm.tenancy.files), each a label value of the counter below
TENANT_FILE_REASONS = ("empty", "unreadable", "foreign", "newer", "damaged", "migration")
TENANT_OPEN_FAILURES = Counter(
    "pm_tenant_open_failures_total",
    "Requests refused UNAVAILABLE because their tenant's file can't be used (empty, unreadable, "
    "foreign, newer, damaged, migration): the operator's to repair, never the client's",
    ["reason"],
)
DB_TRANSACTION_SECONDS = Histogram(
    "pm_db_transaction_seconds",
    "Time a transaction held its connection",
    ["mode"],
    buckets=LATENCY_BUCKETS,
)
DB_WRITE_WAIT_SECONDS = Histogram(
    "pm_db_write_wait_seconds",
    "Time a command queued for its tenant's writer",
    buckets=LATENCY_BUCKETS,
)
DB_WRITE_BATCH_SIZE = Histogram(
    "pm_db_write_batch_size",
    "Writes committed in one transaction (group commit: more than one when a queue is long)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
DB_LOCK_WAIT_SECONDS = Histogram(
    "pm_db_lock_wait_seconds",
    "Time BEGIN IMMEDIATE waited for the file's write lock (held by another process)",
    buckets=LATENCY_BUCKETS,
)
DB_WRITE_TIMEOUTS = Counter(
    "pm_db_write_timeouts_total", "Commands refused UNAVAILABLE after waiting for the writer"
)
DB_BUSY_RETRIES = Counter(
    "pm_db_busy_retries_total", "SQLite busy errors met inside a transaction (retried or failed)"
)

# Service layer
SERVICE_CALLS = Counter("pm_service_calls_total", "Service calls", ["operation", "outcome"])
SERVICE_ERRORS = Counter("pm_service_errors_total", "Service errors by code", ["code"])
IDEMPOTENT_REPLAYS = Counter(
    "pm_idempotent_replays_total", "Mutations answered from the idempotency record"
)
EVENTS_PUBLISHED = Counter("pm_events_published_total", "Committed events handed to the bus")
SERVICE_SECONDS = Histogram(
    "pm_service_seconds", "Service call latency", ["operation"], buckets=LATENCY_BUCKETS
)
BOUND_HITS = Counter(
    "pm_bound_hits_total",
    "Requests that met a configured bound and were capped or refused by it",
    ["bound"],
)
QUOTA_REFUSALS = Counter(
    "pm_quota_refusals_total",
    "Requests refused QUOTA_EXCEEDED, by budget (storage, writes, provisioning)",
    ["budget"],
)
RATE_LIMITED = Counter("pm_rate_limited_total", "Requests refused by a rate limit", ["door"])

# Notifications (pm.services.notifications)
NOTIFICATIONS_CREATED = Counter(
    "pm_notifications_created_total", "Notifications written, by reason", ["reason"]
)
NOTIFICATIONS_PRUNED = Counter(
    "pm_notifications_pruned_total",
    "A user's oldest notifications deleted to keep at most PM_NOTIFICATIONS_MAX_PER_USER",
)

# WebSocket door
WS_CONNECTIONS = Gauge(
    "pm_ws_connections", "WebSocket connections open", multiprocess_mode="livesum"
)
WS_REFUSED = Counter("pm_ws_refused_total", "WebSocket handshakes refused", ["reason"])
WS_MESSAGES_IN = Counter("pm_ws_messages_in_total", "Frames received, by payload", ["type"])
WS_MESSAGES_OUT = Counter("pm_ws_messages_out_total", "Frames sent, by payload", ["type"])
WS_REQUEST_SECONDS = Histogram(
    "pm_ws_request_seconds", "WebSocket request latency", ["operation"], buckets=LATENCY_BUCKETS
)
WS_ERRORS = Counter("pm_ws_errors_total", "Error frames sent, by code", ["code"])
WS_CLOSES = Counter(
    "pm_ws_closes_total",
    "WebSocket connections closed by the server, by close code (1008 abuse, 1009 frame too "
    "large, 1012 shutdown, 1013 slow consumer, 4401 token expired, 1000 normal)",
    ["code"],
)
WS_REVOKED = Counter(
    "pm_ws_subscriptions_revoked_total",
    "Live subscriptions dropped because the user's access changed (SubscriptionsRevoked)",
)
WS_SLOW_CONSUMERS = Counter(
    "pm_ws_slow_consumers_dropped_total", "Connections closed 1013 for a full send queue"
)
FANOUT_SIZE = Histogram(
    "pm_broadcast_fanout_size",
    "Subscribers an event was queued for",
    buckets=(0, 1, 2, 5, 10, 50, 100, 500, 1000, 5000),
)
PRESENCE_FRAMES = Counter(
    "pm_presence_frames_total",
    "Presence frames queued: the full set to a joiner, or the changes to a viewer",
    ["kind"],
)
PRESENCE_FLUSH_SECONDS = Histogram(
    "pm_presence_flush_seconds",
    "Time to compute and queue one project's coalesced presence changes",
    buckets=LATENCY_BUCKETS,
)
FANOUT_DELAY_SECONDS = Histogram(
    "pm_broadcast_delay_seconds",
    "Time from commit to an event being queued for its subscribers",
    buckets=LATENCY_BUCKETS,
)

# HTTP (REST door and operations endpoints): route is the template, never the raw path
HTTP_REQUESTS = Counter("pm_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "pm_http_request_seconds",
    "HTTP request latency, first byte in to last byte out",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
HTTP_ERRORS = Counter("pm_http_errors_total", "HTTP error answers, by DOMAIN.md code", ["code"])

# MCP door: tool names are a fixed table ("unknown" for any other), codes those of DOMAIN.md
MCP_TOOL_CALLS = Counter(
    "pm_mcp_tool_calls_total", "MCP tool calls, by outcome code", ["tool", "code"]
)
MCP_TOOL_SECONDS = Histogram(
    "pm_mcp_tool_seconds", "MCP tool call latency", ["tool"], buckets=LATENCY_BUCKETS
)

# Webhooks
WEBHOOK_ATTEMPTS = Counter(
    "pm_webhook_attempts_total",
    "Webhook delivery attempts (delivered, failed, refused)",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "pm_webhook_attempt_seconds", "Time of one delivery attempt", buckets=LATENCY_BUCKETS
)
WEBHOOK_LAG_SECONDS = Histogram(
    "pm_webhook_lag_seconds",
    "Time from an event's commit to its receiver's 2xx",
    buckets=(*LATENCY_BUCKETS, 10.0, 30.0, 60.0, 300.0),
)
WEBHOOKS_DISABLED = Counter(
    "pm_webhooks_disabled_total", "Webhooks turned off after their run of failures"
)
WEBHOOK_LOOPS = Gauge("pm_webhook_loops", "Webhooks with a delivery loop in this process")

# Series the alert rules watch are created at zero, so the first failure is an increase
# Prometheus can see rather than the birth of a series.
TENANT_MIGRATIONS.labels("failed")
for _reason in TENANT_FILE_REASONS:
    TENANT_OPEN_FAILURES.labels(_reason)
for _door_errors in (HTTP_ERRORS, WS_ERRORS, SERVICE_ERRORS):
    _door_errors.labels("INTERNAL")

# The bus (in-process, or Redis across processes and nodes)
BUS_CONNECTED = Gauge(
    "pm_bus_connected",
    "1 while the bus reaches its peers (always 1 for the in-process bus); of several workers, "
    "the least connected",
    multiprocess_mode="livemin",
)
BUS_OUTAGES = Counter("pm_bus_outages_total", "Times the Redis bus lost its connection")
BUS_RESYNCS = Counter(
    "pm_bus_resyncs_total", "Tenants whose subscribers were told to resync after an outage"
)
BUS_GAP_FILLS = Counter(
    "pm_bus_gap_fills_total", "Change-feed reads that filled a gap between live events"
)
BUS_FEED_EVENTS = Counter(
    "pm_bus_feed_events_total", "Events delivered from the change feed instead of live"
)
BUS_PUBLISH_DROPPED = Counter(
    "pm_bus_publish_dropped_total", "Events never published to Redis (outbox full in an outage)"
)
BUS_OUTBOX = Gauge(
    "pm_bus_outbox", "Messages waiting to be published to Redis", multiprocess_mode="livesum"
)


# The operator's view of the tenants (pm.observability.operator_view): top N by writes, sockets
# and size, backups, WAL, free disk; computed at each scrape.
TENANT_ACTIVITY = TenantActivity()
REGISTRY.register(OperatorCollector(TENANT_ACTIVITY))
WS_CONNECTIONS_PER_TENANT_LIMIT = Gauge(
    "pm_ws_connections_per_tenant_limit",
    "PM_WS_MAX_CONNECTIONS_PER_TENANT: the WebSocket connections one tenant may hold",
    multiprocess_mode="max",
)


def multiprocess_dir() -> Path | None:
    folder = os.environ.get(MULTIPROCESS_DIR)
    return Path(folder) if folder else None


def exposition() -> bytes:
    """The text /metrics serves: this process's registry, or every worker's under workers."""
    folder = multiprocess_dir()
    if folder is None:
        return bytes(generate_latest(REGISTRY))
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(OperatorCollector(TENANT_ACTIVITY, folder))
    return bytes(generate_latest(registry))
