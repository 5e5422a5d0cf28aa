"""The cluster deployment (deploy/compose.cluster.yaml) held against itself and against pm: two
nodes with their own volumes and one ring, Redis that keeps the pins, nginx on the config pm
generates for that ring (and that config valid for nginx itself), Prometheus scraping every
node, Grafana with the same dashboard as a single node."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pm.cli.cluster import TENANT_ID, nginx_config
from pm.config import load_settings
from pm.tenancy.ids import TENANT_ID_PATTERN
from tests.conftest import TEST_SECRET, free_port
from tests.daemons import nginx_test
from tests.test_deploy import (
    DEPLOY,
    DOCKERFILE,
    compose,
    load_yaml,
    run_promtool,
    service_volumes,
)

CLUSTER = DEPLOY / "compose.cluster.yaml"
NGINX = DEPLOY / "nginx" / "pm-cluster.conf"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus-cluster.yml"
PM_PORT = "8000"


def cluster() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(CLUSTER)
    return loaded


def pm_nodes() -> dict[str, dict[str, Any]]:
    services = cluster()["services"]
    return {name: s for name, s in services.items() if "PM_NODE_ID" in s.get("environment", {})}


def ring() -> list[str]:
    (nodes,) = {node["environment"]["PM_NODES"] for node in pm_nodes().values()}
    return str(nodes).split(",")


def test_two_nodes_each_with_its_own_volume_and_one_ring() -> None:
    spec = cluster()
    nodes = pm_nodes()
    assert len(nodes) == 2
    assert ring() == [f"{name}:{PM_PORT}" for name in nodes]
    data_volumes = []
    for name, node in nodes.items():
        env = node["environment"]
        assert env["PM_NODE_ID"] == f"{name}:{PM_PORT}"
        settings = load_settings(
            jwt_secret=TEST_SECRET,
            node_id=env["PM_NODE_ID"],
            nodes=env["PM_NODES"],
            redis_url=env["PM_REDIS_URL"],
            workers=int(re.sub(r"\$\{PM_WORKERS:-(\d+)\}", r"\1", env["PM_WORKERS"])),
        )
        assert settings.workers > 1 and settings.redis_url  # pm itself accepts them
        mounts = dict((target, source) for source, target in service_volumes(node))
        assert mounts["/data"] in spec["volumes"]
        data_volumes.append(mounts["/data"])
        build = node["build"]
        assert (CLUSTER.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        assert env["PM_JWT_SECRET"].startswith("${PM_JWT_SECRET:?")
        assert "ports" not in node, "nodes are reached through nginx, not published"
    assert len(set(data_volumes)) == 2, "each node's tenant files on a volume of its own"
    # The image's own healthcheck, as in compose.yaml.
    single = compose()["services"]["pm"]["healthcheck"]["test"]
    assert all(node["healthcheck"]["test"] == single for node in nodes.values())


def test_redis_persists_the_pins_and_every_node_uses_it() -> None:
    services = cluster()["services"]
    redis = services["redis"]
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert ("redis-data", "/data") in service_volumes(redis)
    for node in pm_nodes().values():
        assert node["environment"]["PM_REDIS_URL"] == "redis://redis:6379/0"
        assert node["depends_on"]["redis"]["condition"] == "service_healthy"
    assert all("healthcheck" in service for service in services.values())


def test_the_nginx_config_is_the_one_pm_generates_for_the_ring() -> None:
    nginx = cluster()["services"]["nginx"]
    assert ("./nginx/pm-cluster.conf", "/etc/nginx/nginx.conf") in service_volumes(nginx)
    assert nginx["ports"] == ["127.0.0.1:8080:8080"]
    assert NGINX.read_text(encoding="utf-8") == nginx_config(ring(), listen="8080")


def test_the_generated_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    """nginx resolves upstream names when it loads a config, and the compose service names
    resolve only inside compose: the same config is checked with the nodes at local addresses."""
    local = {node: f"127.0.0.1:{free_port()}" for node in ring()}
    text = NGINX.read_text(encoding="utf-8")
    for node, address in local.items():
        text = text.replace(node, address)
    config = tmp_path / "nginx.conf"
    config.write_text(text.replace("listen 8080;", f"listen 127.0.0.1:{free_port()};"))
    checked = nginx_test(config)
    assert checked.returncode == 0, checked.stderr


def test_prometheus_scrapes_every_node_with_the_same_rules() -> None:
    output = run_promtool("check", "config", str(PROMETHEUS.relative_to(DEPLOY.parent)))
    assert "1 rule files found" in output, output
    config = load_yaml(PROMETHEUS)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "pm"]
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert targets == ring()
    assert config["rule_files"] == load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["rule_files"]
    prometheus = cluster()["services"]["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus-cluster.yml" in prometheus["command"]
    assert ("./prometheus", "/etc/prometheus") in service_volumes(prometheus)
    assert "depends_on" not in prometheus  # it must watch nodes that are down


def test_grafana_is_provisioned_as_for_a_single_node() -> None:
    grafana = cluster()["services"]["grafana"]
    single = compose()["services"]["grafana"]
    assert service_volumes(grafana) == service_volumes(single)
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith(
        "${GRAFANA_ADMIN_PASSWORD:?"
    )


def test_nginx_captures_tenant_ids_as_pm_validates_them() -> None:
    assert TENANT_ID_PATTERN.pattern == TENANT_ID
