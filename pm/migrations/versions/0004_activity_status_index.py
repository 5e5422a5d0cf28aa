"""activity status index: the status changes of a project's items by value and instant, for
cycle and lead time (a range of one project's completions is read from this index alone)

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
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


def downgrade() -> None:
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_item_status")
