from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from pm.domain.models import metadata
from pm.tenancy.migrations import Migrator


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrator = Migrator()
    with engine.begin() as conn:
        migrator.upgrade(conn)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_to_head_and_down_to_base(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrator = Migrator()
    with engine.begin() as conn:
        migrator.upgrade(conn)
        assert migrator.is_at_head(conn)
    assert "work_items" in inspect(engine).get_table_names()
    with engine.begin() as conn:
        migrator.downgrade(conn, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    with engine.begin() as conn:
        migrator.upgrade(conn)
        assert migrator.current_revision(conn) == migrator.head
