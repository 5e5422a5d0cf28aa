"""The readiness probe's own database: ``/ready`` proves the data folder, the worker threads and
SQLite work by committing a write here, beside the tenants and never in one of them (a probe
tenant would show in every listing, count in every figure and be backed up with the rest)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from pm.tenancy.database import Pragmas, writer_engine
from pm.tenancy.files import FILE_MODE, private_dir, tighten


class ReadinessProbe:
    def __init__(self, path: Path, pragmas: Pragmas) -> None:
        self.path = path
        self._pragmas = pragmas
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._writes = 0

    def write(self) -> None:
        """One committed write (a worker thread runs it); raises if it can't be made."""
        with self._lock:
            if self._engine is None:
                private_dir(self.path.parent)
                self._engine = writer_engine(self.path, self._pragmas)
            self._writes += 1
            with self._engine.begin() as conn:
                conn.exec_driver_sql(f"PRAGMA user_version = {self._writes % 1_000_000}")
            tighten(self.path, FILE_MODE)

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
