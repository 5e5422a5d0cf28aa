"""Two pm nodes behind a real nginx running the config ``pm cluster nginx-config`` generates:
every tenant lands on the node the ring names (nginx and pm hash alike), each tenant's file
lives on exactly one node, a node asked directly for a tenant it does not own answers 421 with
the owner and writes nothing, and a token can't be routed as one tenant and served as another."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pm.tenancy.placement import HashRing, Placement
from tests.conftest import free_port
from tests.daemons import nginx_server, nginx_test
from tests.ws.client import Client, payload
from tests.ws.serve import ServeProcess, pm_serve

from .conftest import token

TENANTS = [f"tenant-{n:03d}" for n in range(100)]


@dataclass
class Cluster:
    nodes: list[str]
    servers: dict[str, ServeProcess]
    proxy: str  # http://127.0.0.1:<nginx port>

    def data(self, node: str) -> Path:
        return self.servers[node].data_dir

    def has_file(self, node: str, tenant: str) -> bool:
        return (self.data(node) / "tenants" / tenant / "main.db").is_file()


def generated_nginx_config(nodes: list[str], listen: str, folder: Path) -> Path:
    pm = Path(sys.executable).parent / "pm"
    env = {**os.environ, "PM_NODES": ",".join(nodes)}
    output = subprocess.run(
        [str(pm), "cluster", "nginx-config", "--listen", listen],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(output, encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the module (starting three servers costs more than the tests); each test
    uses tenants of its own."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    # Each free_port() closes its socket before the next call, so the kernel may hand the same
    # port out twice (a proxy on a node's port answered WRONG_NODE in one run): ask until three
    # differ.
    picked: set[int] = set()
    while len(picked) < 3:
        picked.add(free_port())
    *ports, proxy_port = sorted(picked)
    nodes = [f"127.0.0.1:{port}" for port in ports]
    config = generated_nginx_config(nodes, f"127.0.0.1:{proxy_port}", tmp_path / "nginx")
    checked = nginx_test(config)
    assert checked.returncode == 0, checked.stderr
    # 100 new tenants in a few seconds: above the default provisioning rate (not tested here)
    cluster_env = {"nodes": ",".join(nodes), "tenant_provision_rate": "1000/minute"}
    with (
        pm_serve(tmp_path / "a" / "data", port=ports[0], node_id=nodes[0], **cluster_env) as a,
        pm_serve(tmp_path / "b" / "data", port=ports[1], node_id=nodes[1], **cluster_env) as b,
        nginx_server(config, proxy_port),
    ):
        yield Cluster(nodes, {nodes[0]: a, nodes[1]: b}, f"http://127.0.0.1:{proxy_port}")


def test_the_ring_is_nginx_s_consistent_hash_and_moves_little_when_a_node_joins() -> None:
    two = HashRing(["pm-a:8000", "pm-b:8000"])
    three = HashRing(["pm-a:8000", "pm-b:8000", "pm-c:8000"])
    owners = {t: two.owner(t) for t in TENANTS}
    assert set(owners.values()) == {"pm-a:8000", "pm-b:8000"}  # both get a share
    moved = [t for t in TENANTS if three.owner(t) != owners[t]]
    assert moved and all(three.owner(t) == "pm-c:8000" for t in moved)  # only to the new node
    assert len(moved) < len(TENANTS) / 2


async def test_every_tenant_lands_on_its_owner_through_nginx(cluster: Cluster) -> None:
    ring = Placement(None, cluster.nodes)
    async with httpx.AsyncClient(base_url=cluster.proxy, timeout=30) as client:
        for tenant in TENANTS:
            headers = {"Authorization": f"Bearer {token('agent', tenant)}"}
            response = await client.get(f"/t/{tenant}/api/v1/projects", headers=headers)
            assert response.status_code == 200, (tenant, response.text)
    for tenant in TENANTS:
        owner = ring.owner(tenant)
        assert owner is not None and cluster.has_file(owner, tenant), tenant
        others = [node for node in cluster.nodes if node != owner]
        assert not any(cluster.has_file(node, tenant) for node in others), tenant
    assert {ring.owner(t) for t in TENANTS} == set(cluster.nodes)


async def test_the_wrong_node_answers_421_with_the_owner_and_writes_nothing(
    cluster: Cluster,
) -> None:
    ring = Placement(None, cluster.nodes)
    tenant = next(
        t for t in (f"direct-{n}" for n in range(100)) if ring.owner(t) == cluster.nodes[0]
    )
    wrong = cluster.servers[cluster.nodes[1]]
    headers = {"Authorization": f"Bearer {token('agent', tenant)}"}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(
            f"http://127.0.0.1:{wrong.port}/api/v1/projects", headers=headers
        )
    assert response.status_code == 421
    assert response.json()["error"]["code"] == "WRONG_NODE"
    assert response.json()["error"]["owner"] == cluster.nodes[0]
    assert response.headers["pm-owner"] == cluster.nodes[0]
    with pytest.raises(Exception, match="421"):
        await Client.open(wrong.ws, token("agent", tenant))
    assert not cluster.has_file(cluster.nodes[1], tenant)
    assert not cluster.has_file(cluster.nodes[0], tenant)  # nothing asked the owner yet


async def test_websockets_go_through_the_proxy_to_the_owner(cluster: Cluster) -> None:
    ring = Placement(None, cluster.nodes)
    url = cluster.proxy.replace("http://", "ws://")
    clients = []
    for tenant in (f"sockets-{n}" for n in range(6)):
        client = await Client.open(f"{url}/t/{tenant}/ws", token("alice", tenant), max_queue=None)
        clients.append(client)
        created = await client.request(
            "create_work_item", {"item_type": "project", "title": tenant}
        )
        assert payload(created)[0] == "work_item_created"
        owner = ring.owner(tenant)
        assert owner is not None and cluster.has_file(owner, tenant)
    await asyncio.gather(*(client.close() for client in clients))


async def test_a_token_for_another_tenant_than_the_route_is_refused(cluster: Cluster) -> None:
    route, other = "route-a", "route-b"
    async with httpx.AsyncClient(base_url=cluster.proxy, timeout=30) as client:
        response = await client.get(
            f"/t/{route}/api/v1/projects",
            headers={"Authorization": f"Bearer {token('agent', other)}"},
        )
        unrouted = await client.get(
            "/api/v1/projects", headers={"Authorization": f"Bearer {token('agent', route)}"}
        )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert unrouted.status_code == 404
    assert not any(cluster.has_file(node, t) for node in cluster.nodes for t in (route, other))
