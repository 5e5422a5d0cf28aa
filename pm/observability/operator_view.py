"""The operator's view of the tenants on ``/metrics``: which are hot, big or held open by many
sockets, and how the disk under them is doing. Computed when scraped, by a custom collector.

Per-tenant series carry a ``tenant`` label, but only for the top N of each ranking (N is
PM_METRICS_TOP_TENANTS): at most N series per family whatever the number of tenants, so the
label stays bounded. A tenant that leaves the top N leaves the series.

    pm_tenant_top_writes_per_minute{tenant}   committed commands in the last minute
    pm_tenant_top_ws_connections{tenant}      WebSocket connections open now
    pm_tenant_top_size_bytes{tenant}          database file and WAL on disk
    pm_tenants_on_disk, pm_tenants_wal_bytes, pm_tenant_wal_largest_bytes
    pm_backup_oldest_age_seconds              the least recently backed-up tenant (of those
                                              backed up at all); pm_tenants_without_backup
    pm_data_dir_free_bytes, pm_data_dir_size_bytes
    pm_tenant_census_age_seconds              how old the disk figures are

Writes and sockets are counted by the layers that see them (``wrote``, ``add_sockets``); the
disk figures come from a census of the data folder that the tenancy layer takes every
PM_CENSUS_INTERVAL_SECONDS (``set_census``). With ``pm serve --workers N`` each worker writes its
writes and sockets beside prometheus_client's files (``publish``), and the worker that answers a
scrape sums those of every live worker, so the figures are the node's.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

WINDOW_SECONDS = 60
SocketCounts = Callable[[], Mapping[str, int]]

# Every family and its labels (tests/test_deploy.py reads this: the families have no series
# until there is activity or a census, yet rules and panels name them).
FAMILY_LABELS: dict[str, tuple[str, ...]] = {
    "pm_tenant_top_writes_per_minute": ("tenant",),
    "pm_tenant_top_ws_connections": ("tenant",),
    "pm_tenant_top_size_bytes": ("tenant",),
    "pm_tenants_on_disk": (),
    "pm_tenants_wal_bytes": (),
    "pm_tenant_wal_largest_bytes": (),
    "pm_tenants_without_backup": (),
    "pm_data_dir_free_bytes": (),
    "pm_data_dir_size_bytes": (),
    "pm_tenant_census_age_seconds": (),
    "pm_backup_oldest_age_seconds": (),
}


@dataclass(frozen=True)
class Census:
    """What a pass over the data folder found (pm.tenancy.census)."""

    taken_at: float  # time.time()
    tenants: int
    largest: list[tuple[str, int]]  # the top N by bytes on disk, largest first
    wal_bytes: int
    wal_largest_bytes: int
    oldest_backup_age_seconds: float | None
    without_backup: int
    free_bytes: int
    size_bytes: int


class TenantActivity:
    """Writes and sockets per tenant in this process, and the last census."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes: dict[str, deque[tuple[int, int]]] = {}  # tenant -> (second, count)
        self._socket_sources: list[SocketCounts] = []
        self.census: Census | None = None
        self.top = 10

    def wrote(self, tenant_id: str, now: float | None = None) -> None:
        second = int(time.monotonic() if now is None else now)
        with self._lock:
            seconds = self._writes.setdefault(tenant_id, deque())
            if seconds and seconds[-1][0] == second:
                seconds[-1] = (second, seconds[-1][1] + 1)
            else:
                seconds.append((second, 1))
            while seconds[0][0] <= second - WINDOW_SECONDS:
                seconds.popleft()

    def writes_per_minute(self, now: float | None = None) -> dict[str, int]:
        """Commands per tenant over the last minute; tenants quiet for a minute drop out."""
        since = int(time.monotonic() if now is None else now) - WINDOW_SECONDS
        with self._lock:
            for tenant_id in list(self._writes):
                seconds = self._writes[tenant_id]
                while seconds and seconds[0][0] <= since:
                    seconds.popleft()
                if not seconds:
                    del self._writes[tenant_id]
            return {t: sum(count for _s, count in s) for t, s in self._writes.items()}

    def add_sockets(self, source: SocketCounts) -> Callable[[], None]:
        """A door's open connections per tenant, read at each scrape; returns its removal."""
        with self._lock:
            self._socket_sources.append(source)

        def remove() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._socket_sources.remove(source)

        return remove

    def sockets(self) -> dict[str, int]:
        with self._lock:
            sources = list(self._socket_sources)
        counts: dict[str, int] = {}
        for source in sources:
            for tenant_id, count in source().items():
                counts[tenant_id] = counts.get(tenant_id, 0) + count
        return counts

    def set_census(self, census: Census) -> None:
        self.census = census

    # -- several workers: each publishes, whoever is scraped sums ----------------------------

    def publish(self, folder: Path) -> None:
        """This process's writes and sockets, replaced whole in ``folder``."""
        record = {"writes": self.writes_per_minute(), "sockets": self.sockets()}
        path = folder / f"activity-{os.getpid()}.json"
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(record), encoding="utf-8")
        os.replace(partial, path)

    def gathered(self, folder: Path | None) -> tuple[dict[str, int], dict[str, int]]:
        """(writes, sockets) per tenant: this process's, or every live worker's in ``folder``."""
        if folder is None:
            return self.writes_per_minute(), self.sockets()
        writes: dict[str, int] = {}
        sockets: dict[str, int] = {}
        for record in _live_records(folder):
            _add(writes, record.get("writes", {}))
            _add(sockets, record.get("sockets", {}))
        return writes, sockets


async def run_publisher(activity: TenantActivity, folder: Path, interval: float) -> None:
    """Under workers: publish this process's figures every ``interval`` seconds until
    cancelled (the worker answering a scrape sums every live worker's)."""
    while True:
        with contextlib.suppress(OSError):
            activity.publish(folder)
        await asyncio.sleep(interval)


def _live_records(folder: Path) -> Iterator[dict[str, dict[str, int]]]:
    for path in folder.glob("activity-*.json"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(path.stem.removeprefix("activity-"))
            os.kill(pid, 0)  # a dead worker's figures are not the node's any more
            yield json.loads(path.read_text(encoding="utf-8"))


def _add(into: dict[str, int], counts: Mapping[str, int]) -> None:
    for tenant_id, count in counts.items():
        into[str(tenant_id)] = into.get(str(tenant_id), 0) + int(count)


class OperatorCollector(Collector):
    """The families of the module docstring, from a ``TenantActivity``."""

    def __init__(self, activity: TenantActivity, folder: Path | None = None) -> None:
        self._activity = activity
        self._folder = folder

    def collect(self) -> Iterable[Metric]:
        activity = self._activity
        writes, sockets = activity.gathered(self._folder)
        yield _top(
            "pm_tenant_top_writes_per_minute",
            "Commands committed in the last minute, for the top N tenants by it",
            writes.items(),
            activity.top,
        )
        yield _top(
            "pm_tenant_top_ws_connections",
            "WebSocket connections open, for the top N tenants by it",
            sockets.items(),
            activity.top,
        )
        census = activity.census
        yield _top(
            "pm_tenant_top_size_bytes",
            "Bytes on disk (database file and WAL), for the top N tenants by it",
            [] if census is None else census.largest,
            activity.top,
        )
        if census is not None:
            yield from _census_families(census)


def _top(name: str, documentation: str, values: Iterable[tuple[str, int]], n: int) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=FAMILY_LABELS[name])
    for tenant_id, value in heapq.nlargest(n, values, key=lambda pair: (pair[1], pair[0])):
        if value > 0:
            family.add_metric([tenant_id], value)
    return family


def _census_families(census: Census) -> Iterator[Metric]:
    plain = (
        ("pm_tenants_on_disk", "Tenant databases in the data folder", census.tenants),
        ("pm_tenants_wal_bytes", "Bytes of every tenant's WAL together", census.wal_bytes),
        (
            "pm_tenant_wal_largest_bytes",
            "The largest WAL of a tenant (it grows while checkpoints are held back)",
            census.wal_largest_bytes,
        ),
        (
            "pm_tenants_without_backup",
            "Tenants with no recorded backup (pm tenants backup writes the record)",
            census.without_backup,
        ),
        ("pm_data_dir_free_bytes", "Bytes free on the data folder's disk", census.free_bytes),
        ("pm_data_dir_size_bytes", "Size of the data folder's disk", census.size_bytes),
        (
            "pm_tenant_census_age_seconds",
            "Seconds since the disk figures were read (PM_CENSUS_INTERVAL_SECONDS apart)",
            max(0.0, time.time() - census.taken_at),
        ),
    )
    for name, documentation, value in plain:
        yield GaugeMetricFamily(name, documentation, value=value)
    if census.oldest_backup_age_seconds is not None:
        yield GaugeMetricFamily(
            "pm_backup_oldest_age_seconds",
            "Age of the oldest last backup among the tenants that have one",
            value=census.oldest_backup_age_seconds,
        )
