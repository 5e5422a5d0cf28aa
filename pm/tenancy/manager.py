"""TenantConnectionManager: lazily opened, migrated-once, bounded set of tenant databases.

Each open ``Tenant`` has one writer connection (used by one thread at a time) and a small reader
pool. Work runs whole in a worker thread from one bounded pool shared by all tenants:
``await tenant.write(fn)`` hands ``fn(session)`` to a worker inside ``BEGIN IMMEDIATE`` and commits
when it returns (rolls back if it raises); ``await tenant.read(fn)`` does the same on a reader.

Writes queue per tenant (``WriteQueue``: waiting costs no thread; one worker drains the queue
back to back, several queued writes in one transaction with a savepoint each: group commit)
and take a ``threading.Lock`` in the worker, so no two writes of a tenant ever overlap,
whichever thread or tool runs them.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from filelock import FileLock
from filelock import Timeout as LockTimeout
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from pm.errors import Unauthenticated, Unavailable
from pm.observability import metrics
from pm.tenancy.database import Pragmas, plain_reader, reader_engine, writer_engine
from pm.tenancy.ids import tenant_db_path, validate_tenant_id
from pm.tenancy.migrations import Migrator
from pm.tenancy.moves import TenantMovedAway, refuse_if_moved
from pm.tenancy.placement import Placement
from pm.tenancy.provisioning import ProvisioningBudget
from pm.tenancy.write_queue import Settled, WriteQueue

T = TypeVar("T")
SessionFn = Callable[[Session], T]
PlainFn = Callable[[sqlite3.Connection], T]
OnCreate = Callable[[Session], None]


def _is_busy(exc: OperationalError) -> bool:
    """SQLite's BUSY or LOCKED (primary code, so extended codes such as BUSY_SNAPSHOT count)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _probe_write(session: Session) -> None:
    session.connection().execute(text("PRAGMA user_version = 1"))


def _unless_moved(fn: SessionFn[T], session: Session) -> T:
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    refuse_if_moved(driver)
    return fn(session)


class TenantClosed(Exception):
    """The tenant was closed between lookup and use; the manager reopens it."""


class UnknownTenant(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("unknown tenant", field="tenant_id")


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
        self.inflight = 0
        self.last_used = time.monotonic()
        self.closed = False

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
                return fn(connection)
            finally:
                connection.execute("ROLLBACK")  # a read: nothing to commit
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            metrics.DB_BUSY_RETRIES.inc()
            raise Unavailable("the tenant database is busy; retry shortly") from exc
        finally:
            metrics.DB_TRANSACTION_SECONDS.labels("read").observe(time.perf_counter() - started)
            self._manager._exit(self)

    def write_sync(self, fn: SessionFn[T]) -> T:
        """The synchronous core of ``write``, for worker threads and command-line tools. Each
        write first checks, under the write lock, that the file was not moved away."""
        with self._write_thread_lock:
            return self._transact(self._writer, functools.partial(_unless_moved, fn), "write")

    def write_many_sync(self, fns: list[SessionFn[Any]]) -> list[Settled]:
        """Group commit: several writes in one transaction, each in a savepoint of its own, so
        one that raises is rolled back alone and gets its exception; the others get their
        results once the transaction committed. If the transaction itself fails (the file is
        busy, moved, or the commit fails), every write gets that failure."""
        settled: list[Settled] = []

        def run_all(session: Session) -> None:
            for fn in fns:
                try:
                    with session.begin_nested():
                        settled.append((_unless_moved(fn, session), None))
                except BaseException as exc:  # its savepoint rolled back; the others go on
                    settled.append((None, exc))

        try:
            with self._write_thread_lock:
                self._transact(self._writer, run_all, "write")
        except BaseException as exc:
            return [(None, exc)] * len(fns)
        return settled

    def read_sync(self, fn: SessionFn[T]) -> T:
        return self._transact(self._readers, fn, "read")

    @staticmethod
    def _transact(engine: Engine, fn: SessionFn[T], mode: str) -> T:
        started = time.perf_counter()
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)
        except OperationalError as exc:
            if not _is_busy(exc):
                raise
            # Another process holds the file past busy_timeout (a backup, a stray tool): a
            # retryable UNAVAILABLE, not an INTERNAL error.
            metrics.DB_BUSY_RETRIES.inc()
            raise Unavailable("the tenant database is busy; retry shortly") from exc
        finally:
            metrics.DB_TRANSACTION_SECONDS.labels(mode).observe(time.perf_counter() - started)

    def dispose(self) -> None:
        self._writer.dispose()
        self._readers.dispose()
        self._loop_reader.close()


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
        while True:
            tenant = await self.get(tenant_id)
            try:
                return await tenant.write(fn)
            except TenantClosed:
                continue
            except TenantMovedAway:
                self.require_here(tenant_id)  # WRONG_NODE once the new owner is known here
                raise

    async def read(self, tenant_id: str, fn: SessionFn[T]) -> T:
        while True:
            tenant = await self.get(tenant_id)
            try:
                return await tenant.read(fn)
            except TenantClosed:
                continue

    async def read_here(self, tenant_id: str, fn: PlainFn[T]) -> T:
        """``read``, the query itself run in the calling thread (``Tenant.read_here``)."""
        while True:
            tenant = await self.get(tenant_id)
            try:
                return tenant.read_here(fn)
            except TenantClosed:
                continue

    def open_sync(self, tenant_id: str, *, create: bool | None = None) -> Tenant:
        """Open a tenant from any thread. ``create`` overrides ``auto_provision`` (an operator's
        or the readiness probe's explicit open, which placement does not refuse)."""
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

    async def check_writable(self, tenant_id: str) -> None:
        """Open (creating if need be) a tenant and commit a write to it, or raise: the
        readiness probe's proof that the data folder, the threads and SQLite all work."""
        tenant = await asyncio.to_thread(self.open_sync, tenant_id, create=True)
        await tenant.write(_probe_write)

    def tenant_exists(self, tenant_id: str) -> bool:
        return tenant_db_path(self.config.tenants_root, tenant_id).is_file()

    def list_tenant_ids(self) -> list[str]:
        """Tenant folders on disk with a database file, skipping anything that is not an id."""
        root = self.config.tenants_root
        if not root.is_dir():
            return []
        found = []
        for entry in sorted(root.iterdir()):
            try:
                validate_tenant_id(entry.name)
            except Unauthenticated:
                continue
            if (entry / "main.db").is_file():
                found.append(entry.name)
        return found

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
        self.executor.shutdown(wait=True)

    # -- internals ------------------------------------------------------------------------

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

    def _load(self, tenant_id: str, *, allow_create: bool, bounded: bool = False) -> Tenant:
        """Open (and migrate) a tenant's file; ``bounded``: a creation counts against the
        provisioning budget (one a token asks for, not an operator's)."""
        started = time.perf_counter()
        path = tenant_db_path(self.config.tenants_root, tenant_id)
        exists = path.is_file()
        if not exists and not allow_create:
            metrics.TENANT_REFUSALS.labels("unknown").inc()
            raise UnknownTenant()
        if not exists and bounded and self.provisioning is not None:
            self.provisioning.admit()
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = writer_engine(path, self.config.pragmas)
        try:
            kind = self._migrate_if_needed(writer, path)
        except Exception:
            writer.dispose()
            raise
        readers = reader_engine(path, self.config.pragmas, self.config.readers_per_tenant)
        loop_reader = plain_reader(path, self.config.pragmas)
        metrics.TENANT_OPENS.labels(kind).inc()
        metrics.TENANT_OPEN_SECONDS.labels(kind).observe(time.perf_counter() - started)
        return Tenant(tenant_id, path, writer, readers, loop_reader, self)

    def _migrate_if_needed(self, writer: Engine, path: Path) -> str:
        """Already at head: nothing to do (the common case, no lock). Otherwise migrate under a
        file lock beside the database, so that of several processes opening a new tenant at
        once (workers sharing a data directory) one migrates and seeds it and the others find
        it at head; within one process the opening lock already lets only one thread here."""
        if self._at_head(writer):
            return "warm"
        lock = FileLock(path.with_name(path.name + ".migrate.lock"))
        try:
            with lock.acquire(timeout=self.config.migration_lock_seconds):
                return self._migrate_locked(writer)
        except LockTimeout:
            raise Unavailable("the tenant is being migrated by another process; retry") from None

    def _at_head(self, writer: Engine) -> bool:
        with writer.connect() as conn:
            current = self.migrator.current_revision(conn)
            conn.rollback()
        return current == self.migrator.head

    def _migrate_locked(self, writer: Engine) -> str:
        with writer.connect() as conn:
            current = self.migrator.current_revision(conn)
            conn.rollback()
            if current == self.migrator.head:
                return "warm"  # another process migrated it while this one waited
            started = time.perf_counter()
            try:
                self.migrator.bring_to_head(conn)
                conn.commit()
            except Exception:
                metrics.TENANT_MIGRATIONS.labels("failed").inc()
                raise
        if current is None and self.on_create is not None:
            with Session(writer) as session, session.begin():
                self.on_create(session)
        with self._lock:
            self.migrations_run += 1
        metrics.TENANT_MIGRATIONS.labels("ok").inc()
        metrics.TENANT_MIGRATION_SECONDS.observe(time.perf_counter() - started)
        return "cold" if current is None else "migrated"
