"""``pm tenants list``: the tenants on disk (pm.services.tenant_directory). Nothing of the wiring
is imported, so the command starts about as fast as ``pm --help`` (pm.cli.tenant_commands, which
every other tenant action runs, loads SQLAlchemy and Alembic)."""

from __future__ import annotations

import argparse

from pm.cli.options import settings_of
from pm.services.tenant_directory import tenants_in


def list_command(args: argparse.Namespace) -> int:
    for tenant_id in tenants_in(settings_of(args).data_dir):
        print(tenant_id)
    return 0
