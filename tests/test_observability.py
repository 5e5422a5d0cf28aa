"""The operator's view of real traffic (PROTOCOL.md, "Operations endpoints").

A real server on 127.0.0.1 serves real REST and WebSocket requests; ``/metrics`` is then scraped
over HTTP and parsed as Prometheus does. Metrics are process-wide and other tests move them
too, so values are compared before and after the traffic, as lower bounds. Logs are captured
from the root logger through pm's JSON formatter, as an operator would read them; spans are
exported by OTLP over HTTP to a small collector in this process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pm.auth import issue_token
from pm.config import load_settings
from pm.observability.logging import JsonFormatter, bind_request
from pm.observability.operator_view import FAMILY_LABELS
from pm.observability.tracing import Tracing
from pm.tenancy.ids import tenant_db_path
from tests.conftest import TEST_SECRET, LiveServer, TokenFactory, start_server
from tests.ws.client import Client, payload

TOKEN_MARK = "eyJ"
UNMATCHED_ROUTE = "unmatched"
SampleKey = tuple[str, frozenset[tuple[str, str]]]

# Every metric PROTOCOL.md asks for: family name -> (type, label names). Counters are exposed
# as <name>_total; latencies are histograms in seconds.
EXPECTED_METRICS: dict[str, tuple[str, set[str]]] = {
    "pm_http_requests": ("counter", {"method", "route", "status"}),
    "pm_http_request_seconds": ("histogram", {"method", "route", "status"}),
    "pm_ws_connections": ("gauge", set()),
    "pm_ws_messages_in": ("counter", {"type"}),
    "pm_ws_messages_out": ("counter", {"type"}),
    "pm_ws_request_seconds": ("histogram", {"operation"}),
    "pm_ws_errors": ("counter", {"code"}),
    "pm_rate_limited": ("counter", {"door"}),
    "pm_ws_slow_consumers_dropped": ("counter", set()),
    "pm_tenants_open": ("gauge", set()),
    "pm_tenant_opens": ("counter", {"kind"}),
    "pm_tenant_open_seconds": ("histogram", {"kind"}),
    "pm_tenant_migrations": ("counter", {"result"}),
    "pm_tenant_migration_seconds": ("histogram", set()),
    "pm_tenant_evictions": ("counter", {"reason"}),
    "pm_db_transaction_seconds": ("histogram", {"mode"}),
    "pm_db_busy_retries": ("counter", set()),
    "pm_broadcast_fanout_size": ("histogram", set()),
    "pm_broadcast_delay_seconds": ("histogram", set()),
}
# Histograms of a count, not a duration; every other histogram is a latency in seconds.
DIMENSIONLESS_HISTOGRAMS = {"pm_broadcast_fanout_size", "pm_db_write_batch_size"}


def _id(prefix: str) -> str:
    """Distinctive ids, so a label value that contains one is certainly a leak."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Scrape:
    types: dict[str, str]
    labels: dict[str, set[str]]
    sample_names: dict[str, set[str]]
    values: dict[SampleKey, float]

    def get(self, name: str, **labels: str) -> float:
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def since(self, before: Scrape, name: str, **labels: str) -> float:
        return self.get(name, **labels) - before.get(name, **labels)


def scrape(server: LiveServer) -> Scrape:
    response = httpx.get(f"{server.http}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    types: dict[str, str] = {}
    labels: dict[str, set[str]] = {}
    sample_names: dict[str, set[str]] = {}
    values: dict[SampleKey, float] = {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        names = labels.setdefault(family.name, set())
        samples = sample_names.setdefault(family.name, set())
        for sample in family.samples:
            names.update(k for k in sample.labels if k != "le")
            samples.add(sample.name)
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scrape(types, labels, sample_names, values)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _frame_with(client: Client, name: str) -> dict[str, Any]:
    """The next frame carrying payload ``name``, keeping the others as events."""
    while True:
        frame = await client.recv()
        if payload(frame)[0] == name:
            return frame
        client.events.append(frame)


# -- metrics after real traffic ---------------------------------------------------------------


@dataclass
class Ids:
    tenant: str = field(default_factory=lambda: _id("obs-tenant"))
    other_tenant: str = field(default_factory=lambda: _id("obs-other"))
    alice: str = field(default_factory=lambda: _id("alice"))
    bob: str = field(default_factory=lambda: _id("bob"))
    burst: str = field(default_factory=lambda: _id("burst"))
    carol: str = field(default_factory=lambda: _id("carol"))
    missing: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        fixed = [self.tenant, self.other_tenant, self.alice, self.bob, self.burst, self.carol]
        return [*fixed, self.missing, *self.created]


REST_BURST = 20


@pytest.fixture
def busy_server(tmp_path: Path) -> Iterator[LiveServer]:
    """One open tenant at a time (so a second tenant evicts the first), a short busy timeout
    (so an outside lock answers quickly) and a small REST budget (so a burst is refused; it is
    every door's budget: alice's WebSocket requests spend from it too)."""
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        max_open_tenants=1,
        busy_timeout_ms=100,
        rest_rate_limit=f"{REST_BURST}/minute",
    )
    server = start_server(settings)
    yield server
    server.stop()


async def _websocket_traffic(server: LiveServer, token: TokenFactory, ids: Ids) -> Scrape:
    """Two clients in one project: a command, a subscription it fans out to, a malformed frame
    and a command refused because another process holds the tenant file. Returns the scrape
    taken while both sockets were open."""
    alice = await Client.open(server.ws, token(ids.alice, ids.tenant))
    bob = await Client.open(server.ws, token(ids.bob, ids.tenant, roles=("admin",)))
    try:
        created = await alice.request("create_work_item", {"item_type": "project", "title": "P"})
        project = payload(created)[1]["work_item"]["id"]
        subscribed = await bob.request("subscribe", {"project_ids": [project]})
        assert payload(subscribed)[0] == "subscribed"
        task = await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": project, "title": "T"}
        )
        ids.created += [project, payload(task)[1]["work_item"]["id"]]
        seen = await _frame_with(bob, "work_item_created")
        assert payload(seen)[1]["work_item"]["id"] == ids.created[1]

        await alice.conn.send("{this is not json")
        assert payload(await _frame_with(alice, "error"))[1]["code"] == "INVALID_MESSAGE"

        outside = sqlite3.connect(
            tenant_db_path(server.settings.data_dir / "tenants", ids.tenant), isolation_level=None
        )
        try:
            outside.execute("BEGIN EXCLUSIVE")
            refused = await alice.request(
                "create_work_item", {"item_type": "task", "parent_id": project, "title": "X"}
            )
        finally:
            outside.close()
        name, body = payload(refused)
        assert name == "error" and body["code"] == "UNAVAILABLE"
        return scrape(server)
    finally:
        await alice.close()
        await bob.close()


def _rest_traffic(server: LiveServer, token: TokenFactory, ids: Ids) -> None:
    alice = {"Authorization": f"Bearer {token(ids.alice, ids.tenant)}"}
    forged = issue_token("another-secret-" * 4, tenant_id=ids.tenant, user_id=ids.alice)
    with httpx.Client(base_url=server.http) as http:
        projects = http.get("/api/v1/projects", headers=alice)
        assert projects.status_code == 200
        assert [p["id"] for p in projects.json()["projects"]] == ids.created[:1]
        assert http.get(f"/api/v1/work-items/{ids.created[1]}", headers=alice).status_code == 200
        assert http.get(f"/api/v1/work-items/{ids.missing}", headers=alice).status_code == 404
        assert http.get(f"/api/v1/nothing/{ids.missing}", headers=alice).status_code == 404
        assert http.get("/api/v1/projects").status_code == 401
        assert (
            http.get("/api/v1/projects", headers={"Authorization": f"Bearer {forged}"}).status_code
            == 401
        )

        burst = {"Authorization": f"Bearer {token(ids.burst, ids.tenant)}"}
        statuses = [
            http.get("/api/v1/projects", headers=burst).status_code for _ in range(REST_BURST + 1)
        ]
        assert statuses == [200] * REST_BURST + [429]

        carol = {"Authorization": f"Bearer {token(ids.carol, ids.other_tenant)}"}
        assert http.get("/api/v1/projects", headers=carol).status_code == 200  # evicts the first
        assert http.get("/api/v1/projects", headers=alice).status_code == 200  # reopens it


async def test_metrics_follow_rest_and_websocket_traffic(
    busy_server: LiveServer, make_token: TokenFactory
) -> None:
    ids = Ids()
    before = scrape(busy_server)
    during = await _websocket_traffic(busy_server, make_token, ids)
    await eventually(
        lambda: scrape(busy_server).get("pm_ws_connections") == before.get("pm_ws_connections")
    )
    await asyncio.to_thread(_rest_traffic, busy_server, make_token, ids)
    after = scrape(busy_server)

    for name, (kind, label_names) in EXPECTED_METRICS.items():
        assert after.types.get(name) == kind, name
        assert after.labels[name] == label_names, name
    for name, kind in after.types.items():
        if not name.startswith("pm_"):
            continue
        if kind == "counter":
            # A labelled counter shows no sample before its first increment.
            assert after.sample_names[name] <= {f"{name}_total", f"{name}_created"}, name
        else:
            assert not name.endswith("_total"), name
        if kind == "histogram" and name not in DIMENSIONLESS_HISTOGRAMS:
            assert name.endswith("_seconds"), name

    projects, item = "/api/v1/projects", "/api/v1/work-items/{work_item_id}"
    http = "pm_http_requests_total"
    assert after.since(before, http, method="GET", route=projects, status="200") >= 8
    assert after.since(before, http, method="GET", route=projects, status="401") >= 2
    assert after.since(before, http, method="GET", route=projects, status="429") >= 1
    assert after.since(before, http, method="GET", route=item, status="200") >= 1
    assert after.since(before, http, method="GET", route=item, status="404") >= 1
    assert after.since(before, http, method="GET", route=UNMATCHED_ROUTE, status="404") >= 1
    latency = "pm_http_request_seconds_count"
    assert after.since(before, latency, method="GET", route=item, status="404") >= 1
    assert after.since(before, "pm_http_errors_total", code="UNAUTHENTICATED") >= 2
    assert after.since(before, "pm_http_errors_total", code="NOT_FOUND") >= 2
    assert after.since(before, "pm_rate_limited_total", door="rest") >= 1

    assert during.since(before, "pm_ws_connections") == 2
    assert after.since(before, "pm_ws_messages_in_total", type="create_work_item") >= 3
    assert after.since(before, "pm_ws_messages_in_total", type="subscribe") >= 1
    # The task's response to alice and its event to bob.
    assert after.since(before, "pm_ws_messages_out_total", type="work_item_created") >= 2
    assert after.since(before, "pm_ws_messages_out_total", type="subscribed") >= 1
    assert after.since(before, "pm_ws_messages_out_total", type="error") >= 2
    ws_latency = "pm_ws_request_seconds_count"
    assert after.since(before, ws_latency, operation="create_work_item") >= 3
    assert after.since(before, ws_latency, operation="invalid") >= 1
    assert after.since(before, "pm_ws_errors_total", code="INVALID_MESSAGE") >= 1
    assert after.since(before, "pm_ws_errors_total", code="UNAVAILABLE") >= 1

    assert after.since(before, "pm_tenant_opens_total", kind="cold") >= 2
    assert after.since(before, "pm_tenant_opens_total", kind="warm") >= 1
    assert after.since(before, "pm_tenant_open_seconds_count", kind="cold") >= 2
    assert after.since(before, "pm_tenant_migrations_total", result="ok") >= 2
    assert after.since(before, "pm_tenant_migration_seconds_count") >= 2
    assert after.since(before, "pm_tenant_evictions_total", reason="lru") >= 2
    assert after.get("pm_tenants_open") >= 1
    assert after.since(before, "pm_db_transaction_seconds_count", mode="write") >= 3
    assert after.since(before, "pm_db_transaction_seconds_count", mode="read") >= 3
    assert after.since(before, "pm_db_busy_retries_total") >= 1

    assert after.since(before, "pm_broadcast_fanout_size_count") >= 1
    assert after.since(before, "pm_broadcast_fanout_size_sum") >= 1
    assert after.since(before, "pm_broadcast_delay_seconds_count") >= 1

    _assert_bounded_labels(after, busy_server, ids)


def _assert_bounded_labels(after: Scrape, server: LiveServer, ids: Ids) -> None:
    """No label names a user or tenant, but the operator's top-N families, which carry a tenant
    for N series at most; no label value holds an id; routes are templates."""
    documented = set(server.app.openapi()["paths"])
    operations = {getattr(route, "path", None) for route in server.app.routes}
    templates = documented | operations | {UNMATCHED_ROUTE}
    used = ids.all()
    top_n = {name for name, labels in FAMILY_LABELS.items() if "tenant" in labels}
    for name in top_n:
        ranked = [labels for sample, labels in after.values if sample == name]
        assert len(ranked) <= server.settings.metrics_top_tenants, name
    for name, label_set in after.labels.items():
        for label in label_set:
            if name in top_n and label == "tenant":
                continue
            assert "tenant" not in label and "user" not in label, (name, label)
            assert not label.endswith("_id") and label != "id", (name, label)
    for sample, labels in after.values:
        for label, value in labels:
            if sample in top_n and label == "tenant":
                continue
            assert not [i for i in used if i in value], (sample, label, value)
            if label == "route":
                assert value in templates, (sample, value)


# -- logs -------------------------------------------------------------------------------------


class CapturedLogs(logging.Handler):
    """Every record with its JSON line, formatted in the thread that logged it (a request's
    fields are bound there, in a ContextVar)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.entries: list[tuple[logging.LogRecord, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append((record, self.format(record)))

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for _record, line in list(self.entries)]

    def request_line(self, message_id: str) -> dict[str, Any] | None:
        for line in self.lines():
            if line["event"] == "http request" and line.get("message_id") == message_id:
                return line
        return None


@pytest.fixture
def captured_logs() -> Iterator[CapturedLogs]:
    root = logging.getLogger()
    capture, level = CapturedLogs(), root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture)
    root.setLevel(level)


async def _request_line(logs: CapturedLogs, message_id: str) -> dict[str, Any]:
    """The observer logs after the last byte is sent, so the client may be faster."""
    await eventually(lambda: logs.request_line(message_id) is not None)
    line = logs.request_line(message_id)
    assert line is not None
    return line


async def test_each_http_request_logs_one_json_line_with_its_context(
    live_server: LiveServer, make_token: TokenFactory, captured_logs: CapturedLogs
) -> None:
    tenant, user = _id("logs-tenant"), _id("logs-user")
    headers = {"Authorization": f"Bearer {make_token(user, tenant)}", "X-Request-Id": "abc-123"}
    async with httpx.AsyncClient(base_url=live_server.http) as http:
        response = await http.get("/api/v1/projects", headers=headers)
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"

    line = await _request_line(captured_logs, "abc-123")
    assert line["logger"] == "pm.http" and line["level"] == "info"
    assert line["tenant"] == tenant and line["user"] == user
    assert line["operation"] == "list_projects" and line["route"] == "/api/v1/projects"
    assert line["method"] == "GET" and line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert [entry for entry in captured_logs.lines() if entry.get("message_id") == "abc-123"]


def test_the_formatter_masks_tokens_in_the_message_fields_and_traceback(
    make_token: TokenFactory,
) -> None:
    token = make_token()
    capture = CapturedLogs()
    log = logging.getLogger("pm.tests.redaction")
    log.addHandler(capture)
    try:
        log.warning("refused %s", f"Bearer {token}", extra={"user": token, "operation": token})
        with bind_request(tenant=token, message_id=f"m-{token}"):
            try:
                raise ValueError(f"bad token {token}")
            except ValueError:
                log.exception("failed")
    finally:
        log.removeHandler(capture)

    [(first, first_line), (_, second_line)] = capture.entries
    assert token in first.getMessage()  # the record did carry it: the mask is what removed it
    for line in (first_line, second_line):
        assert TOKEN_MARK not in line
        assert "[redacted-token]" in line
    assert json.loads(first_line)["event"] == "refused Bearer [redacted-token]"
    assert json.loads(first_line)["user"] == "[redacted-token]"
    assert json.loads(second_line)["tenant"] == "[redacted-token]"
    assert "bad token [redacted-token]" in json.loads(second_line)["exception"]


def _raw(record: logging.LogRecord) -> str:
    """Everything a record holds, before any formatting."""
    return f"{record.getMessage()} {vars(record)!r}"


def _assert_no_token(logs: CapturedLogs, token: str) -> None:
    """No JSON line carries the token, and pm's own code never handed it to a logger."""
    assert logs.entries
    for record, line in logs.entries:
        assert TOKEN_MARK not in line, line
        if record.name.startswith("pm."):
            assert token not in _raw(record), record.name


async def test_a_bad_bearer_token_never_reaches_the_log(
    live_server: LiveServer, captured_logs: CapturedLogs
) -> None:
    forged = issue_token("another-secret-" * 4, tenant_id="acme", user_id="mallory")
    assert forged.startswith(TOKEN_MARK)
    headers = {"Authorization": f"Bearer {forged}", "X-Request-Id": "bad-token-1"}
    async with httpx.AsyncClient(base_url=live_server.http) as http:
        response = await http.get("/api/v1/projects", headers=headers)
    assert response.status_code == 401
    assert TOKEN_MARK not in response.text

    line = await _request_line(captured_logs, "bad-token-1")
    assert line["status"] == 401 and line["code"] == "UNAUTHENTICATED"
    assert "user" not in line and "tenant" not in line
    _assert_no_token(captured_logs, forged)


async def test_a_websocket_handshake_token_never_reaches_the_log(
    live_server: LiveServer, make_token: TokenFactory, captured_logs: CapturedLogs
) -> None:
    token = make_token(_id("ws-user"), _id("ws-tenant"))
    client = await Client.open(live_server.ws, token)
    try:
        listed = await client.request("list_projects")
        assert payload(listed)[0] == "projects_list"
    finally:
        await client.close()
    await eventually(
        lambda: any(r.getMessage() == "ws message" for r, _ in list(captured_logs.entries))
    )

    _assert_no_token(captured_logs, token)
    # Not even a record of the server carries it, before any formatting: websockets' debug
    # lines (the handshake's headers, every frame) are never written (the test's own client
    # logs its headers: not the server's).
    server_records = [r for r, _ in captured_logs.entries if r.name != "websockets.client"]
    assert server_records
    assert not [r for r in server_records if token in _raw(r)]


async def test_refused_handshakes_log_one_info_line_without_the_query_string(
    live_server: LiveServer, captured_logs: CapturedLogs
) -> None:
    """A peer can be refused any number of times: never an error line, never its query
    string (``/ws?email=...``), and pm's line says why."""
    url = live_server.ws + "?email=someone%40example.com"
    for _ in range(3):
        with pytest.raises(InvalidStatus):
            async with connect(url, proxy=None):
                pass
    await eventually(
        lambda: len([r for r, _ in list(captured_logs.entries) if "refused" in r.getMessage()]) >= 3
    )
    server_lines = [
        (record, line)
        for record, line in captured_logs.entries
        if not record.name.startswith(("websockets.client", "httpx", "httpcore"))
    ]
    assert not [r for r, _ in server_lines if r.levelno >= logging.WARNING]
    assert not [line for _, line in server_lines if "someone" in line or "email=" in line]
    refusals = [json.loads(line) for r, line in server_lines if "refused" in r.getMessage()]
    assert {(entry["level"], entry["code"], entry["status"]) for entry in refusals} == {
        ("info", "UNAUTHENTICATED", 401)
    }


def test_a_token_is_masked_by_its_shape_not_by_a_prefix() -> None:
    """A header serialised with a space (``{ "alg"...``) does not start ``eyJ``."""
    spaced = (
        base64.urlsafe_b64encode(b'{ "typ": "JWT", "alg": "HS256" }').rstrip(b"=").decode()
        + ".eyAic3ViIjogImFsaWNlIiB9.c2lnbmF0dXJlLWJ5dGVz"
    )
    assert not spaced.startswith("eyJ")
    record = logging.LogRecord("pm", logging.INFO, __file__, 1, f"got {spaced} here", (), None)
    line = JsonFormatter().format(record)
    assert spaced not in line and "[redacted-token]" in line
    plain = logging.LogRecord("pm", logging.INFO, __file__, 1, "pm.services.kernel ok", (), None)
    assert "pm.services.kernel ok" in JsonFormatter().format(plain)


# -- traces -----------------------------------------------------------------------------------


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace collector: decodes each export request and keeps its spans."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ExportHandler)
        self.paths: list[str] = []
        self.service_names: list[str] = []
        self.spans: list[Span] = []
        self.received = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ExportHandler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportTraceServiceRequest.FromString(body)
        self.server.paths.append(self.path)
        for resource_spans in export.resource_spans:
            self.server.service_names += [
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            ]
            for scope_spans in resource_spans.scope_spans:
                self.server.spans.extend(scope_spans.spans)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
        self.server.received.set()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the default writes every request to stderr."""


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _attributes(attributes: list[KeyValue]) -> dict[str, object]:
    def value(any_value: AnyValue) -> object:
        return getattr(any_value, any_value.WhichOneof("value") or "string_value")

    return {a.key: value(a.value) for a in attributes}


def test_each_http_request_is_one_span_exported_by_otlp(
    tmp_path: Path, make_token: TokenFactory, collector: Collector
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", jwt_secret=TEST_SECRET, otlp_endpoint=collector.endpoint
    )
    tenant, user = _id("trace-tenant"), _id("trace-user")
    server = start_server(settings)
    try:
        headers = {"Authorization": f"Bearer {make_token(user, tenant)}", "X-Request-Id": "t-1"}
        assert httpx.get(f"{server.http}/api/v1/projects", headers=headers).status_code == 200
    finally:
        server.stop()  # the app's shutdown flushes the exporter
    assert collector.received.wait(10)

    assert set(collector.paths) == {"/v1/traces"} and set(collector.service_names) == {"pm"}
    [span] = collector.spans
    assert span.name == "GET /api/v1/projects"
    assert span.kind == Span.SpanKind.SPAN_KIND_SERVER
    assert _attributes(list(span.attributes)) == {
        "tenant.id": tenant,
        "user.id": user,
        "message.id": "t-1",
        "operation": "list_projects",
        "http.route": "/api/v1/projects",
        "http.response.status_code": 200,
    }


def test_tracing_is_off_without_an_exporter_and_records_errors_with_one() -> None:
    off = Tracing()
    with off.span("GET /x", {"operation": "x"}) as nothing:
        assert nothing is None
    assert not off.enabled

    exporter = InMemorySpanExporter()
    tracing = Tracing(exporter)
    with pytest.raises(ValueError), tracing.span("GET /y", {"tenant.id": "t"}):
        raise ValueError("boom")
    tracing.shutdown()
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /y" and span.kind is SpanKind.SERVER
    assert dict(span.attributes or {}) == {"tenant.id": "t"}
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
