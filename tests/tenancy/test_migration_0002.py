"""Migration 0002 on a tenant file made at revision 0001 with data in it: keys backfilled in
creation order (deleted items keep their numbers), the search index filled from live rows and
kept from then on, webhook tables made; ``pm tenants migrate`` and the lazy open both apply it,
and a downgrade to 0001 leaves the data as 0001 had it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from pm.config import Settings
from pm.services import comments, search, work_items
from pm.services.read_models.work_item_detail import work_item_detail
from pm.tenancy.ids import tenant_db_path
from pm.tenancy.migrations import Migrator
from pm.wiring import build_bus, build_services, build_tenant_admin, build_tenants
from tests.services.factories import ctx_for

ALICE = ctx_for("alice", tenant_id="old")
PROJECT, OTHER = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
EPIC, TASK, GONE = (f"00000000-0000-4000-8000-00000000001{n}" for n in range(3))
LATER = "00000000-0000-4000-8000-000000000020"
COMMENT = "00000000-0000-4000-8000-000000000030"


def _file_at_0001(settings: Settings, tenant_id: str = "old") -> Path:
    """A tenant file at 0001, written as 0001's code wrote it: two projects of the same title,
    an epic, a task, a deleted task, a comment, activity."""
    path = tenant_db_path(settings.prepare_data_dir(), tenant_id)
    path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        Migrator().upgrade(conn, "0001")
    engine.dispose()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO users VALUES ('alice', 'alice@example.com', 'Alice', 1, 1)")
    rows = [
        (PROJECT, "project", PROJECT, None, "Apollo", 10, None),
        (OTHER, "project", OTHER, None, "Apollo", 11, None),
        (EPIC, "epic", PROJECT, PROJECT, "Landing gear", 12, None),
        (TASK, "task", PROJECT, EPIC, "Hydraulic check", 13, None),
        (GONE, "task", PROJECT, EPIC, "Abandoned idea", 14, 99),
        (LATER, "task", PROJECT, PROJECT, "Parachute drill", 15, None),
    ]
    for item_id, kind, project, parent, title, at, deleted in rows:
        db.execute(
            "INSERT INTO work_items (id, item_type, project_id, parent_id, title, description,"
            " status, priority, position, version, created_at, created_by, updated_at,"
            " updated_by, deleted_at) VALUES (?, ?, ?, ?, ?, 'pressure and valves', 'todo',"
            " 'medium', 'V', 1, ?, 'alice', ?, 'alice', ?)",
            (item_id, kind, project, parent, title, at, at, deleted),
        )
    for project in (PROJECT, OTHER):
        db.execute(
            "INSERT INTO project_members (id, project_id, user_id, role, version, created_at,"
            " created_by, updated_at, updated_by) VALUES (?, ?, 'alice', 'admin', 1, 1,"
            " 'alice', 1, 'alice')",
            (f"m-{project}", project),
        )
    db.execute(
        "INSERT INTO comments (id, work_item_id, project_id, content, version, created_at,"
        " created_by, updated_at, updated_by) VALUES (?, ?, ?, 'the altimeter drifts', 1, 20,"
        " 'alice', 20, 'alice')",
        (COMMENT, TASK, PROJECT),
    )
    db.execute(
        "INSERT INTO activity_log (entity_type, entity_id, project_id, action, user_id, version,"
        " at) VALUES ('work_item', ?, ?, 'created', 'alice', 1, 13)",
        (TASK, PROJECT),
    )
    db.commit()
    db.close()
    return path


def _keys(path: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(path) as db:
        return {
            row[0]: (row[1], row[2]) for row in db.execute("SELECT id, key, number FROM work_items")
        }


def test_pm_tenants_migrate_backfills_keys_in_creation_order(settings: Settings) -> None:
    path = _file_at_0001(settings)
    admin = build_tenant_admin(settings, create_root=False)
    try:
        assert admin.migrate("old").outcome == "upgraded"
    finally:
        admin.close()
    assert _keys(path) == {
        PROJECT: ("APO", 0),
        OTHER: ("APO2", 0),
        EPIC: ("APO-1", 1),
        TASK: ("APO-2", 2),
        GONE: ("APO-3", 3),  # deleted, its number kept: never reused
        LATER: ("APO-4", 4),
    }


async def test_a_lazily_migrated_file_is_searchable_and_keeps_its_index(
    settings: Settings,
) -> None:
    _file_at_0001(settings)
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    try:

        async def titles(query: str) -> list[str]:
            page = await runner.query(ALICE, search.search_work_items, query=query)
            return [hit["work_item"]["title"] for hit in page.items]

        assert await titles("altimeter") == ["Hydraulic check"]  # an old comment
        assert await titles("hydraulic") == ["Hydraulic check"]
        assert await titles("abandoned") == []  # deleted before the migration
        detail = await runner.query(ALICE, work_item_detail, work_item_id="APO-2")
        assert detail["work_item"]["id"] == TASK
        await runner.command(
            ALICE, comments.create_comment, work_item_id="APO-4", content="new altimeter"
        )
        assert sorted(await titles("altimeter")) == ["Hydraulic check", "Parachute drill"]
        created = await runner.command(
            ALICE,
            work_items.create_work_item,
            item_type="task",
            title="Next",
            parent_id="APO",
        )
        assert created.payload["work_item"]["key"] == "APO-5"
    finally:
        tenants.close()


def test_downgrade_to_0001_leaves_the_data_as_it_was(settings: Settings) -> None:
    path = _file_at_0001(settings)
    with sqlite3.connect(path) as db:
        before = db.execute("SELECT * FROM work_items ORDER BY id").fetchall()
        comments_before = db.execute("SELECT * FROM comments").fetchall()
    engine = create_engine(f"sqlite:///{path}")
    migrator = Migrator()
    with engine.begin() as conn:
        migrator.upgrade(conn)
        assert migrator.is_at_head(conn)
    with engine.begin() as conn:
        migrator.downgrade(conn, "0001")
        assert migrator.current_revision(conn) == "0001"
    engine.dispose()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT * FROM work_items ORDER BY id").fetchall() == before
        assert db.execute("SELECT * FROM comments").fetchall() == comments_before
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert not names & {"search_index", "search_documents", "webhooks", "webhook_deliveries"}
    assert not any(name.startswith("search_") for name in names)
