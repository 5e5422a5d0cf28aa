"""labels and dates: start and due dates on work items (the due date indexed per project, for
date-range filters), and the status changes of a project's items indexed by value and instant
(cycle and lead time read a range of one project's completions from that index alone)

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_item_status",
            ["project_id", "new_value", "at", "entity_id"],
            unique=False,
            sqlite_where=sa.text("field_name = 'status' AND entity_type = 'work_item'"),
        )
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("start_date", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(
            sa.Column("due_date", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.create_index("ix_work_items_due", ["project_id", "due_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_due")
        batch_op.drop_column("due_date")
        batch_op.drop_column("start_date")
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_item_status")
