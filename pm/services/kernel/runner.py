"""ServiceRunner: the one way a door runs a command or a query.

    command:  tenant writer, one thread hop ─ upsert caller ─ idempotency replay? ─ budgets
              (pm.services.kernel.budgets) ─ command fn
              ─ activity + change-feed rows ─ idempotency record ─ COMMIT ─ publish events
    query:    tenant reader (a WAL snapshot), one thread hop, never the writer
    background: the process's own work on a tenant (no caller, no idempotency, no event):
              ``fn(repositories)`` on the writer or a reader (the webhook deliverer's records)

Any ``PmError`` rolls the transaction back and reaches the door as it is; any other exception is
logged with its trace and becomes ``InternalError`` (no SQL or stack trace leaves here).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from pm.bus.base import Bus
from pm.domain.events import Outcome
from pm.errors import InternalError, PmError, ValidationFailed
from pm.observability import metrics
from pm.repositories import Repositories
from pm.services.kernel import idempotency
from pm.services.kernel.budgets import TenantBudgets
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.clock import now_ms
from pm.services.kernel.housekeeping import SweepResult, sweep_tenant
from pm.services.kernel.reader import Reader
from pm.services.kernel.settings import ServiceSettings
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.tenancy.manager import TenantConnectionManager

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")


def _no_positional(args: tuple[Any, ...]) -> None:
    if args:
        raise TypeError("service entries take their arguments by keyword")


class ServiceRunner:
    def __init__(
        self,
        tenants: TenantConnectionManager,
        bus: Bus,
        settings: ServiceSettings | None = None,
        *,
        small_queries: frozenset[Callable[..., Any]] = frozenset(),
    ) -> None:
        self.tenants = tenants
        self.bus = bus
        self.settings = settings or ServiceSettings()
        self.small_queries = small_queries
        self.budgets = TenantBudgets(
            max_bytes=self.settings.tenant_max_bytes,
            write_bytes_per_hour=self.settings.tenant_write_bytes_per_hour,
        )
        self._known_users: OrderedDict[tuple[str, str, str | None, str | None], None] = (
            OrderedDict()
        )
        tenants.on_reset(self._forget_tenant)

    async def command(
        self,
        ctx: RequestContext,
        fn: Callable[Concatenate[UnitOfWork, P], Outcome],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Outcome:
        """Run ``fn(uow, **kwargs)`` in one write transaction, then publish what it committed."""
        _no_positional(args)
        self._refuse_long_message_id(ctx)
        operation = fn.__name__
        started = time.perf_counter()
        try:
            outcome = await self.tenants.write(
                ctx.tenant_id, lambda session: self._transaction(session, ctx, fn, kwargs)
            )
        except BaseException as exc:
            raise self._failure(operation, exc) from None
        finally:
            metrics.SERVICE_SECONDS.labels(operation).observe(time.perf_counter() - started)
        self._remember_user(ctx)
        if not outcome.replayed:
            metrics.TENANT_ACTIVITY.wrote(ctx.tenant_id)
        for event in outcome.events:
            await self.bus.publish(ctx.tenant_id, event)
            metrics.EVENTS_PUBLISHED.inc()
        metrics.SERVICE_CALLS.labels(operation, "replayed" if outcome.replayed else "ok").inc()
        return outcome

    async def query(
        self,
        ctx: RequestContext,
        fn: Callable[Concatenate[Reader, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(reader, **kwargs)`` on a reader connection (one snapshot for the whole
        query), in a worker thread; one of ``small_queries`` (bounded, a few rows) runs in the
        caller's thread instead, with no hand-off."""
        _no_positional(args)
        self._refuse_long_message_id(ctx)
        operation = fn.__name__
        started = time.perf_counter()
        read = self.tenants.read_here if fn in self.small_queries else self.tenants.read
        try:
            result = await read(
                ctx.tenant_id,
                lambda db: fn(Reader(db, ctx, self.settings), *args, **kwargs),
            )
        except BaseException as exc:
            raise self._failure(operation, exc) from None
        finally:
            metrics.SERVICE_SECONDS.labels(operation).observe(time.perf_counter() - started)
        metrics.SERVICE_CALLS.labels(operation, "ok").inc()
        return result

    async def background_read(
        self,
        tenant_id: str,
        fn: Callable[Concatenate[Repositories, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(repositories, **kwargs)`` on a reader of the tenant, for the process."""
        _no_positional(args)
        return await self._background(
            tenant_id, fn, lambda work: self.tenants.read(tenant_id, work), kwargs
        )

    async def background_write(
        self,
        tenant_id: str,
        fn: Callable[Concatenate[Repositories, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(repositories, **kwargs)`` in one write transaction, for the process."""
        _no_positional(args)
        return await self._background(
            tenant_id, fn, lambda work: self.tenants.write(tenant_id, work), kwargs
        )

    async def _background(
        self,
        tenant_id: str,
        fn: Callable[..., T],
        run: Callable[[Callable[[Session], T]], Awaitable[T]],
        kwargs: dict[str, Any],
    ) -> T:
        operation = fn.__name__
        started = time.perf_counter()
        try:
            result = await run(lambda session: fn(Repositories(session), **kwargs))
        except BaseException as exc:
            raise self._failure(operation, exc) from None
        finally:
            metrics.SERVICE_SECONDS.labels(operation).observe(time.perf_counter() - started)
        metrics.SERVICE_CALLS.labels(operation, "ok").inc()
        return result

    def tenant_ids_on_disk(self) -> list[str]:
        """Every tenant with a database file (the process's background work walks them)."""
        return self.tenants.list_tenant_ids()

    async def check_writable(self) -> None:
        """Raise unless the data folder, the worker threads and SQLite take a write
        (``/ready``: the probe's own database, never a tenant's)."""
        await self.tenants.check_writable()

    async def touch_user(self, ctx: RequestContext) -> None:
        """Upsert the caller from its token claims, once per process per claim set. Every door
        calls it first, so a tenant served by another node is refused here (WRONG_NODE) even
        when the caller is already known, and a tenant that can't be opened is refused as the
        doors refuse any service call (UNAVAILABLE, never a bare exception)."""
        self.tenants.require_here(ctx.tenant_id)
        key = (ctx.tenant_id, ctx.user_id, ctx.email, ctx.name)
        if key in self._known_users:
            self._known_users.move_to_end(key)
            return
        try:
            await self.tenants.write(
                ctx.tenant_id,
                lambda session: _upsert_caller(Repositories(session), ctx, now_ms()),
            )
        except BaseException as exc:
            raise self._failure("touch_user", exc) from None
        self._remember_user(ctx)

    def on_tenant_reset(self, listener: Callable[[str], None]) -> None:
        """``listener(tenant_id)`` whenever a tenant is reset in this process (evicted, or its
        file found replaced or damaged): a door closes what it holds for it (sockets)."""
        self.tenants.on_reset(listener)

    def evict_tenant(self, tenant_id: str) -> bool:
        """Close the tenant in this process and tell the doors (an operator's evict, and a
        restore's, pm.control); whether it was open."""
        return self.tenants.evict(tenant_id)

    async def sweep(self, tenant_id: str) -> SweepResult:
        """Expire old idempotency keys and change-feed events of one tenant."""
        return await self.tenants.write(
            tenant_id,
            lambda session: sweep_tenant(
                session,
                now=now_ms(),
                idempotency_ttl_seconds=self.settings.idempotency_ttl_seconds,
                change_retention_days=self.settings.change_retention_days,
            ),
        )

    async def run_sweeper(self) -> None:
        """Sweep every open tenant periodically until cancelled; a failure is logged, not fatal."""
        while True:
            await asyncio.sleep(self.settings.sweep_interval_seconds)
            for tenant_id in self.tenants.open_tenant_ids():
                try:
                    await self.sweep(tenant_id)
                except Exception:
                    log.exception("tenant sweep failed", extra={"tenant": tenant_id})

    # -- internals ------------------------------------------------------------------------

    def _transaction(
        self,
        session: Session,
        ctx: RequestContext,
        fn: Callable[..., Outcome],
        kwargs: dict[str, Any],
    ) -> Outcome:
        uow = UnitOfWork(session, ctx, settings=self.settings)
        operation = fn.__name__
        if (ctx.tenant_id, ctx.user_id, ctx.email, ctx.name) not in self._known_users:
            _upsert_caller(uow, ctx, uow.now)
        digest = ""
        if ctx.message_id:
            digest = idempotency.request_hash(operation, kwargs)
            stored = idempotency.replay(
                uow.idempotency, uow.feed, ctx.user_id, ctx.message_id, operation, digest
            )
            if stored is not None:
                metrics.IDEMPOTENT_REPLAYS.inc()
                return stored
        used = uow.storage.used_bytes()
        self.budgets.admit(ctx.tenant_id, used)
        outcome = uow.finish(fn(uow, **kwargs))
        if ctx.message_id:
            idempotency.remember(
                uow.idempotency, ctx.user_id, ctx.message_id, operation, digest, outcome, uow.now
            )
        self.budgets.charge(ctx.tenant_id, uow.storage.used_bytes() - used)
        return outcome

    def _forget_tenant(self, tenant_id: str) -> None:
        """A reset tenant's file may hold other users than the ones cached (a restore)."""
        for key in [k for k in self._known_users if k[0] == tenant_id]:
            del self._known_users[key]

    def _refuse_long_message_id(self, ctx: RequestContext) -> None:
        """A message id is the key of its idempotency record: one over the bound is refused, not
        cut (two long ids cut alike would collide, and the second request would be answered as
        a replay of the first)."""
        bound = self.settings.max_message_id_chars
        if ctx.message_id is not None and len(ctx.message_id) > bound:
            metrics.BOUND_HITS.labels("message_id").inc()
            raise ValidationFailed(
                f"message_id is longer than {bound} characters", field="message_id"
            )

    def _remember_user(self, ctx: RequestContext) -> None:
        self._known_users[(ctx.tenant_id, ctx.user_id, ctx.email, ctx.name)] = None
        while len(self._known_users) > self.settings.known_users_cache:
            self._known_users.popitem(last=False)

    @staticmethod
    def _failure(operation: str, exc: BaseException) -> BaseException:
        if isinstance(exc, PmError):
            metrics.SERVICE_CALLS.labels(operation, "refused").inc()
            metrics.SERVICE_ERRORS.labels(exc.code).inc()
            return exc
        if not isinstance(exc, Exception):  # cancellation, shutdown: not ours to translate
            return exc
        log.error("service call failed", exc_info=exc, extra={"operation": operation})
        metrics.SERVICE_CALLS.labels(operation, "failed").inc()
        metrics.SERVICE_ERRORS.labels(InternalError.code).inc()
        return InternalError()


def _upsert_caller(repos: Repositories, ctx: RequestContext, now: int) -> None:
    """Users come from token claims: the caller's row is made or refreshed on first contact."""
    repos.users.upsert(ctx.user_id, email=ctx.email, name=ctx.name, now=now)
