"""dates and cycle time: start and due dates on work items (the due date indexed per project, for
date-range filters), and the status changes of a project's items indexed by value and instant
(cycle and lead time read a range of one project's completions from that index alone)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_activity_item_status",
        "activity_log",
        ["project_id", "new_value", "at", "entity_id"],
        unique=False,
        sqlite_where=sa.text("field_name = 'status' AND entity_type = 'work_item'"),
    )
    # Plain ALTER TABLE, not a batch: a batch copies work_items into a new table, which would
    # drop the search triggers 0002 made on it.
    op.add_column(
        "work_items",
        sa.Column("start_date", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    )
    op.add_column(
        "work_items",
        sa.Column("due_date", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    )
    op.create_index("ix_work_items_due", "work_items", ["project_id", "due_date"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_work_items_due", table_name="work_items")
    op.drop_column("work_items", "due_date")  # SQLite's own DROP COLUMN: triggers stay
    op.drop_column("work_items", "start_date")
    op.drop_index("ix_activity_item_status", table_name="activity_log")
