"""short keys, full-text search, webhooks

Revision ID: 0002
Revises: 0001

- ``work_items.key`` and ``number``, backfilled: each project gets a key derived from its title
  (unique in the tenant), each item ``<key>-<n>`` in creation order;
- ``search_documents`` + the FTS5 table ``search_index`` over item titles, descriptions and
  live comments, filled from the live rows, and the triggers that keep it exact in the
  transaction of every change (a rolled-back change leaves no trace in it);
- ``webhooks`` and ``webhook_deliveries``.

Columns are added with ALTER TABLE (no table copy: a copy of ``work_items`` would have to drop
a table other tables' foreign keys point at, inside the migration's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from pm.domain.keys import derive_project_key, item_key

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Title matches weigh most, then descriptions, then comments (bm25 weights per column).
SEARCH_TABLE = """
CREATE VIRTUAL TABLE search_index USING fts5(
    title, description, comment, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
)
"""
TRIGGERS = {
    "search_item_created": """
CREATE TRIGGER search_item_created AFTER INSERT ON work_items WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO search_documents (source_id, work_item_id) VALUES (new.id, new.id);
    INSERT INTO search_index (rowid, title, description, comment)
        VALUES (last_insert_rowid(), new.title, new.description, '');
END""",
    "search_item_changed": """
CREATE TRIGGER search_item_changed AFTER UPDATE OF title, description ON work_items
WHEN new.deleted_at IS NULL
BEGIN
    UPDATE search_index SET title = new.title, description = new.description
        WHERE rowid = (SELECT doc_id FROM search_documents WHERE source_id = new.id);
END""",
    "search_item_deleted": """
CREATE TRIGGER search_item_deleted AFTER UPDATE OF deleted_at ON work_items
WHEN new.deleted_at IS NOT NULL AND old.deleted_at IS NULL
BEGIN
    DELETE FROM search_index
        WHERE rowid IN (SELECT doc_id FROM search_documents WHERE work_item_id = new.id);
    DELETE FROM search_documents WHERE work_item_id = new.id;
END""",
    "search_comment_created": """
CREATE TRIGGER search_comment_created AFTER INSERT ON comments
WHEN new.deleted_at IS NULL
    AND EXISTS (SELECT 1 FROM search_documents WHERE source_id = new.work_item_id)
BEGIN
    INSERT INTO search_documents (source_id, work_item_id) VALUES (new.id, new.work_item_id);
    INSERT INTO search_index (rowid, title, description, comment)
        VALUES (last_insert_rowid(), '', '', new.content);
END""",
    "search_comment_changed": """
CREATE TRIGGER search_comment_changed AFTER UPDATE OF content ON comments
WHEN new.deleted_at IS NULL
BEGIN
    UPDATE search_index SET comment = new.content
        WHERE rowid = (SELECT doc_id FROM search_documents WHERE source_id = new.id);
END""",
    "search_comment_deleted": """
CREATE TRIGGER search_comment_deleted AFTER UPDATE OF deleted_at ON comments
WHEN new.deleted_at IS NOT NULL AND old.deleted_at IS NULL
BEGIN
    DELETE FROM search_index
        WHERE rowid = (SELECT doc_id FROM search_documents WHERE source_id = new.id);
    DELETE FROM search_documents WHERE source_id = new.id;
END""",
}


def upgrade() -> None:
    _keys()
    _search()
    _webhooks()


def _keys() -> None:
    op.add_column(
        "work_items",
        sa.Column("key", sa.String(length=24), nullable=False, server_default=""),
    )
    op.add_column(
        "work_items", sa.Column("number", sa.Integer(), nullable=False, server_default="0")
    )
    _backfill_keys(op.get_bind())
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.create_index("uq_work_items_key", ["key"], unique=True)
        batch_op.create_index("ix_work_items_number", ["project_id", "number"], unique=False)


def _backfill_keys(bind: sa.Connection) -> None:
    """Keys for what 0001 made: projects in creation order, then each project's items (deleted
    ones too: a key is never reused) in creation order."""
    taken: set[str] = set()
    projects = bind.execute(
        sa.text(
            "SELECT id, title FROM work_items WHERE item_type = 'project' ORDER BY created_at, id"
        )
    ).all()
    for project_id, title in projects:
        key = derive_project_key(title, taken.__contains__)
        taken.add(key)
        bind.execute(
            sa.text("UPDATE work_items SET key = :key WHERE id = :id"),
            {"key": key, "id": project_id},
        )
        items = bind.execute(
            sa.text(
                "SELECT id FROM work_items WHERE project_id = :project AND id != :project"
                " ORDER BY created_at, id"
            ),
            {"project": project_id},
        ).all()
        if items:
            bind.execute(
                sa.text("UPDATE work_items SET key = :key, number = :number WHERE id = :id"),
                [
                    {"key": item_key(key, number), "number": number, "id": item_id}
                    for number, (item_id,) in enumerate(items, start=1)
                ],
            )


def _search() -> None:
    op.create_table(
        "search_documents",
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("work_item_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.PrimaryKeyConstraint("doc_id", name=op.f("pk_search_documents")),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_documents_item", ["work_item_id"], unique=False)
        batch_op.create_index("uq_search_documents_source", ["source_id"], unique=True)
    op.execute(SEARCH_TABLE)
    # What 0001 made, indexed as the triggers would have: live items, live comments on them.
    op.execute(
        "INSERT INTO search_documents (source_id, work_item_id)"
        " SELECT id, id FROM work_items WHERE deleted_at IS NULL ORDER BY created_at, id"
    )
    op.execute(
        "INSERT INTO search_documents (source_id, work_item_id)"
        " SELECT c.id, c.work_item_id FROM comments c JOIN work_items w ON w.id = c.work_item_id"
        " WHERE c.deleted_at IS NULL AND w.deleted_at IS NULL ORDER BY c.created_at, c.id"
    )
    op.execute(
        "INSERT INTO search_index (rowid, title, description, comment)"
        " SELECT d.doc_id, w.title, w.description, '' FROM search_documents d"
        " JOIN work_items w ON w.id = d.source_id"
    )
    op.execute(
        "INSERT INTO search_index (rowid, title, description, comment)"
        " SELECT d.doc_id, '', '', c.content FROM search_documents d"
        " JOIN comments c ON c.id = d.source_id"
    )
    for trigger in TRIGGERS.values():
        op.execute(trigger)


def _webhooks() -> None:
    op.create_table(
        "webhooks",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("project_ids", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("event_types", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("creator_is_tenant_admin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("cursor_seq", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_webhook_deliveries_webhook_id_webhooks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_webhook", ["webhook_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_webhook")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE search_index")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("uq_search_documents_source")
        batch_op.drop_index("ix_search_documents_item")
    op.drop_table("search_documents")
    op.execute("DROP INDEX ix_work_items_number")
    op.execute("DROP INDEX uq_work_items_key")
    # SQLite drops a column in place (3.35+); a batch copy of work_items would have to drop
    # a table that other tables' foreign keys refer to.
    op.execute("ALTER TABLE work_items DROP COLUMN number")
    op.execute("ALTER TABLE work_items DROP COLUMN key")
