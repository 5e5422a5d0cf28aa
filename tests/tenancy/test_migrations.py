from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from pm.domain.models import metadata
from pm.repositories.search import INDEX_TABLES
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager
from pm.tenancy.migrations import Migrator


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrator = Migrator()
    with engine.begin() as conn:
        migrator.upgrade(conn)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": lambda name, kind, _parent: name not in INDEX_TABLES}
        )
        diff = compare_metadata(context, metadata)
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


def _schema(path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return [*rows, ("revision", str(revision), None)]


def test_a_new_file_copied_from_the_head_image_equals_one_alembic_migrated(
    tmp_path: Path,
) -> None:
    """New tenant files get the pages of a once-migrated image instead of running Alembic; the
    result must be the very schema (and revision) Alembic itself produces, in WAL mode."""
    manager = TenantConnectionManager(TenancyConfig(tenants_root=tmp_path / "tenants"))
    try:
        copied = manager.open_sync("fresh", create=True).path
    finally:
        manager.close()
    migrated = tmp_path / "alembic.db"
    engine = create_engine(f"sqlite:///{migrated}")
    with engine.begin() as conn:
        Migrator().upgrade(conn)
    engine.dispose()
    assert _schema(copied) == _schema(migrated)
    with sqlite3.connect(copied) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
