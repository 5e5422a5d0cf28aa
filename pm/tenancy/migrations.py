"""Alembic, applied programmatically to one tenant file at a time.

The script directory is read once per process; a file already at head is recognised by one
``SELECT`` on ``alembic_version`` and Alembic is not entered at all.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class Migrator:
    def __init__(self, script_location: Path = MIGRATIONS_DIR) -> None:
        self._location = str(script_location)
        self.config = Config()
        self.config.set_main_option("script_location", self._location)

    @cached_property
    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config)

    @cached_property
    def head(self) -> str:
        head = self.script.get_current_head()
        assert head is not None, "migrations/ has no revision"
        return head

    @staticmethod
    def current_revision(connection: Connection) -> str | None:
        try:
            row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        except OperationalError:
            return None
        return None if row is None else str(row[0])

    def is_at_head(self, connection: Connection) -> bool:
        return self.current_revision(connection) == self.head

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
