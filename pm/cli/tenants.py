"""``pm tenants ...``: the operator's commands on tenant files. This module only declares them
(argparse alone, so ``pm --help`` stays fast); pm.cli.tenant_commands runs them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

COMMANDS = "pm.cli.tenant_commands"
PAGES_PER_STEP = 256  # pm.tenancy.backup's default; tests/test_cli_startup.py holds them equal


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(sub: Any) -> None:
    tenants = sub.add_parser("tenants", help="tenant administration")
    tsub = tenants.add_subparsers(required=True, metavar="ACTION")

    def action(name: str, help: str) -> Any:
        parser = tsub.add_parser(name, help=help, description=help)
        parser.set_defaults(handler=f"{COMMANDS}:{name.replace('-', '_')}_command")
        return parser

    listing = action("list", "tenants on disk")
    listing.set_defaults(handler="pm.cli.tenant_listing:list_command")  # no database, fast
    create = action("create", "create and migrate tenants (one, or many at once)")
    create.add_argument("tenant_ids", nargs="*", metavar="ID")
    create.add_argument(
        "--from", dest="from_file", type=Path, help="a file of tenant ids, one a line (- stdin)"
    )
    action("migrate", "check every tenant's pages and migrate it to head; a summary line")
    check = action("check", "integrity, revision and state of tenants; exit 1 naming broken ones")
    check.add_argument("tenant_ids", nargs="*", metavar="ID")
    check.add_argument("--all", action="store_true", help="every tenant on disk")
    backup = action("backup", "consistent copy of a tenant (or --all into a folder), while serving")
    backup.add_argument("targets", nargs="+", metavar="ID DEST | --all DIR")
    backup.add_argument("--all", action="store_true", help="every tenant, into the folder DIR")
    backup.add_argument("--force", action="store_true", help="replace an existing file")
    backup.add_argument(
        "--pages-per-step", type=_positive_int, default=PAGES_PER_STEP, help="pages per step"
    )
    stats = action("stats", "size, items, members, seq, feed epoch, last activity per tenant")
    stats.add_argument("--json", action="store_true", help="one JSON document")
    restore = action(
        "restore", "put a backup (or a move's copy) in a tenant's place, while serving"
    )
    restore.add_argument("tenant_id", metavar="ID")
    restore.add_argument("copy", type=Path, metavar="FILE", help="a backup or a move's copy")
    delete = action("delete", "delete a tenant: its file moved aside and the tenant refused")
    delete.add_argument("tenant_id", metavar="ID")
    delete.add_argument("--purge", action="store_true", help="remove the data, keep no copy")
    export = action("export", "every entity of a tenant as NDJSON (readable without pm)")
    export.add_argument("tenant_id", metavar="ID")
    export.add_argument("--out", type=Path, help="a new file (default: standard output)")
    imported = action("import", "a new tenant from an export")
    imported.add_argument("tenant_id", metavar="ID")
    imported.add_argument("dump", metavar="FILE", help="the export (- for standard input)")
    evict = action("evict", "close a tenant in every running pm process on this data folder")
    evict.add_argument("tenant_id", metavar="ID")
    hooks = action("webhooks", "a tenant's webhooks: state, failures, cursor")
    hooks.add_argument("tenant_id", metavar="ID")
    hooks.add_argument("--json", action="store_true", help="one JSON document")
    move = action("move", "move a tenant to another node (then `restore` there)")
    move.add_argument("tenant_id", metavar="ID")
    move.add_argument("--to", required=True, dest="to_node", help="the node, as in PM_NODES")
    move.add_argument("--out", required=True, type=Path, help="where to write the copy")
