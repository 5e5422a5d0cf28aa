"""uvicorn's HTTP and WebSocket protocols, held to pm's connection rules before any request
reaches the app: everything here is about peers that have not said who they are yet.

    PmH11Protocol        every TCP connection starts here (HTTP/1.1, h11)
      - a process-wide cap on connections (``max_connections``, kept below the descriptor
        limit): at the cap, the connection that has waited longest for its request is closed
        to make room; with none waiting, the newcomer is answered 503 and closed, so the
        descriptors never run out and accept() never fails
      - the whole request (line, headers, body) must arrive within
        ``http_request_timeout_seconds`` of the connection or of the last answer: a silent or
        slow peer is closed (408 if it had started), never kept
      - headers above ``http_max_header_bytes`` are answered 431, not 400
    PmWebSocketProtocol  after the upgrade
      - a handshake websockets itself refuses (a header line over 8 KiB) is answered (431)
        and closed; uvicorn left it unanswered and open
      - a refused handshake is an answer, not an error: no "returned without completing
        handshake" line per refusal
      - no frame or header is ever logged (websockets' debug lines carry frame contents and
        the bearer subprotocol)
      - at shutdown a socket whose handshake never finished is closed at once

uvicorn has no hook for these (``limit_concurrency`` answers only once a whole request has
arrived, ``timeout_keep_alive`` starts only after a first answer), hence the subclasses; each
override calls uvicorn's own code and adds to it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from pm.config import Settings
from pm.observability import metrics

log = logging.getLogger(__name__)


def _canned(status: int, reason: str, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection, with pm's error body."""
    body = json.dumps({"error": {"code": code, "message": message, "field": None}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    )
    if status == 503:
        head += "retry-after: 1\r\n"
    return head.encode() + b"\r\n" + body


SERVER_FULL = _canned(
    503, "Service Unavailable", "UNAVAILABLE", "the server has too many connections"
)
REQUEST_TIMEOUT = _canned(408, "Request Timeout", "INVALID_MESSAGE", "the request took too long")
HEADERS_TOO_LARGE = _canned(
    431, "Request Header Fields Too Large", "PAYLOAD_TOO_LARGE", "the request headers are too large"
)


def connection_cap(settings: Settings) -> int:
    """``max_connections``, kept below the process's descriptor limit less the reserve."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return settings.max_connections
    return max(1, min(settings.max_connections, soft - settings.connection_fd_reserve))


class Waiting:
    """The HTTP connections waiting for a request, oldest first: the ones to close first when
    the process is at its cap."""

    def __init__(self) -> None:
        self._order: OrderedDict[PmH11Protocol, None] = OrderedDict()

    def add(self, protocol: PmH11Protocol) -> None:
        self._order[protocol] = None
        self._order.move_to_end(protocol)

    def discard(self, protocol: PmH11Protocol) -> None:
        self._order.pop(protocol, None)

    def oldest(self, other_than: PmH11Protocol) -> PmH11Protocol | None:
        for protocol in self._order:
            if protocol is not other_than:
                return protocol
        return None


class PmH11Protocol(H11Protocol):
    settings: Settings
    cap: int
    waiting: Waiting

    LINGER_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timer: asyncio.TimerHandle | None = None
        self._refused = False

    @classmethod
    def bound_to(cls, settings: Settings) -> type[PmH11Protocol]:
        """The protocol class for one server (uvicorn builds one per connection)."""
        attributes = {"settings": settings, "cap": connection_cap(settings), "waiting": Waiting()}
        return type("BoundPmH11Protocol", (cls,), attributes)

    # -- the connection's lifetime --------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.cap and not self._make_room():
            metrics.BOUND_HITS.labels("connections").inc()
            self.connections.discard(self)
            transport.write(SERVER_FULL)
            transport.close()
            return
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered already: what the peer still sends is read and dropped
        if self.conn.their_state is h11.IDLE and self._headers_too_large(data):
            self._refuse(HEADERS_TOO_LARGE, "http_header_bytes")
            return
        super().data_received(data)
        if self.transport.get_protocol() is not self or self.conn.their_state is not h11.IDLE:
            self.waiting.discard(self)  # a request has begun, or the socket is a WebSocket now
        if self.transport.get_protocol() is not self or self.conn.their_state is h11.DONE:
            self._cancel_timer()  # the whole request is in: the app's time, not the peer's

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_request()

    # -- internals ------------------------------------------------------------------------------

    def _headers_too_large(self, data: bytes) -> bool:
        """The request line and headers so far (or in all, once they end) pass the bound."""
        limit = self.settings.http_max_header_bytes
        buffered = self.conn.trailing_data[0]
        if len(buffered) + len(data) <= limit:
            return False
        end = (buffered + data).find(b"\r\n\r\n")
        return end == -1 or end > limit

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for its request; False if none."""
        victim = self.waiting.oldest(other_than=self)
        if victim is None:
            return False
        metrics.BOUND_HITS.labels("connections_waiting_closed").inc()
        victim._stop_waiting()
        victim.transport.close()
        return True

    def _await_request(self) -> None:
        self.waiting.add(self)
        self._cancel_timer()
        timeout = self.settings.http_request_timeout_seconds
        self._request_timer = self.loop.call_later(timeout, self._request_timed_out)

    def _request_timed_out(self) -> None:
        self._request_timer = None
        if self.transport.is_closing():
            return
        metrics.BOUND_HITS.labels("http_request_timeout").inc()
        started = self.conn.their_state is not h11.IDLE or bool(self.conn.trailing_data[0])
        cycle = self.cycle
        answering = cycle is not None and cycle.response_started and not cycle.response_complete
        if started and not answering:
            self.transport.write(REQUEST_TIMEOUT)
        self._stop_waiting()
        self.transport.close()

    def _refuse(self, answer: bytes, bound: str) -> None:
        """Answer and close, lingering a moment: closed with the peer's bytes still unread, the
        kernel would reset the connection and the peer would lose the answer."""
        metrics.BOUND_HITS.labels(bound).inc()
        self._stop_waiting()
        self._refused = True
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(self.LINGER_SECONDS, self.transport.close)

    def _stop_waiting(self) -> None:
        self.waiting.discard(self)
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None


class PmWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # websockets logs every frame and header at debug, contents and bearer token included:
        # pm logs the operation and ids of a request, never what a peer sent.
        self.conn.debug = False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None:
            # websockets refused the request itself (431 for a header line over 8 KiB) and
            # queued its answer; uvicorn never sends it.
            metrics.BOUND_HITS.labels("ws_handshake_refused").inc()
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            self.handshake_complete = True  # the refusal was the handshake's answer

    def shutdown(self) -> None:
        if not self.handshake_complete:
            self.transport.close()  # nothing was accepted: nothing to drain or wait for
            return
        super().shutdown()


class HandshakeLines(logging.Filter):
    """Drops uvicorn's own line per WebSocket handshake (``"WebSocket /ws?query" 403``): it
    carries the query string, and a peer can make any number of them; pm logs refusals
    itself, at info, without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith('%s - "WebSocket %s"')


HANDSHAKE_LINES = HandshakeLines()
