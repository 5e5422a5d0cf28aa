"""``pm tenants list``: the tenants on disk, from the data folder alone. No database is opened
and nothing of the wiring is imported, so the command starts about as fast as ``pm --help``
(pm.cli.tenant_commands, which every other tenant action runs, loads SQLAlchemy and Alembic)."""

from __future__ import annotations

import argparse

from pm.cli.options import settings_of
from pm.tenancy.ids import tenant_ids_on_disk


def list_command(args: argparse.Namespace) -> int:
    for tenant_id in tenant_ids_on_disk(settings_of(args).data_dir / "tenants"):
        print(tenant_id)
    return 0
