"""OpenTelemetry tracing: a span per HTTP request and per WebSocket message, exported by OTLP
(HTTP/protobuf) when ``otlp_endpoint`` is set, and off otherwise.

Each app builds its own ``TracerProvider`` rather than installing a global one: OpenTelemetry
lets the global provider be set only once per process, and tests and benchmarks build many
apps. Off means no provider, no exporter thread and no span objects at all, so an untraced
deployment pays one boolean test per request.

Span attributes are the ones PROTOCOL.md names: ``tenant.id``, ``user.id``, ``message.id``,
``operation``; HTTP spans add the route template and the status code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

SERVICE_NAME = "pm"
TRACES_PATH = "/v1/traces"
AttributeValue = str | int | float | bool


def otlp_traces_url(endpoint: str) -> str:
    """``PM_OTLP_ENDPOINT`` is the collector's base URL (as ``OTEL_EXPORTER_OTLP_ENDPOINT``);
    the traces path is added unless it is already there."""
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


class Tracing:
    """The tracer of one app, or nothing when tracing is off."""

    def __init__(self, exporter: SpanExporter | None = None) -> None:
        self._provider: TracerProvider | None = None
        if exporter is not None:
            self._provider = TracerProvider(
                resource=Resource.create({"service.name": SERVICE_NAME})
            )
            self._provider.add_span_processor(BatchSpanProcessor(exporter))

    @classmethod
    def from_endpoint(cls, otlp_endpoint: str | None) -> Tracing:
        if not otlp_endpoint:
            return cls()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return cls(OTLPSpanExporter(endpoint=otlp_traces_url(otlp_endpoint)))

    @property
    def enabled(self) -> bool:
        return self._provider is not None

    @contextmanager
    def span(
        self, name: str, attributes: Mapping[str, AttributeValue] | None = None
    ) -> Iterator[trace.Span | None]:
        """A current span named ``name`` (None when tracing is off); errors are recorded."""
        if self._provider is None:
            yield None
            return
        tracer = self._provider.get_tracer("pm")
        with tracer.start_as_current_span(name, kind=trace.SpanKind.SERVER) as span:
            if attributes:
                span.set_attributes(attributes)
            yield span

    def shutdown(self) -> None:
        """Flush spans still queued and stop the exporter thread (app shutdown)."""
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = None


def request_attributes(
    *,
    tenant_id: str | None,
    user_id: str | None,
    message_id: str | None,
    operation: str | None,
) -> dict[str, AttributeValue]:
    """The span attributes PROTOCOL.md names, leaving out the ones not known (e.g. no token)."""
    values = {
        "tenant.id": tenant_id,
        "user.id": user_id,
        "message.id": message_id,
        "operation": operation,
    }
    return {key: value for key, value in values.items() if value is not None}
