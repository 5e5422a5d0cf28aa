"""SQLAlchemy engines for one tenant file: one writer connection, a small pool of readers.

The pysqlite driver's own transaction handling is switched off (``isolation_level=None``) so that
we emit ``BEGIN IMMEDIATE`` on the writer (the write lock is taken at the start, so a transaction
never fails half-way with ``database is locked``) and a deferred ``BEGIN`` on readers (a WAL
snapshot for the whole query). With several processes on one file (``pm serve --workers``) the
writer's ``BEGIN IMMEDIATE`` waits, up to ``busy_timeout``, for another process's write to end:
that wait is measured (``pm_db_lock_wait_seconds``).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool, StaticPool

from pm.observability import metrics


@dataclass(frozen=True)
class Pragmas:
    busy_timeout_ms: int = 5000
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    def apply(self, conn: sqlite3.Connection, *, read_only: bool) -> None:
        conn.isolation_level = None
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        if read_only:
            conn.execute("PRAGMA query_only=ON")


def _engine(path: Path, pragmas: Pragmas, *, read_only: bool, pool_size: int) -> Engine:
    pool: dict[str, Any]
    if read_only:
        pool = {"poolclass": QueuePool, "pool_size": pool_size, "max_overflow": 0}
    else:
        pool = {"poolclass": StaticPool}
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False}, **pool)
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        pragmas.apply(dbapi_conn, read_only=read_only)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        started = time.perf_counter()
        conn.exec_driver_sql(begin)
        if not read_only:  # the wait for another process's write lock (SQLite's busy_timeout)
            metrics.DB_LOCK_WAIT_SECONDS.observe(time.perf_counter() - started)

    return engine


def writer_engine(path: Path, pragmas: Pragmas) -> Engine:
    """One connection, shared by whichever worker thread holds the tenant's write lock."""
    return _engine(path, pragmas, read_only=False, pool_size=1)


def reader_engine(path: Path, pragmas: Pragmas, pool_size: int) -> Engine:
    return _engine(path, pragmas, read_only=True, pool_size=pool_size)


def plain_reader(path: Path, pragmas: Pragmas) -> sqlite3.Connection:
    """A bare reader connection (no engine, no pool) for reads on the event loop itself;
    transactions are begun and ended by its user."""
    connection = sqlite3.connect(path, check_same_thread=False)
    pragmas.apply(connection, read_only=True)
    return connection


def as_single_file(engine: Engine) -> None:
    """Fold the WAL into the file and leave WAL mode: one self-contained file, ready to be
    linked into place or copied (outside any transaction: SQLite allows the switch only there,
    so the driver's connection is used directly, before SQLAlchemy begins one)."""
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        driver.execute("PRAGMA journal_mode=DELETE")
