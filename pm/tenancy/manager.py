"""TenantConnectionManager: lazily opened, migrated-once, bounded set of tenant databases.

Each open ``Tenant`` has one writer connection (used by one thread at a time) and a small reader
pool. Work runs whole in a worker thread from one bounded pool shared by all tenants:
``await tenant.write(fn)`` hands ``fn(session)`` to a worker inside ``BEGIN IMMEDIATE`` and commits
when it returns (rolls back if it raises); ``await tenant.read(fn)`` does the same on a reader.

Writes queue per tenant (``WriteQueue``: waiting costs no thread; one worker drains the queue
back to back, several queued writes in one transaction with a savepoint each: group commit)
and take a ``threading.Lock`` in the worker, so no two writes of a tenant ever overlap,
whichever thread or tool runs them.

A file is checked before it is opened (pm.tenancy.files): an empty, unreadable, foreign, newer
or damaged one is refused with UNAVAILABLE (counted by reason, alerted, logged for the
operator, and not tried again for ``failure_retry_seconds``), never reinitialised. A new tenant
is built in a hidden file and linked into place whole, so a ``main.db`` is never half made.
Every transaction checks that the file is still the one opened, in service (pm.tenancy.marks):
a fence another process set, or a restore that replaced the file, is seen at the next request;
the tenant is then closed here (``reset``), and whoever listens (the hub, the runner's caches)
is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from filelock import FileLock
from filelock import Timeout as LockTimeout
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from pm.errors import Unauthenticated, Unavailable
from pm.observability import metrics
from pm.tenancy.database import (
    Pragmas,
    as_single_file,
    plain_reader,
    reader_engine,
    writer_engine,
)
from pm.tenancy.epochs import feed_seq, start_epoch
from pm.tenancy.files import (
    DIR_MODE,
    FILE_MODE,
    TenantFileRefused,
    identify,
    is_damage,
    open_for_reading,
    private_dir,
    refuse_empty,
    sqlite_reason,
    tighten,
)
from pm.tenancy.ids import tenant_db_path, tenant_ids_on_disk, validate_tenant_id
from pm.tenancy.lifecycle import is_deleted
from pm.tenancy.marks import (
    COPY,
    DELETING,
    RESTORING,
    TenantDeleted,
    TenantMovedAway,
    TenantReplaced,
    TenantRestoring,
    check_in_service,
)
from pm.tenancy.migrations import Migrator
from pm.tenancy.placement import Placement
from pm.tenancy.probe import ReadinessProbe
from pm.tenancy.provisioning import ProvisioningBudget
from pm.tenancy.write_queue import Settled, WriteQueue

log = logging.getLogger(__name__)

T = TypeVar("T")
SessionFn = Callable[[Session], T]
PlainFn = Callable[[sqlite3.Connection], T]
OnCreate = Callable[[Session], None]
ResetListener = Callable[[str], None]


def _driver(session: Session) -> sqlite3.Connection:
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


def _in_service(fn: SessionFn[T], opened_as: int, write: bool, session: Session) -> T:
    check_in_service(_driver(session), opened_as, write=write)
    return fn(session)


class TenantClosed(Exception):
    """The tenant was closed between lookup and use; the manager reopens it."""


class UnknownTenant(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("unknown tenant", field="tenant_id")


_UNAVAILABLE_BECAUSE = {
    "empty": "its data file is empty",
    "unreadable": "its data file can't be read",
    "foreign": "its data file is not a pm tenant",
    "newer": "its data was written by a newer version of pm",
    "damaged": "its data file is damaged",
    "migration": "its data could not be brought up to date",
}


class TenantUnavailable(Unavailable):
    """The tenant's file was refused (pm.tenancy.files). The client is told the tenant is
    unavailable and why in general words; the file's details go to the operator's log."""

    def __init__(self, refusal: TenantFileRefused, retry_after_ms: int) -> None:
        because = _UNAVAILABLE_BECAUSE[refusal.reason]
        super().__init__(
            f"this tenant is unavailable: {because}. The operator has been alerted; retry later",
            retry_after_ms=retry_after_ms,
        )
        self.reason = refusal.reason


@dataclass(frozen=True)
class TenancyConfig:
    tenants_root: Path
    max_open_tenants: int = 1000
    idle_seconds: float = 600.0
    worker_threads: int = 4
    readers_per_tenant: int = 4
    write_timeout_seconds: float = 10.0
    write_batch_max: int = 32  # queued writes of one tenant committed together (group commit)
    auto_provision: bool = True
    # (max tenants, creation rate): bounds creations a token asks for; None: unbounded
    # (operator tools, the bench)
    provisioning: tuple[int, str] | None = None
    pragmas: Pragmas = field(default_factory=Pragmas)
    # How long an open waits for another process migrating the same file (pm.tenancy.migrations)
    migration_lock_seconds: float = 60.0
    # Which tenants this node serves (a cluster: PM_NODE_ID, PM_NODES); all of them by default
    placement: Placement = field(default_factory=Placement)
    # A tenant whose file was refused is not tried again for this long (each try reads it)
    failure_retry_seconds: float = 5.0
    # The readiness probe's own database, outside the tenants (default: <data dir>/probe)
    probe_path: Path | None = None


class Tenant:
    """One open tenant database. Obtain it from the manager; never construct it directly."""

    def __init__(
        self,
        tenant_id: str,
        path: Path,
        writer: Engine,
        readers: Engine,
        loop_reader: sqlite3.Connection,
        manager: TenantConnectionManager,
        *,
        opened_as: int,
        kind: str,
    ) -> None:
        self.id = tenant_id
        self.path = path
        self._writer = writer
        self._readers = readers
        self._loop_reader = loop_reader  # read_here's own connection: never waits for the pool
        self._manager = manager
        self._write_thread_lock = threading.Lock()
        config = manager.config
        self._writes = WriteQueue(
            manager.executor,
            self.write_sync,
            self.write_many_sync,
            timeout=config.write_timeout_seconds,
            batch_max=config.write_batch_max,
        )
        self.opened_as = opened_as  # the file's state when opened (pm.tenancy.marks)
        self.kind = kind  # how it was opened: cold (created), migrated, warm
        self.inflight = 0
        self.last_used = time.monotonic()
        self.closed = False
        self.dispose_when_idle = False

    async def write(self, fn: SessionFn[T]) -> T:
        """Run ``fn`` in one write transaction on a worker thread; commit if it returns."""
        self._manager._enter(self)
        try:
            return cast(T, await self._writes.run(fn))
        finally:
            self._manager._exit(self)

    async def read(self, fn: SessionFn[T]) -> T:
        """Run ``fn`` in one read transaction (a WAL snapshot) on a worker thread."""
        self._manager._enter(self)
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._manager.executor, self.read_sync, fn)
        finally:
            self._manager._exit(self)

    def read_here(self, fn: PlainFn[T]) -> T:
        """``read`` in the calling thread, for a small bounded query on the event loop: no
        hand-off to a worker and back (two thread switches and a loop wake-up cost more than
        a one-row read). It has a reader connection of its own, so it never waits for one the
        worker threads hold; WAL readers never wait for the writer. ``fn`` gets the bare
        ``sqlite3`` connection inside one read transaction: plain SQL only, no ORM session
        (a session and its transaction cost more than the few-row query they wrap)."""
        self._manager._enter(self)
        started = time.perf_counter()
        connection = self._loop_reader
        try:
            connection.execute("BEGIN")
            try:
                check_in_service(connection, self.opened_as, write=False)
                return fn(connection)
            finally:
                if connection.in_transaction:  # a read: nothing to commit
                    connection.execute("ROLLBACK")
        except sqlite3.DatabaseError as exc:
            _refuse_by_cause(exc, exc)
            raise
        finally:
            metrics.DB_TRANSACTION_SECONDS.labels("read").observe(time.perf_counter() - started)
            self._manager._exit(self)

    def write_sync(self, fn: SessionFn[T]) -> T:
        """The synchronous core of ``write``, for worker threads and command-line tools. Each
        write first checks, under the write lock, that the file is still in service."""
        with self._write_thread_lock:
            checked = functools.partial(_in_service, fn, self.opened_as, True)
            return self._transact(self._writer, checked, "write")

    def write_many_sync(self, fns: list[SessionFn[Any]]) -> list[Settled]:
        """Group commit: several writes in one transaction, each in a savepoint of its own, so
        one that raises is rolled back alone and gets its exception; the others get their
        results once the transaction committed. If the transaction itself fails (the file is
        busy, no longer in service, or the commit fails), every write gets that failure."""
        settled: list[Settled] = []

        def run_all(session: Session) -> None:
            check_in_service(_driver(session), self.opened_as, write=True)  # once for all
            for fn in fns:
                try:
                    with session.begin_nested():
                        settled.append((fn(session), None))
                except BaseException as exc:  # its savepoint rolled back; the others go on
                    settled.append((None, exc))

        try:
            with self._write_thread_lock:
                self._transact(self._writer, run_all, "write")
        except BaseException as exc:
            return [(None, exc)] * len(fns)
        return settled

    def read_sync(self, fn: SessionFn[T]) -> T:
        checked = functools.partial(_in_service, fn, self.opened_as, False)
        return self._transact(self._readers, checked, "read")

    @staticmethod
    def _transact(engine: Engine, fn: SessionFn[T], mode: str) -> T:
        started = time.perf_counter()
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)
        except DatabaseError as exc:
            _refuse_by_cause(exc.orig, exc)
            raise
        except sqlite3.DatabaseError as exc:  # plain SQL on the driver (pm.repositories.base)
            _refuse_by_cause(exc, exc)
            raise
        finally:
            metrics.DB_TRANSACTION_SECONDS.labels(mode).observe(time.perf_counter() - started)

    def dispose(self) -> None:
        self._writer.dispose()
        self._readers.dispose()
        self._loop_reader.close()


def _refuse_by_cause(original: BaseException | None, exc: BaseException) -> None:
    """Another process holding the file past busy_timeout (a backup, a stray tool) is a
    retryable UNAVAILABLE, not an INTERNAL error; a query that met malformed pages is the file's
    fault, refused as such (the manager closes the tenant and counts it). Any other database
    error is the statement's: the caller re-raises it."""
    if isinstance(original, sqlite3.OperationalError) and _is_busy_sqlite(original):
        metrics.DB_BUSY_RETRIES.inc()
        raise Unavailable("the tenant database is busy; retry shortly") from exc
    if isinstance(original, sqlite3.DatabaseError) and is_damage(original):
        detail = f"a query met damage ({sqlite_reason(original)})"
        raise TenantFileRefused("damaged", detail) from exc


class TenantConnectionManager:
    """Opens tenants on first use (double-checked, once however many race), keeps at most
    ``max_open_tenants`` open (least recently used closed first, never one with work in
    flight), closes idle ones, and closes everything on shutdown."""

    def __init__(
        self,
        config: TenancyConfig,
        *,
        migrator: Migrator | None = None,
        on_create: OnCreate | None = None,
    ) -> None:
        self.config = config
        self.migrator = migrator or Migrator()
        self.on_create = on_create
        self.executor = ThreadPoolExecutor(config.worker_threads, thread_name_prefix="pm-db")
        self._open: OrderedDict[str, Tenant] = OrderedDict()
        self._lock = threading.RLock()
        self._opening_locks: dict[str, threading.Lock] = {}
        self._pending: dict[str, asyncio.Future[Tenant]] = {}
        self._failed: dict[str, tuple[float, TenantFileRefused]] = {}
        self._reset_listeners: list[ResetListener] = []
        probe = config.probe_path or config.tenants_root.parent / "probe" / "ready.db"
        self._probe = ReadinessProbe(probe, config.pragmas)
        self.migrations_run = 0
        self.provisioning: ProvisioningBudget | None = None
        if config.provisioning is not None:
            max_tenants, rate = config.provisioning
            self.provisioning = ProvisioningBudget(
                max_tenants=max_tenants,
                rate=rate,
                count_existing=lambda: len(self.list_tenant_ids()),
            )

    # -- public API -----------------------------------------------------------------------

    async def get(self, tenant_id: str) -> Tenant:
        """The open tenant, opening (and migrating) it on first use; refused (WRONG_NODE) when
        another node of the cluster serves it."""
        validate_tenant_id(tenant_id)
        self.config.placement.require_here(tenant_id)
        with self._lock:
            tenant = self._open.get(tenant_id)
            if tenant is not None:
                self._open.move_to_end(tenant_id)
                return tenant
        pending = self._pending.get(tenant_id)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(
                loop.run_in_executor(self.executor, self.open_sync, tenant_id)
            )
            self._pending[tenant_id] = pending
            pending.add_done_callback(lambda _f: self._pending.pop(tenant_id, None))
        return await asyncio.shield(pending)

    def require_here(self, tenant_id: str) -> None:
        """Refuse (WRONG_NODE) a tenant that another node of the cluster serves."""
        self.config.placement.require_here(validate_tenant_id(tenant_id))

    async def write(self, tenant_id: str, fn: SessionFn[T]) -> T:
        """Open the tenant if needed and run ``fn`` as one write transaction."""
        return await self._run(tenant_id, lambda tenant: tenant.write(fn))

    async def read(self, tenant_id: str, fn: SessionFn[T]) -> T:
        return await self._run(tenant_id, lambda tenant: tenant.read(fn))

    def on_reset(self, listener: ResetListener) -> None:
        """Call ``listener(tenant_id)`` (on the event loop) whenever a tenant is reset here: an
        operator evicted it, or its file was found replaced or damaged."""
        self._reset_listeners.append(listener)

    def evict(self, tenant_id: str) -> bool:
        """Close the tenant here (work in flight finishes first, on its own connections), forget
        a refusal of its file, and tell the listeners; the next request opens it afresh.
        Whether it was open."""
        validate_tenant_id(tenant_id)
        with self._lock:
            tenant = self._open.get(tenant_id)
            self._failed.pop(tenant_id, None)
        if tenant is not None:
            self._retire(tenant, "evict")
        self._tell_reset(tenant_id)
        return tenant is not None

    async def read_here(self, tenant_id: str, fn: PlainFn[T]) -> T:
        """``read``, the query itself run in the calling thread (``Tenant.read_here``)."""

        async def here(tenant: Tenant) -> T:
            return tenant.read_here(fn)

        return await self._run(tenant_id, here)

    def open_sync(self, tenant_id: str, *, create: bool | None = None) -> Tenant:
        """Open a tenant from any thread. ``create`` overrides ``auto_provision`` (an
        operator's explicit open, which placement does not refuse)."""
        validate_tenant_id(tenant_id)
        if create is None:
            self.config.placement.require_here(tenant_id)
        with self._lock:
            tenant = self._open.get(tenant_id)
            if tenant is not None:
                self._open.move_to_end(tenant_id)
                return tenant
            opening = self._opening_locks.setdefault(tenant_id, threading.Lock())
        with opening:
            with self._lock:
                tenant = self._open.get(tenant_id)
                if tenant is not None:
                    return tenant
            allow_create = self.config.auto_provision if create is None else create
            tenant = self._load(tenant_id, allow_create=allow_create, bounded=create is None)
            with self._lock:
                self._open[tenant_id] = tenant
                self._opening_locks.pop(tenant_id, None)
                evicted = self._pick_lru_evictions(keep=tenant_id)
                metrics.TENANTS_OPEN.set(len(self._open))
        for old in evicted:
            old.dispose()
        return tenant

    async def check_writable(self) -> None:
        """Commit a write to the readiness probe's own database (never a tenant's), on the
        tenants' worker threads, or raise: the proof that the data folder, the threads and
        SQLite all work."""
        await asyncio.get_running_loop().run_in_executor(self.executor, self._probe.write)

    def tenant_exists(self, tenant_id: str) -> bool:
        return tenant_db_path(self.config.tenants_root, tenant_id).is_file()

    def list_tenant_ids(self) -> list[str]:
        """Tenant folders on disk with a database file, skipping anything that is not an id."""
        return tenant_ids_on_disk(self.config.tenants_root)

    def open_tenants(self) -> list[Tenant]:
        with self._lock:
            return list(self._open.values())

    def open_tenant_ids(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def is_open(self, tenant_id: str) -> bool:
        with self._lock:
            return tenant_id in self._open

    def close_idle(self, now: float | None = None) -> int:
        """Close tenants unused for ``idle_seconds`` with nothing in flight; return how many."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [
                t
                for t in self._open.values()
                if t.inflight == 0 and now - t.last_used >= self.config.idle_seconds
            ]
            for tenant in idle:
                self._detach(tenant)
            metrics.TENANTS_OPEN.set(len(self._open))
        for tenant in idle:
            metrics.TENANT_EVICTIONS.labels("idle").inc()
            tenant.dispose()
        return len(idle)

    async def run_idle_sweeper(self) -> None:
        """Close idle tenants periodically until cancelled."""
        interval = max(1.0, min(self.config.idle_seconds / 2, 60.0))
        while True:
            await asyncio.sleep(interval)
            self.close_idle()

    def close(self) -> None:
        """Close every tenant and stop the worker threads (shutdown)."""
        with self._lock:
            tenants = list(self._open.values())
            for tenant in tenants:
                self._detach(tenant)
            metrics.TENANTS_OPEN.set(0)
        for tenant in tenants:
            tenant.dispose()
        self._probe.close()
        self.executor.shutdown(wait=True)

    # -- internals ------------------------------------------------------------------------

    async def _run(self, tenant_id: str, work: Callable[[Tenant], Awaitable[T]]) -> T:
        while True:
            tenant = await self.get(tenant_id)
            try:
                return await work(tenant)
            except TenantClosed:
                continue
            except TenantMovedAway:
                self.require_here(tenant_id)  # WRONG_NODE once the new owner is known here
                raise
            except (TenantRestoring, TenantReplaced):
                self._retire(tenant, "replaced")
                self._tell_reset(tenant_id)
                raise
            except TenantFileRefused as refusal:
                self._retire(tenant, "damaged")
                self._tell_reset(tenant_id)
                raise self._refused(tenant_id, refusal) from None

    def _tell_reset(self, tenant_id: str) -> None:
        for listener in list(self._reset_listeners):
            try:
                listener(tenant_id)
            except Exception:
                log.exception("a tenant reset listener failed", extra={"tenant": tenant_id})

    def _retire(self, tenant: Tenant, reason: str) -> None:
        """Take a tenant out of service here: no new work reaches it, and its connections close
        once the work in flight on them is done."""
        with self._lock:
            if self._open.get(tenant.id) is not tenant:
                return  # already retired (by another request, or closed)
            self._detach(tenant)
            metrics.TENANTS_OPEN.set(len(self._open))
            idle = tenant.inflight == 0
            tenant.dispose_when_idle = not idle
        metrics.TENANT_EVICTIONS.labels(reason).inc()
        if idle:
            tenant.dispose()

    def _refused(self, tenant_id: str, refusal: TenantFileRefused) -> TenantUnavailable:
        """Count, log and remember a refused file; the answer the client gets."""
        metrics.TENANT_OPEN_FAILURES.labels(refusal.reason).inc()
        log.error(
            "tenant file refused (%s): %s",
            refusal.reason,
            refusal.detail,
            extra={"tenant": tenant_id},
        )
        with self._lock:
            self._failed[tenant_id] = (time.monotonic(), refusal)
        return self._unavailable(refusal)

    def _unavailable(self, refusal: TenantFileRefused) -> TenantUnavailable:
        return TenantUnavailable(refusal, int(self.config.failure_retry_seconds * 1000) or 1000)

    def _refuse_if_failed_recently(self, tenant_id: str) -> None:
        with self._lock:
            failed = self._failed.get(tenant_id)
        if failed is None:
            return
        at, refusal = failed
        if time.monotonic() - at >= self.config.failure_retry_seconds:
            with self._lock:
                self._failed.pop(tenant_id, None)
            return
        metrics.TENANT_OPEN_FAILURES.labels(refusal.reason).inc()
        raise self._unavailable(refusal)

    def _enter(self, tenant: Tenant) -> None:
        with self._lock:
            if tenant.closed:
                raise TenantClosed(tenant.id)
            tenant.inflight += 1
            tenant.last_used = time.monotonic()

    def _exit(self, tenant: Tenant) -> None:
        with self._lock:
            tenant.inflight -= 1
            tenant.last_used = time.monotonic()
            dispose = tenant.closed and tenant.dispose_when_idle and tenant.inflight == 0
            if dispose:
                tenant.dispose_when_idle = False
        if dispose:
            tenant.dispose()

    def _detach(self, tenant: Tenant) -> None:
        tenant.closed = True
        self._open.pop(tenant.id, None)

    def _pick_lru_evictions(self, *, keep: str) -> list[Tenant]:
        """Least recently used first, never one with work in flight nor the one just opened."""
        excess = len(self._open) - self.config.max_open_tenants
        evicted: list[Tenant] = []
        for tenant in list(self._open.values()):
            if len(evicted) >= excess:
                break
            if tenant.inflight == 0 and tenant.id != keep:
                self._detach(tenant)
                evicted.append(tenant)
        for _ in evicted:
            metrics.TENANT_EVICTIONS.labels("lru").inc()
        return evicted

    # -- opening ------------------------------------------------------------------------------

    def _load(self, tenant_id: str, *, allow_create: bool, bounded: bool = False) -> Tenant:
        """Open (and migrate) a tenant's file; ``bounded``: a creation counts against the
        provisioning budget (one a token asks for, not an operator's)."""
        self._refuse_if_failed_recently(tenant_id)
        started = time.perf_counter()
        path = tenant_db_path(self.config.tenants_root, tenant_id)
        kind = "warm"
        if not path.exists():
            if is_deleted(path.parent):
                metrics.TENANT_REFUSALS.labels("deleted").inc()
                raise TenantDeleted()
            if not allow_create:
                metrics.TENANT_REFUSALS.labels("unknown").inc()
                raise UnknownTenant()
            if bounded and self.provisioning is not None:
                self.provisioning.admit()
            kind = self._create(path)
        try:
            tenant = self._open_file(tenant_id, path, kind)
        except TenantFileRefused as refusal:
            raise self._refused(tenant_id, refusal) from None
        metrics.TENANT_OPENS.labels(tenant.kind).inc()
        metrics.TENANT_OPEN_SECONDS.labels(tenant.kind).observe(time.perf_counter() - started)
        return tenant

    def _open_file(self, tenant_id: str, path: Path, kind: str) -> Tenant:
        """Check the file, bring it into service if it needs it, and open its engines."""
        refuse_empty(path)
        tighten(path, FILE_MODE)
        tighten(path.parent, DIR_MODE)
        try:
            with contextlib.closing(open_for_reading(path)) as conn:
                facts = identify(conn, self.migrator.knows)
        except sqlite3.OperationalError as exc:
            if _is_busy_sqlite(exc):
                raise Unavailable("the tenant database is busy; retry shortly") from None
            raise TenantFileRefused("unreadable", sqlite_reason(exc)) from None
        if facts.state == RESTORING:
            metrics.TENANT_REFUSALS.labels("restoring").inc()
            raise TenantRestoring()
        if facts.state == DELETING:
            metrics.TENANT_REFUSALS.labels("deleted").inc()
            raise TenantDeleted()
        writer = writer_engine(path, self.config.pragmas)
        try:
            if facts.revision != self.migrator.head or facts.state == COPY:
                kind = self._bring_into_service(writer, path, kind)
            opened_as = self._state(writer)
        except BaseException:
            writer.dispose()
            raise
        readers = reader_engine(path, self.config.pragmas, self.config.readers_per_tenant)
        loop_reader = plain_reader(path, self.config.pragmas)
        return Tenant(
            tenant_id, path, writer, readers, loop_reader, self, opened_as=opened_as, kind=kind
        )

    @staticmethod
    def _state(writer: Engine) -> int:
        with writer.connect() as conn:
            state = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
            conn.rollback()
        return state

    def _lock_for(self, path: Path) -> FileLock:
        return FileLock(path.with_name(path.name + ".migrate.lock"), mode=FILE_MODE)

    def _create(self, path: Path) -> str:
        """Build a new tenant in a hidden file beside its place (migrated, seeded, one file
        with no -wal) and link it into place whole, under the file lock, so that of several
        processes opening a new tenant at once one builds it and the others find it made.
        "cold" when this call built it."""
        private_dir(path.parent)
        try:
            with self._lock_for(path).acquire(timeout=self.config.migration_lock_seconds):
                if path.exists():
                    return "warm"  # another process made it while this one waited
                self._build(path)
        except LockTimeout:
            raise Unavailable("the tenant is being created by another process; retry") from None
        return "cold"

    def _build(self, path: Path) -> None:
        fd, name = tempfile.mkstemp(prefix=".main.db.", suffix=".creating", dir=path.parent)
        os.close(fd)
        partial = Path(name)
        started = time.perf_counter()
        try:
            engine = writer_engine(partial, self.config.pragmas)
            try:
                with engine.connect() as conn:
                    self.migrator.bring_to_head(conn)
                    conn.commit()
                if self.on_create is not None:
                    with Session(engine) as session, session.begin():
                        self.on_create(session)
                as_single_file(engine)
            finally:
                engine.dispose()
            os.link(partial, path)
        except FileExistsError:
            return  # made by a process that does not take the lock (a restore): it wins
        finally:
            for leftover in (partial, *(Path(f"{partial}{s}") for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
        with self._lock:
            self.migrations_run += 1
        metrics.TENANT_MIGRATIONS.labels("ok").inc()
        metrics.TENANT_MIGRATION_SECONDS.observe(time.perf_counter() - started)

    def _bring_into_service(self, writer: Engine, path: Path, kind: str) -> str:
        """Migrate to head, and start a new feed epoch for a backup copy put in service,
        under the file lock (another process may be doing the same)."""
        try:
            with self._lock_for(path).acquire(timeout=self.config.migration_lock_seconds):
                return self._bring_locked(writer, kind)
        except LockTimeout:
            raise Unavailable("the tenant is being migrated by another process; retry") from None

    def _bring_locked(self, writer: Engine, kind: str) -> str:
        with writer.connect() as conn:
            at_head = self.migrator.current_revision(conn) == self.migrator.head
            conn.rollback()
            if not at_head:
                kind = self._migrate(conn)
            state = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
            if state != COPY:
                conn.rollback()
                return kind
            raw = conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            start_epoch(raw, reason="copy", above=feed_seq(raw), now_ms=_now_ms())
            conn.commit()
        return kind

    def _migrate(self, conn: Connection) -> str:
        started = time.perf_counter()
        try:
            self.migrator.upgrade(conn)
            conn.commit()
        except Exception as exc:
            metrics.TENANT_MIGRATIONS.labels("failed").inc()
            reason = "damaged" if _damaged(exc) else "migration"
            raise TenantFileRefused(reason, f"{type(exc).__name__}: {_first_line(exc)}") from exc
        with self._lock:
            self.migrations_run += 1
        metrics.TENANT_MIGRATIONS.labels("ok").inc()
        metrics.TENANT_MIGRATION_SECONDS.observe(time.perf_counter() - started)
        return "migrated"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0]


def _damaged(exc: BaseException) -> bool:
    original = exc.orig if isinstance(exc, DatabaseError) else exc
    return isinstance(original, sqlite3.DatabaseError) and is_damage(original)


def _is_busy_sqlite(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
