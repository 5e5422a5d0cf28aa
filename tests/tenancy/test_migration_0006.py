"""Migration 0006 (labels, custom fields, saved views) on a tenant file made at the previous
head with data in it: the items keep everything they had and gain no labels or values, the
search index keeps working and takes text field values from then on, and a downgrade leaves
the data and the index as the previous head had them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from pm.config import Settings
from pm.services import custom_fields, labels, search, work_items
from pm.services.read_models.work_item_detail import work_item_detail
from pm.tenancy.ids import tenant_db_path
from pm.tenancy.migrations import Migrator
from pm.wiring import build_bus, build_services, build_tenants
from tests.services.factories import ctx_for

PREVIOUS = "0005"
ALICE = ctx_for("alice", tenant_id="old")
PROJECT, TASK = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000011"


def _file_at_previous_head(settings: Settings) -> Path:
    path = tenant_db_path(settings.prepare_data_dir(), "old")
    path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        Migrator().upgrade(conn, PREVIOUS)
    engine.dispose()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO users VALUES ('alice', 'alice@example.com', 'Alice', 1, 1)")
    for item_id, kind, parent, title, key, number in (
        (PROJECT, "project", None, "Apollo", "APO", 0),
        (TASK, "task", PROJECT, "Hydraulic check", "APO-1", 1),
    ):
        db.execute(
            "INSERT INTO work_items (id, item_type, project_id, parent_id, title, description,"
            " status, priority, position, version, created_at, created_by, updated_at,"
            " updated_by, key, number, due_date) VALUES (?, ?, ?, ?, ?, 'valves', 'todo',"
            " 'medium', 'V', 1, 10, 'alice', 10, 'alice', ?, ?, '2026-05-01')",
            (item_id, kind, PROJECT, parent, title, key, number),
        )
    db.execute(
        "INSERT INTO project_members (id, project_id, user_id, role, version, created_at,"
        " created_by, updated_at, updated_by) VALUES ('m1', ?, 'alice', 'admin', 1, 1, 'alice',"
        " 1, 'alice')",
        (PROJECT,),
    )
    db.commit()
    db.close()
    return path


async def test_old_items_keep_their_fields_and_take_labels_and_searchable_values(
    settings: Settings,
) -> None:
    _file_at_previous_head(settings)
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    try:
        item = (await runner.query(ALICE, work_item_detail, work_item_id="APO-1"))["work_item"]
        assert (item["title"], item["due_date"], item["labels"], item["custom_fields"]) == (
            "Hydraulic check",
            "2026-05-01",
            [],
            {},
        )
        hits = await runner.query(ALICE, search.search_work_items, query="hydraulic")
        assert [hit["work_item"]["id"] for hit in hits.items] == [TASK]
        await runner.command(ALICE, labels.create_label, project_id="APO", name="Bug")
        notes = await runner.command(
            ALICE,
            custom_fields.create_custom_field,
            project_id="APO",
            name="Notes",
            field_type="text",
        )
        await runner.command(
            ALICE,
            work_items.update_work_item,
            work_item_id="APO-1",
            expected_version=1,
            fields={
                "add_labels": ["bug"],
                "custom_fields": {notes.payload["custom_field"]["id"]: "altimeter"},
            },
        )
        hits = await runner.query(ALICE, search.search_work_items, query="altimeter")
        assert [hit["work_item"]["id"] for hit in hits.items] == [TASK]
    finally:
        tenants.close()


def test_downgrade_leaves_the_data_and_the_index_as_they_were(settings: Settings) -> None:
    path = _file_at_previous_head(settings)
    with sqlite3.connect(path) as db:
        before = db.execute("SELECT * FROM work_items ORDER BY id").fetchall()
        index_before = db.execute("SELECT * FROM search_documents ORDER BY doc_id").fetchall()
    engine = create_engine(f"sqlite:///{path}")
    migrator = Migrator()
    with engine.begin() as conn:
        migrator.upgrade(conn)
    with sqlite3.connect(path) as db:  # a text value in the index, as a command would leave it
        db.execute(
            "INSERT INTO item_field_values (item_id, field_id, value_text, searchable)"
            " VALUES (?, 'f1', 'altimeter', 1)",
            (TASK,),
        )
    with engine.begin() as conn:
        migrator.downgrade(conn, PREVIOUS)
        assert migrator.current_revision(conn) == PREVIOUS
    engine.dispose()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT * FROM work_items ORDER BY id").fetchall() == before
        assert db.execute("SELECT * FROM search_documents ORDER BY doc_id").fetchall() == (
            index_before
        )
        assert db.execute(
            "SELECT count(*) FROM search_index WHERE search_index MATCH 'altimeter'"
        ).fetchone() == (0,)
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert not names & {
        "labels",
        "item_labels",
        "custom_fields",
        "item_field_values",
        "saved_views",
    }
