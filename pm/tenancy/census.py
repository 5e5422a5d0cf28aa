"""A pass over the data folder for the operator's metrics (pm.observability.operator_view): how
many tenants, the largest ones on disk, their WALs, how old their last backups are, and how much
room is left on the disk. Only ``stat`` calls and one small JSON read per tenant (the backup
record): no database is opened, so a pass over 100,000 tenants costs seconds of one thread,
taken every PM_CENSUS_INTERVAL_SECONDS, never on a request's path."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from pm.observability.operator_view import Census
from pm.tenancy.backup import last_backup_ms
from pm.tenancy.ids import TENANT_ID_PATTERN

log = logging.getLogger(__name__)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def take_census(tenants_root: Path, *, top: int, now: float | None = None) -> Census:
    now = time.time() if now is None else now
    sizes: list[tuple[str, int]] = []
    wal_total = wal_largest = without_backup = 0
    backup_ages: list[float] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(tenants_root) as entries:
        for entry in entries:
            if not TENANT_ID_PATTERN.fullmatch(entry.name):
                continue
            folder = Path(entry.path)
            main = _size(folder / "main.db")
            if not main and not (folder / "main.db").exists():
                continue  # a deleted tenant's tombstone, or a folder being made
            wal = _size(folder / "main.db-wal")
            sizes.append((entry.name, main + wal))
            wal_total += wal
            wal_largest = max(wal_largest, wal)
            backed_up = last_backup_ms(folder)
            if backed_up is None:
                without_backup += 1
            else:
                backup_ages.append(max(0.0, now - backed_up / 1000))
    disk = shutil.disk_usage(tenants_root if tenants_root.exists() else tenants_root.parent)
    return Census(
        taken_at=now,
        tenants=len(sizes),
        largest=heapq.nlargest(top, sizes, key=lambda pair: (pair[1], pair[0])),
        wal_bytes=wal_total,
        wal_largest_bytes=wal_largest,
        oldest_backup_age_seconds=max(backup_ages) if backup_ages else None,
        without_backup=without_backup,
        free_bytes=disk.free,
        size_bytes=disk.total,
    )


async def run_census(
    tenants_root: Path, *, interval: float, top: int, publish: Callable[[Census], None]
) -> None:
    """Take a census now and every ``interval`` seconds until cancelled, in a thread of its
    own (never one of the tenants' database threads); a failed pass is logged, not fatal."""
    while True:
        try:
            publish(await asyncio.to_thread(take_census, tenants_root, top=top))
        except Exception:
            log.exception("tenant census failed")
        await asyncio.sleep(interval)
