"""A tenant's labels, custom fields and views survive an export and an import: the rows come
back, and text values are in the new file's search index (the import's triggers find the items
they belong to, which the foreign keys order first)."""

from __future__ import annotations

import io

from pm.config import Settings
from pm.services import custom_fields, labels, search
from pm.services.read_models.work_item_detail import work_item_detail
from pm.wiring import build_bus, build_services, build_tenant_admin, build_tenants
from tests.services.factories import ctx_for, make_item, make_project


async def test_labels_and_text_values_come_back_searchable_after_an_import(
    settings: Settings,
) -> None:
    alice, copy = ctx_for("alice", tenant_id="source"), ctx_for("alice", tenant_id="copy")
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    try:
        project = await make_project(runner, alice)
        await runner.command(alice, labels.create_label, project_id=project["id"], name="Bug")
        await runner.command(
            alice,
            custom_fields.create_custom_field,
            project_id=project["id"],
            name="Notes",
            field_type="text",
        )
        item = await make_item(
            runner, alice, project, labels=["bug"], custom_fields={"notes": "zebracorn"}
        )
    finally:
        tenants.close()
    admin = build_tenant_admin(settings, create_root=False)
    try:
        dump = io.StringIO()
        admin.export("source", dump)
        dump.seek(0)
        admin.import_dump("copy", dump)
    finally:
        admin.close()
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    try:
        back = (await runner.query(copy, work_item_detail, work_item_id=item["id"]))["work_item"]
        assert (back["labels"], back["custom_fields"]) == (item["labels"], item["custom_fields"])
        hits = await runner.query(copy, search.search_work_items, query="zebracorn")
        assert [hit["work_item"]["id"] for hit in hits.items] == [item["id"]]
    finally:
        tenants.close()
