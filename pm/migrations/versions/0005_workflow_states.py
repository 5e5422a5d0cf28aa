"""workflow states: every project's own ordered states, each with a category; every project
that exists gets today's five (pm.domain.workflow.DEFAULT_STATES: the keys its items already
carry in ``status``, in the categories the rules already gave them), so no item, filter or
report changes meaning

Revision ID: 0005
Revises: 0004

Deleted projects get them too: their items' history stays readable by the same rules. The seed
is written here as literals (a migration must not change when the code's defaults do later).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# key, name, colour, category: as pm.domain.workflow.DEFAULT_STATES had them at this revision.
SEED = (
    ("backlog", "Backlog", "#94a3b8", "backlog"),
    ("todo", "To Do", "#64748b", "unstarted"),
    ("in_progress", "In Progress", "#3b82f6", "started"),
    ("review", "Review", "#a855f7", "review"),
    ("done", "Done", "#22c55e", "completed"),
)
POSITIONS = ("A", "K", "U", "e", "o")  # spread_keys(5) of pm.domain.ordering, in order


def upgrade() -> None:
    op.create_table(
        "workflow_states",
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("colour", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("position", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["work_items.id"],
            name=op.f("fk_workflow_states_project_id_work_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_states")),
    )
    op.create_index("uq_workflow_states_key", "workflow_states", ["project_id", "key"], unique=True)
    connection = op.get_bind()
    projects = connection.exec_driver_sql(
        "SELECT id, created_at, created_by FROM work_items WHERE item_type = 'project'"
    ).fetchall()
    rows = [
        {
            "id": str(uuid.uuid4()),
            "project_id": project_id,
            "key": key,
            "name": name,
            "colour": colour,
            "category": category,
            "position": position,
            "at": created_at,
            "by": created_by,
        }
        for project_id, created_at, created_by in projects
        for (key, name, colour, category), position in zip(SEED, POSITIONS, strict=True)
    ]
    if rows:
        connection.execute(
            sa.text(
                "INSERT INTO workflow_states (id, project_id, key, name, colour, category,"
                " position, version, deleted_at, created_at, created_by, updated_at, updated_by)"
                " VALUES (:id, :project_id, :key, :name, :colour, :category, :position, 1, NULL,"
                " :at, :by, :at, :by)"
            ),
            rows,
        )


def downgrade() -> None:
    op.drop_index("uq_workflow_states_key", table_name="workflow_states")
    op.drop_table("workflow_states")
