"""feed epochs, and pm's application id in the file header

Revision ID: 0003
Revises: 0002

``feed_epochs`` records each time a tenant's history was replaced (pm.tenancy.epochs), so that a
seq from before it is answered RESYNC_REQUIRED. ``PRAGMA application_id`` marks the file as a
pm tenant (the SQLite header's field for exactly that), so a foreign database put in a tenant's
place is refused instead of being migrated into one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PM_APPLICATION_ID = 0x706D7431  # "pmt1", as pm.tenancy.marks has it


def upgrade() -> None:
    op.create_table(
        "feed_epochs",
        sa.Column("epoch", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("base_seq", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("epoch", name=op.f("pk_feed_epochs")),
    )
    op.execute(f"PRAGMA application_id = {PM_APPLICATION_ID}")


def downgrade() -> None:
    op.execute("PRAGMA application_id = 0")
    op.drop_table("feed_epochs")
