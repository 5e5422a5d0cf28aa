"""One WebSocket: the handshake (authentication, Origin, caps) and, once accepted, a receive
loop and a send loop run together; whichever ends first ends the connection.

Everything the socket sends (responses, errors, events, presence) goes through one bounded
queue, so order is kept and a consumer that stops reading costs at most ``ws_send_queue``
frames before it is closed with 1013; nobody else waits for it.

Every frame is charged to the user's request budget, an undecodable one too (it costs as much
as a request and counts toward the abuse close), and frames and answers past a size are
decoded and encoded off the event loop. A socket that sends no first frame soon after its
handshake, or later holds no subscription (a project's, or its user's inbox since a
ListNotifications) and sends nothing for a while, is closed (4408).
Subscriptions follow the user's rights: when an event may have taken access away, or a
Reauthenticate brings other rights, they are checked again and the lost ones are dropped with
``SubscriptionsRevoked``.

Requests are served one at a time, in the order they arrive. At shutdown a connection is
drained: the request being served is finished and its answer sent, no other is taken, and the
socket closes with 1012; the client reconnects elsewhere and catches up with GetChanges.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from typing import Any

from fastapi import WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from pm.auth import Principal
from pm.domain.streams import user_stream
from pm.doorkit.caller import caller_context
from pm.doorkit.statuses import HTTP_STATUS, OWNER_HEADER
from pm.doorkit.tenant_route import check_route
from pm.errors import Forbidden, InvalidMessage, PmError, RateLimited, Unauthenticated, WrongNode
from pm.observability import metrics
from pm.observability.logging import bind_request, update_bound
from pm.observability.tracing import Tracing, request_attributes
from pm.services.changes import subscribe_projects, viewable_projects
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.services.notifications import list_notifications
from pm.wiring import Components
from pm.ws.codec import REQUEST_PAYLOADS, Encoding, FrameRefused, decode, encode, request_args
from pm.ws.dispatch import DISPATCH
from pm.ws.hub import MOVED_CLOSE, Hub
from pm.ws.origin import origin_allowed
from pm.ws.sizing import larger_than
from pm.ws.state import WsState

log = logging.getLogger(__name__)
BEARER_PREFIX = "pm.bearer."
INVALID = "invalid"  # the operation of a frame that is not a request: one label, not many
DRAIN_CLOSE = (1012, "server restarting: reconnect and resync with GetChanges")
IDLE_CLOSE = 4408
ERROR_FIELDS = ("current_version", "retry_after_ms", "conflicts", "path", "budget")
OFFLOAD_BYTES = 64 * 1024  # frames and answers past this are decoded/encoded in a thread
REVOKED = "subscriptions_revoked"


def error_envelope(message_id: str, exc: PmError) -> dict[str, Any]:
    details = {k: v for k, v in exc.details().items() if k in ERROR_FIELDS}
    body = {"code": exc.code, "message": exc.message, "field": exc.field, **details}
    return {"message_id": message_id, "sent_at_ms": int(time.time() * 1000), "error": body}


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        principal: Principal,
        encoding: Encoding | None,
        components: Components,
        state: WsState,
    ) -> None:
        settings = components.settings
        self.id = str(uuid.uuid4())
        self.tenant_id = principal.tenant_id
        self.user_id = principal.user_id
        self.encoding: Encoding = encoding or Encoding.JSON
        self._encoding_fixed = encoding is not None
        self._ws = websocket
        self._principal = principal
        self._components = components
        self.services: ServiceRunner = components.services
        self._hub: Hub = state.hub
        self._tracing: Tracing = components.tracing
        self._limiter = state.limiter
        self._subscriptions: set[str] = set()
        self._own_stream = user_stream(self.user_id)
        self._follows_inbox = False  # ListNotifications joined the user's stream
        self._to_recheck: set[str] = set()
        self._rechecking: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[tuple[str | bytes, str]] = asyncio.Queue(settings.ws_send_queue)
        self._stop = asyncio.Event()
        self._refusals = 0
        self._receiver: asyncio.Task[None] | None = None
        self._serving = False  # a request is between its frame and its answer
        self._draining = False
        self.close_code = 1000
        self.close_reason = ""

    # -- the hub's side ---------------------------------------------------------------------

    def enqueue(self, frame: str | bytes, payload_name: str) -> None:
        if self._stop.is_set():
            return
        try:
            self._queue.put_nowait((frame, payload_name))
        except asyncio.QueueFull:
            metrics.WS_SLOW_CONSUMERS.inc()
            self.close_soon(1013, "send queue full: resync with GetChanges")

    def recheck_access(self, project_id: str) -> None:
        """The hub holds this project's events: check the user's access again, soon."""
        self._to_recheck.add(project_id)
        if self._rechecking is None or self._rechecking.done():
            self._rechecking = asyncio.create_task(self._recheck_held())

    async def _recheck_held(self) -> None:
        while self._to_recheck and not self._stop.is_set():
            project_ids, self._to_recheck = sorted(self._to_recheck), set()
            try:
                await self._keep_viewable(project_ids, reason="access_changed")
            except PmError:
                self.close_soon(1011, "could not check access: reconnect")

    async def _keep_viewable(self, project_ids: list[str], *, reason: str) -> None:
        """Release the held subscriptions the user may still view; revoke the others and say
        so (``SubscriptionsRevoked``)."""
        ctx = caller_context(self._principal, origin=self.id)
        kept = set(await self.services.query(ctx, viewable_projects, project_ids=project_ids))
        lost = [project_id for project_id in project_ids if project_id not in kept]
        self._hub.release(self, sorted(kept))
        if lost:
            self._hub.revoke(self, lost)
            self._subscriptions.difference_update(lost)
            metrics.WS_REVOKED.inc(len(lost))
            body = {"project_ids": lost, "reason": reason}
            envelope = {"message_id": "", "sent_at_ms": int(time.time() * 1000), REVOKED: body}
            await self._send(envelope, REVOKED)

    def close_soon(self, code: int, reason: str) -> None:
        if not self._stop.is_set():
            self.close_code, self.close_reason = code, reason
            self._stop.set()

    def drain(self) -> None:
        """Shutdown: finish the request being served, take no other, close with 1012 once
        everything queued is sent."""
        if self._draining or self._stop.is_set():
            return
        self._draining = True
        self.close_code, self.close_reason = DRAIN_CLOSE
        if self._receiver is not None and not self._serving:
            self._receiver.cancel()  # it waits for a frame, it holds no request

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        self._receiver = asyncio.create_task(self._receive_loop())
        sender = asyncio.create_task(self._send_loop())
        tasks = [
            self._receiver,
            sender,
            asyncio.create_task(self._expiry_watch()),
            asyncio.create_task(self._stop.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if self._draining:
                await self._flush(sender)
        finally:
            if self._rechecking is not None:
                tasks.append(self._rechecking)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # The close frame queues behind what the transport already holds, so a consumer
            # that resumes reading within the timeout still learns why it was closed.
            timeout = self._components.settings.ws_close_timeout_seconds
            metrics.WS_CLOSES.labels(str(self.close_code)).inc()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(self.close_code, self.close_reason), timeout)

    async def _flush(self, sender: asyncio.Task[None]) -> None:
        """Send what is queued, the last answer among it, before the close frame. Nothing is
        queued after this point: events that would follow are the client's to catch up on."""
        self._stop.set()
        flushed = asyncio.create_task(self._queue.join())
        try:
            await asyncio.wait([flushed, sender], return_when=asyncio.FIRST_COMPLETED)
        finally:
            flushed.cancel()

    async def _send_loop(self) -> None:
        while True:
            frame, name = await self._queue.get()
            if isinstance(frame, bytes):
                await self._ws.send_bytes(frame)
            else:
                await self._ws.send_text(frame)
            self._queue.task_done()
            metrics.WS_MESSAGES_OUT.labels(name).inc()

    async def _expiry_watch(self) -> None:
        while True:
            remaining = self._principal.expires_at - time.time()
            if remaining <= 0:
                self.close_soon(4401, "token expired")
                return
            await asyncio.sleep(min(remaining, 3600))

    async def _next_message(self, first: bool) -> Any:
        """The next ASGI message; None once the peer has been silent past its time: the first
        frame soon after the handshake, later any frame while the socket holds no
        subscription (a subscribed socket may listen quietly; the heartbeat watches it)."""
        settings = self._components.settings
        while True:
            wait = settings.ws_first_frame_timeout_seconds
            if not first:
                wait = settings.ws_idle_timeout_seconds
            try:
                async with asyncio.timeout(wait):
                    return await self._ws.receive()
            except TimeoutError:
                if first or not (self._subscriptions or self._follows_inbox):
                    metrics.BOUND_HITS.labels("ws_idle").inc()
                    self.close_soon(IDLE_CLOSE, f"no request in {wait:g} s")
                    return None

    async def _receive_loop(self) -> None:
        limit = self._components.settings.ws_max_frame_bytes
        first = True
        try:
            # Once the socket is closing, no further request is taken: receive() returns
            # without yielding while frames are buffered, so the loop must look for itself.
            while not (self._draining or self._stop.is_set()):
                message = await self._next_message(first)
                first = False
                if message is None:
                    return
                if message["type"] == "websocket.disconnect":
                    if message.get("code") == 1009:  # uvicorn enforced ws_max_size itself
                        metrics.BOUND_HITS.labels("ws_frame_size").inc()
                        self.close_code = 1009
                    return
                frame: str | bytes | None = message.get("bytes")
                if frame is None:
                    frame = message.get("text") or ""
                if len(frame) > limit:
                    metrics.BOUND_HITS.labels("ws_frame_size").inc()
                    self.close_soon(1009, "frame too large")
                    return
                if not self._encoding_fixed:
                    self.encoding = Encoding.PROTOBUF if isinstance(frame, bytes) else Encoding.JSON
                    self._encoding_fixed = True
                self._serving = True
                try:
                    await self._handle(frame)
                finally:
                    self._serving = False
        except WebSocketDisconnect:
            return

    # -- requests -----------------------------------------------------------------------------

    async def _handle(self, frame: str | bytes) -> None:
        """One request, observed once: a span, the log fields every line written while serving
        it carries, one "ws message" line with its outcome code, the latency by operation."""
        started = time.perf_counter()
        with (
            bind_request(tenant=self.tenant_id, user=self.user_id, operation=INVALID) as fields,
            self._tracing.span("ws") as span,
        ):
            code = "INTERNAL"  # kept only if an exception escapes _serve
            try:
                code = await self._serve(frame)
            finally:
                seconds = time.perf_counter() - started
                operation = fields["operation"]
                metrics.WS_REQUEST_SECONDS.labels(operation).observe(seconds)
                if span is not None:
                    span.update_name(f"ws {operation}")
                    span.set_attributes(
                        request_attributes(
                            tenant_id=self.tenant_id,
                            user_id=self.user_id,
                            message_id=fields.get("message_id"),
                            operation=operation,
                        )
                    )
                log.info("ws message", extra={"code": code, "duration_ms": round(seconds * 1e3, 3)})

    async def _serve(self, frame: str | bytes) -> str:
        """Decode, rate-limit and dispatch one frame; "OK" or the code of the Error sent."""
        message_id, kind = "", INVALID
        try:
            try:
                envelope = await self._decode(frame)
            except InvalidMessage:
                self._rate_limit()  # a frame that does not decode costs a request too
                raise
            message_id = envelope.message_id
            name = envelope.WhichOneof("payload") or INVALID
            is_request = name in REQUEST_PAYLOADS
            kind = name if is_request else "other"
            bounded = len(message_id) <= self.services.settings.max_message_id_chars
            update_bound(
                message_id=message_id if bounded and message_id else None,
                operation=name if is_request else INVALID,
            )
            self._rate_limit()
            if not is_request:
                raise InvalidMessage(f"{name} is not a request")
            await self._dispatch(name, getattr(envelope, name), message_id)
        except PmError as exc:
            if isinstance(exc, FrameRefused):
                message_id = exc.message_id[:128]
                update_bound(message_id=message_id or None)
            metrics.WS_ERRORS.labels(exc.code).inc()
            await self._send(error_envelope(message_id, exc), "error")
            if isinstance(exc, WrongNode):  # the tenant moved: reconnect through the proxy
                self.close_soon(*MOVED_CLOSE)
            return exc.code
        finally:
            metrics.WS_MESSAGES_IN.labels(kind).inc()  # undecodable frames count as "invalid"
        return "OK"

    async def _decode(self, frame: str | bytes) -> Any:
        """The frame's Envelope; a large frame is decoded in a thread, off the event loop."""
        depth = self._components.settings.ws_max_json_depth
        if isinstance(frame, bytes) and self.encoding is Encoding.JSON:
            try:
                frame = frame.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidMessage("the frame is not valid UTF-8") from None
        if len(frame) > OFFLOAD_BYTES:
            return await asyncio.to_thread(decode, frame, max_json_depth=depth)
        return decode(frame, max_json_depth=depth)

    def _rate_limit(self) -> None:
        try:
            self._limiter.charge(self.tenant_id, self.user_id, door="ws")
        except RateLimited:
            self._refusals += 1
            if self._refusals > self._components.settings.ws_abuse_close_after:
                self.close_soon(1008, "rate limit exceeded repeatedly")
            raise
        self._refusals = 0

    async def _send(self, envelope: dict[str, Any], name: str, *, offload: bool = False) -> None:
        """Responses wait for room in the queue: a client that sends faster than it reads slows
        its own receive loop down instead of being dropped (events can't wait: see enqueue).
        ``offload``: an answer that may be large is encoded in a thread, off the event loop,
        if it is past ``OFFLOAD_BYTES`` (a small one costs less to encode than the hop)."""
        if offload and larger_than(envelope, OFFLOAD_BYTES):
            frame = await asyncio.to_thread(encode, envelope, self.encoding)
        else:
            frame = encode(envelope, self.encoding)
        await self._queue.put((frame, name))

    async def reply(
        self, message_id: str, name: str, payload: Any, seq: int = 0, *, offload: bool = False
    ) -> None:
        envelope = {
            "message_id": message_id,
            "seq": seq,
            "actor_id": self.user_id,
            "sent_at_ms": int(time.time() * 1000),
            name: payload,
        }
        await self._send(envelope, name, offload=offload)

    async def _dispatch(self, name: str, message: Any, message_id: str) -> None:
        ctx = caller_context(self._principal, message_id=message_id or None, origin=self.id)
        await DISPATCH[name].serve(self, ctx, message_id, request_args(message))

    # -- requests about the socket itself (rows of the dispatch table) ------------------------

    async def subscribe(self, ctx: RequestContext, message_id: str, project_ids: list[str]) -> None:
        """Register with the hub before the current seq is read, so no event falls between the
        feed the client holds and the live events that follow."""
        streams = [*project_ids, self._own_stream]
        try:
            await self._hub.begin(self, streams)
            seq = await self.services.query(ctx, subscribe_projects, project_ids=project_ids)
        except BaseException:
            self._hub.cancel(self, streams)
            raise
        await self.reply(message_id, "subscribed", {"project_ids": project_ids, "current_seq": seq})
        self._subscriptions.update(project_ids)
        self._hub.confirm(self, streams, seq)

    async def list_notifications(self, ctx: RequestContext, message_id: str, args: Any) -> None:
        """The user's inbox page; the socket follows the user's own stream live from the seq
        the page is as of (joined before it is read, like a subscription)."""
        streams = [self._own_stream]
        try:
            await self._hub.begin(self, streams)
            page = await self.services.query(ctx, list_notifications, **args)
        except BaseException:
            self._hub.cancel(self, streams)
            raise
        await self.reply(message_id, "notifications_page", page, offload=True)
        self._follows_inbox = True
        self._hub.confirm(self, streams, page["as_of_seq"])

    async def unsubscribe(self, message_id: str, project_ids: list[str]) -> None:
        self._hub.unsubscribe(self, project_ids)
        self._subscriptions.difference_update(project_ids)
        await self.reply(message_id, "unsubscribed", {"project_ids": project_ids})

    async def reauthenticate(self, message_id: str, token: str) -> None:
        """The socket goes on with the new token's rights, and only those: every subscription
        is held and checked again before the answer (the lost ones are revoked first)."""
        fresh = self._components.verifier.verify(token)
        if (fresh.tenant_id, fresh.user_id) != (self.tenant_id, self.user_id):
            raise Unauthenticated("the new token is for another user or tenant")
        held = sorted(self._subscriptions)
        self._hub.hold(self, held)
        self._principal = fresh
        try:
            await self._keep_viewable(held, reason="reauthenticated")
        except BaseException:
            self.close_soon(1011, "could not check access: reconnect")
            raise
        await self.reply(message_id, "reauthenticated", {"expires_at": fresh.expires_at})


# -- the handshake ----------------------------------------------------------------------------


def _credentials(websocket: WebSocket) -> tuple[str, Encoding | None, str | None]:
    """(token, encoding chosen by subprotocol, subprotocol to select). Never echoes the token."""
    offered = [
        p.strip()
        for header in websocket.headers.getlist("sec-websocket-protocol")
        for p in header.split(",")
    ]
    token = ""
    auth = websocket.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    for protocol in offered:
        if protocol.startswith(BEARER_PREFIX) and not token:
            token = protocol[len(BEARER_PREFIX) :]
    for protocol in offered:
        if protocol in (Encoding.PROTOBUF.value, Encoding.JSON.value):
            return token, Encoding(protocol), protocol
    return token, None, None


async def _deny(
    websocket: WebSocket, code: str, message: str, reason: str, owner: str | None = None
) -> None:
    """Refuse the upgrade with the HTTP status of ``code`` and the JSON error body (a 421 names
    the node that serves the tenant, in the body and in a header the proxy follows); one info
    line says so (a peer can cause any number of these: never an error, never the query
    string)."""
    metrics.WS_REFUSED.labels(reason).inc()
    status = HTTP_STATUS[code]
    log.info("ws handshake refused: %s", reason, extra={"code": code, "status": status})
    body: dict[str, Any] = {"error": {"code": code, "message": message, "field": None}}
    headers = None
    if owner is not None:
        body["error"]["owner"] = owner
        headers = {OWNER_HEADER: owner}
    response = JSONResponse(body, status_code=status, headers=headers)
    await websocket.send_denial_response(response)


async def serve_socket(websocket: WebSocket, components: Components, state: WsState) -> None:
    """``GET /ws``: refuse the upgrade (Origin, draining, token, caps, tenant) or accept it and
    serve the connection until it closes."""
    settings = components.settings
    origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
    if not origin_allowed(origin, host, settings.allowed_origins):
        await _deny(websocket, "FORBIDDEN", "this Origin is not allowed", "origin")
        return
    if components.lifecycle.draining:
        await _deny(websocket, "UNAVAILABLE", "the server is shutting down", "draining")
        return
    token, encoding, subprotocol = _credentials(websocket)
    try:
        principal = components.verifier.verify(token)
        check_route(websocket.scope, principal)
    except (Unauthenticated, Forbidden) as exc:
        await _deny(websocket, exc.code, exc.message, "unauthenticated")
        return
    refusal = state.caps.refusal(principal.tenant_id, principal.user_id)
    if refusal is not None:
        code, message = refusal
        await _deny(websocket, code, message, "caps")
        return
    try:
        await components.services.touch_user(caller_context(principal))
    except PmError as exc:
        owner = exc.owner if isinstance(exc, WrongNode) else None
        await _deny(websocket, exc.code, exc.message, "tenant", owner)
        return
    state.caps.acquire(principal.tenant_id, principal.user_id)
    metrics.WS_CONNECTIONS.inc()
    try:
        # With several workers, the handshake names the one serving the socket (its pid, as in
        # the logs), so an operator or a test can tell where a socket lives.
        headers = [(b"pm-worker", str(os.getpid()).encode())] if settings.workers > 1 else None
        await websocket.accept(subprotocol=subprotocol, headers=headers)
        connection = Connection(websocket, principal, encoding, components, state)
        state.track(connection)
        try:
            await connection.run()
        finally:
            state.forget(connection)
            state.hub.drop(connection)
    finally:
        state.caps.release(principal.tenant_id, principal.user_id)
        metrics.WS_CONNECTIONS.dec()
