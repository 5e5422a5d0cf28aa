"""Alembic environment for one tenant file. The caller passes an open connection in
``config.attributes["connection"]``; every migration runs in one transaction on it."""

from __future__ import annotations

from alembic import context

from pm.domain.models import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
