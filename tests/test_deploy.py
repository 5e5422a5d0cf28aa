"""The deployment files, held against each other and against the process they deploy.

promtool validates the Prometheus config and the alert rules, runs the rules' unit tests
(deploy/prometheus/alerts_test.yml) and parses every dashboard query. Every metric, label and
label value that a rule or a panel names must be one pm exports, so a renamed metric breaks
here instead of leaving an alert that can never fire or a panel that stays empty. The compose
file, Grafana's provisioning, the Prometheus scrape target and the Dockerfile must agree on
names, ports and paths; the image's HEALTHCHECK is run against a real `pm serve`.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

import pm.app  # noqa: F401  (imported for its side effect: every module's metrics registered)
from pm.errors import PmError
from pm.observability import metrics as pm_metrics
from pm.observability.operator_view import FAMILY_LABELS

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERT_RULES = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "pm.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources"
DASHBOARD_PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# Panels the operators were promised, by title, with the metrics each must show.
REQUIRED_PANELS = {
    "HTTP requests by route and status": {"pm_http_requests_total"},
    "HTTP latency p50 / p95 / p99": {"pm_http_request_seconds_bucket"},
    "WebSocket connections open": {"pm_ws_connections"},
    "WebSocket messages in / out by type": {
        "pm_ws_messages_in_total",
        "pm_ws_messages_out_total",
    },
    "WebSocket request latency by operation (p50 / p95 / p99)": {"pm_ws_request_seconds_bucket"},
    "Tenants open": {"pm_tenants_open"},
    "Tenant opens and migrations": {"pm_tenant_opens_total", "pm_tenant_migrations_total"},
    "DB transaction latency (read / write)": {"pm_db_transaction_seconds_bucket"},
    "DB write wait": {"pm_db_write_wait_seconds_bucket"},
    "Errors by code (HTTP, WebSocket, service)": {
        "pm_http_errors_total",
        "pm_ws_errors_total",
        "pm_service_errors_total",
    },
    "Rate-limit refusals": {"pm_rate_limited_total"},
    "Dropped slow consumers": {"pm_ws_slow_consumers_dropped_total"},
    "Broadcast fan-out size": {"pm_broadcast_fanout_size_bucket"},
    "Broadcast delay": {"pm_broadcast_delay_seconds_bucket"},
    # Per node (deploy/compose.cluster.yaml): traffic, the bus, misrouting, cross-process locks.
    "Requests per node": {"pm_http_requests_total", "pm_ws_messages_in_total"},
    "Bus connected per node": {"pm_bus_connected"},
    "Misdirected requests per node (WRONG_NODE)": {"pm_http_errors_total", "pm_ws_errors_total"},
    "Bus gap fills and resyncs per node": {"pm_bus_gap_fills_total", "pm_bus_resyncs_total"},
    "Bus outbox and dropped publishes per node": {"pm_bus_outbox", "pm_bus_publish_dropped_total"},
    "DB lock wait across processes p99 per node": {"pm_db_lock_wait_seconds_bucket"},
    # The operator's view of the tenants (pm.observability.operator_view).
    "Tenants by writes per minute (top N)": {"pm_tenant_top_writes_per_minute"},
    "Tenants by WebSocket connections (top N)": {
        "pm_tenant_top_ws_connections",
        "pm_ws_connections_per_tenant_limit",
    },
    "Tenants by size (top N)": {"pm_tenant_top_size_bytes"},
    "Backup age and tenants without a backup": {
        "pm_backup_oldest_age_seconds",
        "pm_tenants_without_backup",
    },
    "Data folder free space": {"pm_data_dir_free_bytes", "pm_data_dir_size_bytes"},
    "WAL size (largest tenant and all tenants)": {
        "pm_tenant_wal_largest_bytes",
        "pm_tenants_wal_bytes",
    },
    "Tenant open failures by reason": {"pm_tenant_open_failures_total"},
}

# Alerts the operators were promised: each metric must be watched by at least one rule.
REQUIRED_ALERT_METRICS = {
    "up",
    "pm_http_requests_total",
    "pm_http_errors_total",
    "pm_ws_errors_total",
    "pm_http_request_seconds_bucket",
    "pm_ws_request_seconds_bucket",
    "pm_ws_slow_consumers_dropped_total",
    "pm_tenant_migrations_total",
    "pm_db_write_timeouts_total",
    "pm_bus_connected",
    "pm_bus_publish_dropped_total",
    "pm_tenant_open_failures_total",
    "pm_backup_oldest_age_seconds",
    "pm_tenants_without_backup",
    "pm_data_dir_free_bytes",
    "pm_tenant_wal_largest_bytes",
    "pm_tenant_top_writes_per_minute",
    "pm_tenant_top_ws_connections",
    "pm_tenant_top_size_bytes",
}

# Labels Prometheus attaches to every scraped series, and the bucket bound of histograms.
TARGET_LABELS = {"job", "instance"}
# The series names each metric type is exposed under, by suffix.
EXPOSED_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}
METRIC_TOKEN = re.compile(r"\b((?:pm|process|python)_[a-z0-9_]+)\b")
SELECTOR = re.compile(r"\b((?:pm|process|python)_[a-z0-9_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
LABEL_REPLACE_TARGET = re.compile(r'label_replace\s*\(.*?,\s*"([a-zA-Z_][a-zA-Z0-9_]*)"', re.S)


# ---------------------------------------------------------------------------- helpers


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def exported_series() -> dict[str, frozenset[str]]:
    """Every series name pm exposes on /metrics, with the label names it carries.

    Names come from the default registry, so they include the process collector's; a labelled
    metric with no child yet has no sample, so names are derived from each family's type, and
    label names are read from the metric objects of every loaded pm module. The operator's view
    is computed at each scrape and has no series until there is activity: its families and
    labels come from the table it declares them in.
    """
    pm_modules = [
        module for name, module in sys.modules.items() if name == "pm" or name.startswith("pm.")
    ]
    labels_by_family = {
        collector._name: frozenset(collector._labelnames)
        for module in [pm_metrics, *pm_modules]
        for collector in vars(module).values()
        if isinstance(collector, MetricWrapperBase)
    }
    series: dict[str, frozenset[str]] = {}
    for family in REGISTRY.collect():
        labels = labels_by_family.get(family.name, frozenset())
        for suffix in EXPOSED_SUFFIXES.get(family.type, ("",)):
            series[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else frozenset())
        for sample in family.samples:
            series.setdefault(sample.name, frozenset(sample.labels))
    for name, declared in FAMILY_LABELS.items():
        series[name] = series.get(name, frozenset()) | frozenset(declared)
    return series


@cache
def string_literals_in_pm() -> frozenset[str]:
    """Every quoted string in pm's source: label values are written there, or not at all."""
    found: set[str] = set()
    for source in (ROOT / "pm").rglob("*.py"):
        found.update(re.findall(r'"([^"\\\n]*)"', source.read_text(encoding="utf-8")))
    return frozenset(found)


def error_codes() -> set[str]:
    codes: set[str] = set()
    pending: list[type[PmError]] = [PmError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule
        for group in load_yaml(ALERT_RULES)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def dashboard() -> dict[str, Any]:
    with DASHBOARD.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def all_panels(container: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in container.get("panels", []):
        yield panel
        yield from all_panels(panel)


def dashboard_queries() -> list[str]:
    board = dashboard()
    queries = [
        target["expr"]
        for panel in all_panels(board)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
    for variable in board.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if query:
            queries.append(str(query))
    return queries


def as_promql(grafana_query: str) -> str:
    """A Grafana query as plain PromQL: its variables replaced by values they can take."""
    query = grafana_query
    for variable, value in {
        "$__rate_interval": "1m",
        "$__interval": "1m",
        "$__range": "1h",
        "$instance": ".*",
    }.items():
        query = query.replace(variable, value)
    assert "$" not in query, f"unknown Grafana variable in {grafana_query!r}"
    return query


def check_names_in(expr: str, where: str) -> list[str]:
    """What in one PromQL expression names a metric, a label or a value pm does not export."""
    known = exported_series()
    problems = [
        f"{where}: unknown metric {name}"
        for name in METRIC_TOKEN.findall(expr)
        if name not in known
    ]
    metric_labels: set[str] = set(TARGET_LABELS)
    for name, body in SELECTOR.findall(expr):
        labels = known.get(name, frozenset())
        for label, op, value in MATCHER.findall(body):
            if label not in labels | TARGET_LABELS:
                problems.append(f"{where}: {name} has no label {label!r}")
            elif op == "=" and label not in TARGET_LABELS:
                if label == "code" and value not in error_codes():
                    problems.append(f"{where}: {value!r} is not an error code of pm.errors")
                elif value not in string_literals_in_pm():
                    problems.append(f"{where}: pm never sets {name}{{{label}={value!r}}}")
    for name in METRIC_TOKEN.findall(expr):
        metric_labels |= known.get(name, frozenset())
    metric_labels |= set(LABEL_REPLACE_TARGET.findall(expr))
    for grouping in GROUPING.findall(expr):
        for label in (part.strip() for part in grouping.split(",")):
            if label and label not in metric_labels:
                problems.append(f"{where}: groups by {label!r}, which no series in it carries")
    return problems


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(
            "promtool is not installed: `make promtool` installs Debian's prometheus package "
            "(needs root and apt); the Prometheus files were not checked"
        )
    return path


def run_promtool(*args: str) -> str:
    result = subprocess.run(
        [promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def final_stage() -> list[tuple[str, str]]:
    return dockerfile_stages()[-1]


def last(stage: list[tuple[str, str]], keyword: str) -> str:
    values = [rest for key, rest in stage if key == keyword]
    assert values, f"no {keyword} in the final stage of the Dockerfile"
    return values[-1]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in final_stage():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def exec_form(arguments: str) -> list[str]:
    parsed = json.loads(arguments)
    assert isinstance(parsed, list), f"not exec form: {arguments}"
    return [str(part) for part in parsed]


def healthcheck_command() -> list[str]:
    arguments = last(final_stage(), "HEALTHCHECK")
    assert " CMD " in f" {arguments} ", arguments
    return exec_form(arguments.split("CMD", 1)[1].strip())


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatchcase(candidate, glob) for candidate in candidates):
            ignored = not negated
    return ignored


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


def service_volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    mounts: list[tuple[str, str]] = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts.append((source, target))
    return mounts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------- Prometheus


def test_prometheus_config_is_valid_and_loads_the_rules() -> None:
    output = run_promtool("check", "config", str(PROMETHEUS_CONFIG.relative_to(ROOT)))
    assert "1 rule files found" in output, output


def test_alert_rules_are_valid() -> None:
    output = run_promtool("check", "rules", str(ALERT_RULES.relative_to(ROOT)))
    assert f"{len(alert_rules())} rules found" in output, output


def test_alert_rules_pass_their_unit_tests() -> None:
    output = run_promtool("test", "rules", str(ALERT_TESTS.relative_to(ROOT)))
    assert "SUCCESS" in output, output


def test_every_alert_is_shown_firing_by_a_unit_test() -> None:
    fired = {
        case["alertname"]
        for test in load_yaml(ALERT_TESTS)["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {rule["alert"] for rule in alert_rules()} <= fired


def test_alerts_wait_before_firing_have_a_severity_and_explain_themselves() -> None:
    for rule in alert_rules():
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), rule["alert"]
        assert rule.get("labels", {}).get("severity") in {"critical", "warning"}, rule["alert"]
        annotations = rule.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), rule["alert"]


def test_alerts_cover_errors_latency_readiness_consumers_migrations_and_writes() -> None:
    exprs = [rule["expr"] for rule in alert_rules()]
    watched = {name for expr in exprs for name in METRIC_TOKEN.findall(expr)}
    # `up` is Prometheus's own series for the scrape, not one of pm's.
    watched |= {"up" for expr in exprs if re.search(r"\bup\s*\{", expr)}
    assert watched >= REQUIRED_ALERT_METRICS, REQUIRED_ALERT_METRICS - watched
    internal = [rule for rule in alert_rules() if 'code="INTERNAL"' in rule["expr"]]
    assert internal, "no alert on INTERNAL errors"
    assert any('status=~"5..' in rule["expr"] for rule in alert_rules()), "no 5xx alert"


def test_alert_rules_name_only_what_pm_exports() -> None:
    problems = [
        problem
        for rule in alert_rules()
        for problem in check_names_in(rule["expr"], f"alert {rule['alert']}")
    ]
    assert not problems, "\n".join(problems)


def test_the_scrape_target_is_the_compose_service_and_port() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "pm"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    services = compose()["services"]
    for target in targets:
        host, port = target.rsplit(":", 1)
        assert host in services, f"scrape target {target} is not a compose service"
        assert port == image_env()["PM_PORT"] == last(final_stage(), "EXPOSE")
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS_CONFIG.parent / rule_file).is_file(), rule_file
    # The rules sit beside the config inside the container too.
    prometheus = services["prometheus"]
    config_flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    config_dir = str(Path(config_flag.split("=", 1)[1]).parent)
    assert ("./prometheus", config_dir) in service_volumes(prometheus)


# ---------------------------------------------------------------------------- Grafana


def test_dashboard_has_the_promised_panels_showing_the_right_metrics() -> None:
    panels = {panel["title"]: panel for panel in all_panels(dashboard())}
    missing = set(REQUIRED_PANELS) - set(panels)
    assert not missing, f"missing panels: {sorted(missing)}"
    for title, metrics in REQUIRED_PANELS.items():
        shown = {
            name
            for target in panels[title].get("targets", [])
            for name in METRIC_TOKEN.findall(target.get("expr", ""))
        }
        assert metrics <= shown, f"{title!r} does not show {sorted(metrics - shown)}"


def test_dashboard_queries_name_only_what_pm_exports() -> None:
    problems = [
        problem
        for query in dashboard_queries()
        for problem in check_names_in(as_promql(query), f"query {query!r}")
    ]
    assert not problems, "\n".join(problems)


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{index}", "expr": as_promql(query)}
                    for index, query in enumerate(dashboard_queries())
                    if not query.startswith("label_values(")
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    run_promtool("check", "rules", str(path))


def test_dashboard_layout_and_data_source() -> None:
    board = dashboard()
    panels = list(all_panels(board))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    boxes: list[tuple[str, dict[str, int]]] = []
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for other_title, other in boxes:
            overlap_x = pos["x"] < other["x"] + other["w"] and other["x"] < pos["x"] + pos["w"]
            overlap_y = pos["y"] < other["y"] + other["h"] and other["y"] < pos["y"] + pos["h"]
            assert not (overlap_x and overlap_y), f"{panel['title']} overlaps {other_title}"
        boxes.append((panel["title"], pos))
    (source,) = load_yaml(DATASOURCES / "prometheus.yml")["datasources"]
    for panel in panels:
        if panel["type"] == "row":
            continue
        for holder in [panel, *panel.get("targets", [])]:
            assert holder["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel
    for variable in board["templating"]["list"]:
        assert variable["datasource"]["uid"] == source["uid"]


def test_grafana_provisioning_points_at_the_compose_services_and_mounts() -> None:
    services = compose()["services"]
    (source,) = load_yaml(DATASOURCES / "prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    host_port = source["url"].removeprefix("http://")
    host, port = host_port.split(":")
    assert host in services
    assert any(mapping.endswith(f":{port}") for mapping in services[host]["ports"])
    (provider,) = load_yaml(DASHBOARD_PROVIDERS / "pm.yml")["providers"]
    grafana_mounts = dict(service_volumes(services["grafana"]))
    assert grafana_mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert grafana_mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    assert (DEPLOY / "grafana" / "dashboards" / DASHBOARD.name).is_file()


# ---------------------------------------------------------------------------- compose


def test_compose_runs_pm_with_its_data_on_a_named_volume() -> None:
    spec = compose()
    services = spec["services"]
    assert {"pm", "prometheus", "grafana"} <= set(services)
    pm = services["pm"]
    mounts = dict((target, source) for source, target in service_volumes(pm))
    assert "/data" in mounts, "pm's tenant files must live on a volume"
    assert mounts["/data"] in spec["volumes"], "/data should be a named volume"
    build = pm["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
    for service in services.values():
        assert "healthcheck" in service, service
        for source, _target in service_volumes(service):
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), source


def test_compose_checks_in_no_secret() -> None:
    services = compose()["services"]
    assert services["pm"]["environment"]["PM_JWT_SECRET"].startswith("${PM_JWT_SECRET:?")
    for name, service in services.items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        for key, value in environment.items():
            if re.search(r"SECRET|PASSWORD|TOKEN|KEY", key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{name}: {key}"


def test_compose_healthcheck_is_the_image_healthcheck() -> None:
    test = compose()["services"]["pm"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[1:] == healthcheck_command()


def test_prometheus_runs_even_while_pm_is_down() -> None:
    # depends_on pm (let alone service_healthy) would keep the watcher away when it matters.
    assert "pm" not in compose()["services"]["prometheus"].get("depends_on", {})


# ---------------------------------------------------------------------------- Dockerfile


def test_image_is_multi_stage_on_slim_python_and_ships_only_the_venv() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    arguments = {
        rest.split("=", 1)[0]: rest.split("=", 1)[1]
        for key, rest in dockerfile_instructions()
        if key == "ARG" and "=" in rest
    }
    for stage in stages:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], image)
        web = stage[0][1].endswith(" AS web")
        assert image == ("node:20-slim" if web else "python:3.11-slim"), image
    copies = [rest for key, rest in final_stage() if key == "COPY"]
    assert copies and all(copy.startswith("--from=") for copy in copies), copies
    assert [copy.split()[1:] for copy in copies] == [["/opt/venv", "/opt/venv"]]


def test_image_builds_the_board_from_the_lockfile_into_the_package() -> None:
    """The web stage installs exactly the lockfile and builds from pm's .proto; the Python build
    copies the result into pm/board/static before `pip install .`, which ships it as package
    data (so the final stage still copies only the venv)."""
    stages = {stage[0][1].split()[-1]: stage for stage in dockerfile_stages()}
    runs = [rest for key, rest in stages["web"] if key == "RUN"]
    assert any(run.startswith("npm ci") for run in runs) and "npm run build" in runs
    copies = [rest for key, rest in stages["web"] if key == "COPY"]
    assert "pm/ws/pm.proto /src/pm/ws/pm.proto" in copies
    build = [(key, rest) for key, rest in stages["build"] if key in ("COPY", "RUN")]
    board = build.index(("COPY", "--from=web /src/pm/board/static ./pm/board/static"))
    assert board < build.index(("RUN", "/opt/venv/bin/pip install ."))


def test_image_runs_as_a_non_root_user() -> None:
    user = last(final_stage(), "USER").split(":")[0]
    assert user not in {"root", "0"}


def test_image_serves_pm_on_all_interfaces_with_data_on_a_volume() -> None:
    env = image_env()
    assert env["PM_DATA_DIR"] == "/data"
    assert env["PM_HOST"] == "0.0.0.0"
    assert "/data" in last(final_stage(), "VOLUME").split()
    assert last(final_stage(), "EXPOSE") == env["PM_PORT"] == "8000"
    command = exec_form(last(final_stage(), "ENTRYPOINT")) + exec_form(last(final_stage(), "CMD"))
    assert command == ["pm", "serve"]


def test_image_healthcheck_uses_python_against_readiness() -> None:
    command = healthcheck_command()
    assert command[0] == "python", "the slim image has no curl"
    assert "/ready" in " ".join(command) or "/live" in " ".join(command)


def test_build_context_holds_what_the_build_copies_and_nothing_private() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        part
        for stage in dockerfile_stages()
        for key, rest in stage
        if key == "COPY" and not rest.startswith("--from=")
        for part in rest.split()[:-1]
    ]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not dockerignored(source, patterns), f"{source} is copied but .dockerignore'd"
    assert not dockerignored("pm/tenancy/migrations.py", patterns)
    assert not dockerignored("pm/migrations/versions/0001_initial_schema.py", patterns)
    for private in [".venv/bin/python", ".git/HEAD", "data/tenants/acme/main.db", "deploy/.env"]:
        assert dockerignored(private, patterns), private
    assert dockerignored("pm/__pycache__/app.cpython-311.pyc", patterns)


def test_image_healthcheck_passes_against_a_serving_pm_and_fails_without_one(
    tmp_path: Path,
) -> None:
    """The image's entrypoint, its environment and its HEALTHCHECK, run here without Docker."""
    port = free_port()
    env = {
        **os.environ,
        **image_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PM_DATA_DIR": str(tmp_path / "data"),
        "PM_PORT": str(port),
        "PM_JWT_SECRET": secrets.token_urlsafe(48),
    }
    entrypoint = exec_form(last(final_stage(), "ENTRYPOINT")) + exec_form(
        last(final_stage(), "CMD")
    )
    executable = shutil.which(entrypoint[0], path=env["PATH"])
    assert executable, f"{entrypoint[0]} is not installed beside {sys.executable}"
    check = [sys.executable, *healthcheck_command()[1:]]

    def healthy() -> bool:
        result = subprocess.run(check, env=env, capture_output=True, timeout=15, check=False)
        return result.returncode == 0

    assert not healthy(), "healthy with nothing listening"
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [executable, *entrypoint[1:]], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while not healthy():
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "pm serve never became healthy"
                time.sleep(0.2)
            assert (tmp_path / "data" / "tenants").is_dir()
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why.
    assert server.returncode in {0, -signal.SIGTERM}, (tmp_path / "serve.log").read_text()
    assert not healthy(), "healthy after pm stopped"
