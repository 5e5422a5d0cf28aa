"""Alembic, applied programmatically to one tenant file at a time.

The script directory is read once per process; a file already at head is recognised by one
``SELECT`` on ``alembic_version`` and Alembic is not entered at all.

A brand-new (empty) file gets a page copy of an in-memory database that Alembic migrated to head
once per process: building the DDL through Alembic's operations costs several times what SQLite
spends executing it, and every new file would pay that again for the same result. A file with
anything in it is always upgraded by Alembic itself.
"""

from __future__ import annotations

import sqlite3
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


class Migrator:
    def __init__(self, script_location: Path = MIGRATIONS_DIR) -> None:
        self._location = str(script_location)
        self.config = Config()
        self.config.set_main_option("script_location", self._location)
        self._head_image: bytes | None = None
        self._head_image_lock = threading.Lock()

    @cached_property
    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config)

    @cached_property
    def head(self) -> str:
        head = self.script.get_current_head()
        assert head is not None, "migrations/ has no revision"
        return head

    @cached_property
    def revisions(self) -> frozenset[str]:
        return frozenset(script.revision for script in self.script.walk_revisions())

    def knows(self, revision: str) -> bool:
        """A revision of this pm's migrations (a file at another was written by a newer pm)."""
        return revision in self.revisions

    @staticmethod
    def current_revision(connection: Connection) -> str | None:
        try:
            row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        except OperationalError:
            return None
        return None if row is None else str(row[0])

    def is_at_head(self, connection: Connection) -> bool:
        return self.current_revision(connection) == self.head

    def bring_to_head(self, connection: Connection) -> None:
        """Migrate to head: an empty file by copying the head image, any other through Alembic.

        Call it outside a transaction; the copy commits itself, an upgrade needs a commit.
        """
        target = connection.connection.driver_connection
        if isinstance(target, sqlite3.Connection) and _is_empty(target):
            _restore(self.head_image(), target)
        else:
            self.upgrade(connection)

    def head_image(self) -> bytes:
        """The pages of an empty database migrated to head by Alembic, built once per process."""
        with self._head_image_lock:
            if self._head_image is None:
                self._head_image = self._migrate_in_memory()
            return self._head_image

    def upgrade(self, connection: Connection, target: str = "head") -> None:
        self._run(connection, target, upgrade=True)

    def downgrade(self, connection: Connection, target: str = "base") -> None:
        self._run(connection, target, upgrade=False)

    def _run(self, connection: Connection, target: str, *, upgrade: bool) -> None:
        script = self.script

        def steps(rev: Any, _context: Any) -> Any:
            if upgrade:
                return script._upgrade_revs(target, rev)
            return script._downgrade_revs(target, rev)

        config = Config()  # one per run: attributes carry the connection, threads must not share
        config.set_main_option("script_location", self._location)
        config.attributes["connection"] = connection
        with EnvironmentContext(config, script, fn=steps, destination_rev=target):
            script.run_env()

    def _migrate_in_memory(self) -> bytes:
        memory = sqlite3.connect(":memory:", check_same_thread=False)
        memory.execute("PRAGMA foreign_keys=ON")  # as on a tenant's writer
        engine = create_engine("sqlite://", creator=lambda: memory, poolclass=StaticPool)
        try:
            with engine.begin() as conn:
                self.upgrade(conn)
            return memory.serialize()
        finally:
            engine.dispose()


def _is_empty(conn: sqlite3.Connection) -> bool:
    """No table, index, view or trigger at all: a file that nothing has been written to."""
    return conn.execute("SELECT count(*) FROM sqlite_master").fetchall() == [(0,)]


def _restore(image: bytes, target: sqlite3.Connection) -> None:
    """Copy every page of ``image`` into ``target`` (SQLite's backup API: locked, atomic, and
    a destination in WAL mode stays in WAL mode)."""
    source = sqlite3.connect(":memory:")
    try:
        source.deserialize(image)
        source.backup(target)
    finally:
        source.close()
