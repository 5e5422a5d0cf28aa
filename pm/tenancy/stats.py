"""Per-tenant figures for operators: size, live work items, members, last activity, feed seq
and epoch.

Every tenant's row is here; /metrics names only the top N tenants by size, writes and sockets
(pm.observability.operator_view: a label per tenant for all of them would be unbounded).
Reading never writes: a file is opened read-only and is never created or migrated, and one
broken file becomes an error on its own row while the others are still read.

SQLite's ``mode=ro`` still creates -wal and -shm files beside a WAL database and leaves them
there. So a file with no -wal (closed cleanly: fully checkpointed, complete on its own) is opened
``immutable``, which creates nothing; a file with a -wal (in use, or left by a crash) is opened
``mode=ro`` so the WAL's commits are counted too. Should the server open an idle file while it is
read, its new commits go to the WAL and are merely not counted: the main file changes only when a
checkpoint copies the WAL back, long after these few queries.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pm.domain.enums import ItemType
from pm.tenancy.epochs import current_epoch
from pm.tenancy.files import open_read_only, sqlite_reason
from pm.tenancy.ids import tenant_db_path

_ITEMS_BY_TYPE = """
    SELECT item_type, count(*) FROM work_items WHERE deleted_at IS NULL GROUP BY item_type
"""
_ITEMS_BY_STATUS = """
    SELECT status, count(*) FROM work_items
    WHERE deleted_at IS NULL AND item_type != :project GROUP BY status
"""
# Users with a live membership of a live project.
_MEMBERS = """
    SELECT count(DISTINCT m.user_id) FROM project_members AS m
    JOIN work_items AS p ON p.id = m.project_id
    WHERE m.deleted_at IS NULL AND p.deleted_at IS NULL
"""
_LAST_ACTIVITY_MS = "SELECT max(at) FROM activity_log"
# The AUTOINCREMENT counter, not max(seq): retention prunes old rows, the counter stays.
_FEED_SEQ = "SELECT seq FROM sqlite_sequence WHERE name = 'change_feed'"


@dataclass(frozen=True)
class TenantStats:
    """One tenant's row; when ``error`` is set only ``size_bytes`` is meaningful."""

    tenant_id: str
    size_bytes: int
    items_by_type: dict[str, int] = field(default_factory=dict)
    items_by_status: dict[str, int] = field(default_factory=dict)
    members: int = 0
    last_activity_ms: int | None = None
    seq: int = 0
    epoch: int = 0  # the feed epoch (pm.tenancy.epochs): how many times its history was replaced
    error: str | None = None

    @property
    def last_activity_at(self) -> str | None:
        """ISO 8601 UTC with milliseconds, e.g. ``2025-01-31T09:15:00.000Z``."""
        if self.last_activity_ms is None:
            return None
        instant = datetime.fromtimestamp(self.last_activity_ms / 1000, UTC)
        return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def collect_stats(tenants_root: Path, tenant_ids: Iterable[str]) -> list[TenantStats]:
    """One row per tenant id, in the order given."""
    return [tenant_stats(tenants_root, tenant_id) for tenant_id in tenant_ids]


def tenant_stats(tenants_root: Path, tenant_id: str) -> TenantStats:
    path = tenant_db_path(tenants_root, tenant_id)
    size = _size_on_disk(path)
    try:
        with contextlib.closing(open_read_only(path)) as conn:
            return _read(conn, tenant_id, size)
    except sqlite3.Error as exc:
        return TenantStats(tenant_id=tenant_id, size_bytes=size, error=sqlite_reason(exc))


def _size_on_disk(path: Path) -> int:
    """The database file plus its WAL: what the tenant occupies until the next checkpoint."""
    total = 0
    for part in (path, path.with_name(f"{path.name}-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += part.stat().st_size
    return total


def _read(conn: sqlite3.Connection, tenant_id: str, size: int) -> TenantStats:
    """Every figure from one read transaction, so they agree with each other."""
    conn.execute("BEGIN")
    try:
        seq_row = conn.execute(_FEED_SEQ).fetchone()
        return TenantStats(
            tenant_id=tenant_id,
            size_bytes=size,
            items_by_type=_counts(conn, _ITEMS_BY_TYPE, {}),
            items_by_status=_counts(conn, _ITEMS_BY_STATUS, {"project": ItemType.PROJECT.value}),
            members=int(conn.execute(_MEMBERS).fetchone()[0]),
            last_activity_ms=conn.execute(_LAST_ACTIVITY_MS).fetchone()[0],
            seq=int(seq_row[0]) if seq_row else 0,
            epoch=current_epoch(conn).number,
        )
    finally:
        conn.execute("COMMIT")


def _counts(conn: sqlite3.Connection, sql: str, params: dict[str, str]) -> dict[str, int]:
    return {str(key): int(count) for key, count in conn.execute(sql, params)}
