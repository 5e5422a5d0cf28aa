"""notifications: who watches which item, and each user's notifications (read or not) in the
order of their events in the user's own stream of the change feed

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sqlmodel.sql.sqltypes.AutoString(length=36)
_USER = sqlmodel.sql.sqltypes.AutoString(length=255)


def upgrade() -> None:
    op.create_table(
        "watchers",
        sa.Column("work_item_id", _ID, nullable=False),
        sa.Column("user_id", _USER, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_item_id"], ["work_items.id"], name="fk_watchers_work_item_id_work_items"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_watchers_user_id_users"),
        sa.PrimaryKeyConstraint("work_item_id", "user_id", name="pk_watchers"),
    )
    op.create_index("ix_watchers_user", "watchers", ["user_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _USER, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("work_item_id", _ID, nullable=False),
        sa.Column("work_item_key", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("comment_id", _ID, nullable=True),
        sa.Column("actor_id", _USER, nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("excerpt", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "seq"], unique=False)
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["user_id", "seq"],
        unique=False,
        sqlite_where=sa.text("read_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_index("ix_notifications_user", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_watchers_user", table_name="watchers")
    op.drop_table("watchers")
