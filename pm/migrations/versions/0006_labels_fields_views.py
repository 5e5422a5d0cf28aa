"""labels, custom fields and saved views: per-project labels and typed fields, their values on
items (item_labels; item_field_values, entity-attribute-value, indexed per field and value so a
filter is an index range), text values in the full-text index, and saved views

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("deleted_at IS NULL")
# A text field's value is one more row of the item in the index (in the comment column, weighed
# as comments are); values are replaced by delete and insert, never updated in place.
TRIGGERS = {
    "search_field_value_created": """
CREATE TRIGGER search_field_value_created AFTER INSERT ON item_field_values
WHEN new.searchable AND EXISTS (SELECT 1 FROM search_documents WHERE source_id = new.item_id)
BEGIN
    INSERT INTO search_documents (source_id, work_item_id)
        VALUES ('field:' || new.id, new.item_id);
    INSERT INTO search_index (rowid, title, description, comment)
        VALUES (last_insert_rowid(), '', '', new.value_text);
END""",
    "search_field_value_deleted": """
CREATE TRIGGER search_field_value_deleted AFTER DELETE ON item_field_values
WHEN old.searchable
BEGIN
    DELETE FROM search_index
        WHERE rowid = (SELECT doc_id FROM search_documents WHERE source_id = 'field:' || old.id);
    DELETE FROM search_documents WHERE source_id = 'field:' || old.id;
END""",
}


def _audited() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    ]


def _string(name: str, length: int, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "labels",
        *_audited(),
        _string("id", 36),
        _string("project_id", 36),
        _string("name", 50),
        _string("name_key", 50),
        _string("colour", 7),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
    )
    op.create_index(
        "uq_labels_live_name", "labels", ["project_id", "name_key"], unique=True, sqlite_where=LIVE
    )
    op.create_table(
        "item_labels",
        _string("item_id", 36),
        _string("label_id", 36),
        sa.ForeignKeyConstraint(
            ["item_id"], ["work_items.id"], name=op.f("fk_item_labels_item_id_work_items")
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_item_labels_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("item_id", "label_id", name=op.f("pk_item_labels")),
    )
    op.create_index("ix_item_labels_label", "item_labels", ["label_id", "item_id"], unique=False)
    op.create_table(
        "custom_fields",
        *_audited(),
        _string("id", 36),
        _string("project_id", 36),
        _string("name", 50),
        _string("name_key", 50),
        _string("field_type", 16),
        sa.Column("options", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
    )
    op.create_index(
        "uq_custom_fields_live_name",
        "custom_fields",
        ["project_id", "name_key"],
        unique=True,
        sqlite_where=LIVE,
    )
    op.create_table(
        "item_field_values",
        sa.Column("id", sa.Integer(), nullable=False),
        _string("item_id", 36),
        _string("field_id", 36),
        sa.Column("value_text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("value_number", sa.Float(), nullable=True),
        sa.Column("searchable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["work_items.id"], name=op.f("fk_item_field_values_item_id_work_items")
        ),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["custom_fields.id"],
            name=op.f("fk_item_field_values_field_id_custom_fields"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_field_values")),
    )
    op.create_index(
        "ix_item_field_values_item", "item_field_values", ["item_id", "field_id"], unique=False
    )
    op.create_index(
        "ix_item_field_values_text", "item_field_values", ["field_id", "value_text"], unique=False
    )
    op.create_index(
        "ix_item_field_values_number",
        "item_field_values",
        ["field_id", "value_number"],
        unique=False,
    )
    op.create_table(
        "saved_views",
        *_audited(),
        _string("id", 36),
        _string("project_id", 36),
        _string("owner_id", 255),
        _string("name", 100),
        sa.Column("filters", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        _string("group_by", 64),
        _string("sort", 64),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    op.create_index(
        "ix_saved_views_project", "saved_views", ["project_id", "owner_id"], unique=False
    )
    for trigger in TRIGGERS.values():
        op.execute(trigger)


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute(
        "DELETE FROM search_index WHERE rowid IN"
        " (SELECT doc_id FROM search_documents WHERE source_id LIKE 'field:%')"
    )
    op.execute("DELETE FROM search_documents WHERE source_id LIKE 'field:%'")
    op.drop_index("ix_saved_views_project", table_name="saved_views")
    op.drop_table("saved_views")
    op.drop_index("ix_item_field_values_number", table_name="item_field_values")
    op.drop_index("ix_item_field_values_text", table_name="item_field_values")
    op.drop_index("ix_item_field_values_item", table_name="item_field_values")
    op.drop_table("item_field_values")
    op.drop_index("uq_custom_fields_live_name", table_name="custom_fields")
    op.drop_table("custom_fields")
    op.drop_index("ix_item_labels_label", table_name="item_labels")
    op.drop_table("item_labels")
    op.drop_index("uq_labels_live_name", table_name="labels")
    op.drop_table("labels")
