"""The operator's view on /metrics of a real ``pm serve``: the top N tenants by writes, sockets and
size (N series at most, whatever the number of tenants), backup age and the tenants never backed
up, WAL sizes, the data folder's free space; with workers, whichever worker is scraped reports
the node's figures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemons import RedisServer, redis_server
from tests.scale.test_workers import both_workers, client_on
from tests.ws.client import Client
from tests.ws.serve import ServeProcess, pm_serve

from .conftest import WAIT, create_task, make_project, open_client, pm_async

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(server: ServeProcess) -> Samples:
    async with httpx.AsyncClient(trust_env=False) as client:
        text = (await client.get(f"http://127.0.0.1:{server.port}/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def series(samples: Samples, name: str) -> dict[str, float]:
    """tenant -> value of a per-tenant family."""
    return {dict(labels)["tenant"]: v for (n, labels), v in samples.items() if n == name}


async def until(server: ServeProcess, done: Callable[[Samples], bool]) -> Samples:
    async def poll() -> Samples:
        while True:
            samples = await scrape(server)
            if done(samples):
                return samples
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), WAIT)


async def test_top_tenants_backups_wal_and_disk_on_metrics(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pm_serve(
        data, ws_rate_limit="100000/second", metrics_top_tenants="2", census_interval_seconds="1"
    ) as server:
        clients: list[Client] = []
        for tenant, writes, sockets in (("busy", 6, 3), ("mid", 3, 2), ("calm", 1, 1)):
            first = await open_client(server.ws, "alice", tenant)
            project_id = await make_project(first, tenant)  # one command
            for n in range(writes - 1):
                await create_task(first, project_id, f"task {n}")
            clients += [first] + [
                await open_client(server.ws, "bob", tenant) for _ in range(sockets - 1)
            ]
        backed_up = await pm_async(data, "tenants", "backup", "busy", str(tmp_path / "busy.db"))
        assert backed_up.returncode == 0, backed_up.stderr

        def settled(samples: Samples) -> bool:
            return (
                value(samples, "pm_tenants_without_backup") == 2
                and len(series(samples, "pm_tenant_top_size_bytes")) == 2
            )

        samples = await until(server, settled)
        # Two of three tenants in each ranking: the top N only, by the figure ranked.
        assert series(samples, "pm_tenant_top_writes_per_minute") == {"busy": 6, "mid": 3}
        assert series(samples, "pm_tenant_top_ws_connections") == {"busy": 3, "mid": 2}
        sizes = series(samples, "pm_tenant_top_size_bytes")
        assert len(sizes) == 2 and all(size > 0 for size in sizes.values())
        assert value(samples, "pm_tenants_on_disk") == 3
        age = value(samples, "pm_backup_oldest_age_seconds")
        assert age is not None and 0 <= age < 3600
        assert (value(samples, "pm_tenant_wal_largest_bytes") or 0) > 0  # open tenants' WALs
        assert (value(samples, "pm_tenants_wal_bytes") or 0) >= (
            value(samples, "pm_tenant_wal_largest_bytes") or 0
        )
        free, size = (
            value(samples, "pm_data_dir_free_bytes"),
            value(samples, "pm_data_dir_size_bytes"),
        )
        assert free is not None and size is not None and 0 < free <= size
        assert value(samples, "pm_ws_connections_per_tenant_limit") == 1000
        for client in clients:
            await client.close()
        # Closed sockets leave the ranking.
        await until(server, lambda s: series(s, "pm_tenant_top_ws_connections") == {})


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as server:
        yield server


async def test_with_workers_any_worker_reports_the_nodes_tenants(
    tmp_path: Path, redis: RedisServer
) -> None:
    data = tmp_path / "data"
    with pm_serve(
        data,
        "--workers",
        "2",
        redis_url=redis.url,
        ws_rate_limit="100000/second",
        metrics_publish_seconds="0.2",
    ) as server:
        pids = sorted(await both_workers(server))
        clients = [await client_on(server, f"user{n}", {pids[n % 2]}) for n in range(4)]
        for client in clients:
            await make_project(client)  # one write on each socket's worker

        def node_wide(samples: Samples) -> bool:
            return series(samples, "pm_tenant_top_ws_connections") == {"acme": len(clients)} and (
                series(samples, "pm_tenant_top_writes_per_minute") == {"acme": len(clients)}
            )

        for _ in range(4):  # several scrapes, answered by whichever worker takes each
            await until(server, node_wide)
        for client in clients:
            await client.close()
