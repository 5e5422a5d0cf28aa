"""initial schema

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("field_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("old_value", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("new_value", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_log")),
    )
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.create_index("ix_activity_entity", ["entity_id", "id"], unique=False)
        batch_op.create_index("ix_activity_project", ["project_id", "id"], unique=False)
        batch_op.create_index("ix_activity_user", ["user_id", "id"], unique=False)

    op.create_table(
        "change_feed",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("payload_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_feed")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("change_feed", schema=None) as batch_op:
        batch_op.create_index("ix_change_feed_at", ["at"], unique=False)
        batch_op.create_index("ix_change_feed_project", ["project_id", "seq"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("response", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "message_id", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_keys_created", ["created_at"], unique=False)

    op.create_table(
        "llm_context",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("context_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_context")),
    )
    with op.batch_alter_table("llm_context", schema=None) as batch_op:
        batch_op.create_index("ix_llm_context_type", ["context_type", "priority"], unique=False)

    op.create_table(
        "sprints",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("goal", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("start_date", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("end_date", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("velocity", sa.Integer(), nullable=True),
        sa.Column("committed_points", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sprints")),
    )
    with op.batch_alter_table("sprints", schema=None) as batch_op:
        batch_op.create_index("ix_sprints_project", ["project_id", "status"], unique=False)
        batch_op.create_index(
            "uq_sprints_one_active",
            ["project_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active' AND deleted_at IS NULL"),
        )

    op.create_table(
        "users",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "work_items",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("item_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("parent_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("assignee_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("story_points", sa.Integer(), nullable=True),
        sa.Column("sprint_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("position", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_work_items_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["work_items.id"], name=op.f("fk_work_items_parent_id_work_items")
        ),
        sa.ForeignKeyConstraint(
            ["sprint_id"], ["sprints.id"], name=op.f("fk_work_items_sprint_id_sprints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
    )
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.create_index("ix_work_items_assignee", ["assignee_id"], unique=False)
        batch_op.create_index("ix_work_items_children", ["parent_id", "position"], unique=False)
        batch_op.create_index("ix_work_items_project", ["project_id", "deleted_at"], unique=False)
        batch_op.create_index("ix_work_items_sprint", ["sprint_id"], unique=False)

    op.create_table(
        "comments",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("work_item_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("parent_comment_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("content", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_comment_id"],
            ["comments.id"],
            name=op.f("fk_comments_parent_comment_id_comments"),
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"], ["work_items.id"], name=op.f("fk_comments_work_item_id_work_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_item", ["work_item_id", "created_at"], unique=False)

    op.create_table(
        "dependencies",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("blocking_item_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("blocked_item_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("dependency_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["blocked_item_id"],
            ["work_items.id"],
            name=op.f("fk_dependencies_blocked_item_id_work_items"),
        ),
        sa.ForeignKeyConstraint(
            ["blocking_item_id"],
            ["work_items.id"],
            name=op.f("fk_dependencies_blocking_item_id_work_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependencies")),
    )
    with op.batch_alter_table("dependencies", schema=None) as batch_op:
        batch_op.create_index("ix_dependencies_blocked", ["blocked_item_id"], unique=False)
        batch_op.create_index("ix_dependencies_project", ["project_id"], unique=False)
        batch_op.create_index(
            "uq_dependencies_live_pair",
            ["blocking_item_id", "blocked_item_id"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "project_members",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["work_items.id"], name=op.f("fk_project_members_project_id_work_items")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_project_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_members")),
    )
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.create_index("ix_project_members_user", ["user_id"], unique=False)
        batch_op.create_index("uq_project_members_pair", ["project_id", "user_id"], unique=True)

    op.create_table(
        "swim_lanes",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status_value", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("position", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["work_items.id"], name=op.f("fk_swim_lanes_project_id_work_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_swim_lanes")),
    )
    with op.batch_alter_table("swim_lanes", schema=None) as batch_op:
        batch_op.create_index(
            "uq_swim_lanes_live_status",
            ["project_id", "status_value"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "time_entries",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("work_item_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("started_at", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_time_entries_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_items.id"],
            name=op.f("fk_time_entries_work_item_id_work_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_entries")),
    )
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.create_index("ix_time_entries_item", ["work_item_id"], unique=False)
        batch_op.create_index(
            "uq_time_entries_one_running",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL AND deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_time_entries_one_running",
            sqlite_where=sa.text("ended_at IS NULL AND deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_time_entries_item")

    op.drop_table("time_entries")
    with op.batch_alter_table("swim_lanes", schema=None) as batch_op:
        batch_op.drop_index("uq_swim_lanes_live_status", sqlite_where=sa.text("deleted_at IS NULL"))

    op.drop_table("swim_lanes")
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.drop_index("uq_project_members_pair")
        batch_op.drop_index("ix_project_members_user")

    op.drop_table("project_members")
    with op.batch_alter_table("dependencies", schema=None) as batch_op:
        batch_op.drop_index("uq_dependencies_live_pair", sqlite_where=sa.text("deleted_at IS NULL"))
        batch_op.drop_index("ix_dependencies_project")
        batch_op.drop_index("ix_dependencies_blocked")

    op.drop_table("dependencies")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_item")

    op.drop_table("comments")
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_sprint")
        batch_op.drop_index("ix_work_items_project")
        batch_op.drop_index("ix_work_items_children")
        batch_op.drop_index("ix_work_items_assignee")

    op.drop_table("work_items")
    op.drop_table("users")
    with op.batch_alter_table("sprints", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_sprints_one_active",
            sqlite_where=sa.text("status = 'active' AND deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_sprints_project")

    op.drop_table("sprints")
    with op.batch_alter_table("llm_context", schema=None) as batch_op:
        batch_op.drop_index("ix_llm_context_type")

    op.drop_table("llm_context")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_created")

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("change_feed", schema=None) as batch_op:
        batch_op.drop_index("ix_change_feed_project")
        batch_op.drop_index("ix_change_feed_at")

    op.drop_table("change_feed")
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_user")
        batch_op.drop_index("ix_activity_project")
        batch_op.drop_index("ix_activity_entity")

    op.drop_table("activity_log")
