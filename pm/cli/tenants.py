"""``pm tenants (list|create|migrate|backup|move|restore|stats|webhooks)``: operator commands on
the tenant files.

Each parses its arguments, calls one ``TenantAdmin`` entry (pm.services.tenant_admin, built by
the wiring) and prints what it answered; a refusal is one ``pm: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pm.bus.pins import set_pin
from pm.config import ConfigError, Settings
from pm.domain.enums import ItemType, Status
from pm.errors import PmError
from pm.services.tenant_admin import PAGES_PER_STEP, BackupRefused, MoveRefused, TenantStats
from pm.wiring import build_tenant_admin

SettingsOf = Callable[[argparse.Namespace], Settings]


def add_parser(sub: Any, settings_of: SettingsOf) -> None:
    """The ``tenants`` command and its actions, each reading the settings with ``settings_of``."""
    tenants = sub.add_parser("tenants", help="tenant administration")
    tsub = tenants.add_subparsers(required=True, metavar="ACTION")

    def action(name: str, handler: Callable[[argparse.Namespace, Settings], int], **kw: Any) -> Any:
        parser = tsub.add_parser(name, **kw)
        parser.set_defaults(handler=lambda args: handler(args, settings_of(args)))
        return parser

    action("list", _list, help="tenants on disk")
    action("create", _create, help="create and migrate a tenant").add_argument("tenant_id")
    action("migrate", _migrate, help="migrate every tenant to head")
    backup = action("backup", _backup, help="consistent copy of a tenant, safe while serving")
    backup.add_argument("tenant_id")
    backup.add_argument("dest", type=Path, help="a file, or a folder for <id>-<UTC time>.db")
    backup.add_argument("--force", action="store_true", help="replace an existing file")
    backup.add_argument(
        "--pages-per-step", type=_positive_int, default=PAGES_PER_STEP, help="pages per step"
    )
    move = action("move", _move, help="move a tenant to another node (then `restore` there)")
    move.add_argument("tenant_id")
    move.add_argument("--to", required=True, dest="to_node", help="the node, as in PM_NODES")
    move.add_argument("--out", required=True, type=Path, help="where to write the copy")
    restore = action("restore", _restore, help="take in a tenant moved here by `move`")
    restore.add_argument("tenant_id")
    restore.add_argument("copy", type=Path, help="the file `pm tenants move` wrote")
    stats = action("stats", _stats, help="size, items, members, last activity per tenant")
    stats.add_argument("--json", action="store_true", help="one JSON document")
    hooks = action("webhooks", _webhooks, help="a tenant's webhooks: state, failures, cursor")
    hooks.add_argument("tenant_id")
    hooks.add_argument("--json", action="store_true", help="one JSON document")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _list(_args: argparse.Namespace, settings: Settings) -> int:
    admin = build_tenant_admin(settings, create_root=True)
    try:
        for tenant_id in admin.tenant_ids():
            print(tenant_id)
    finally:
        admin.close()
    return 0


def _create(args: argparse.Namespace, settings: Settings) -> int:
    admin = build_tenant_admin(settings, create_root=True)
    try:
        if not admin.create(args.tenant_id):
            print(f"pm: tenant {args.tenant_id} already exists", file=sys.stderr)
            return 1
        print(f"created tenant {args.tenant_id}")
    except PmError as exc:
        print(f"pm: {exc.message}", file=sys.stderr)
        return 2
    finally:
        admin.close()
    return 0


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    """Every tenant file to head; a broken file is reported and the rest still migrate."""
    admin = build_tenant_admin(settings, create_root=True)
    try:
        ids = admin.tenant_ids()
        failures = [
            f for t in tqdm(ids, desc="migrating", unit="tenant") if (f := admin.migrate(t))
        ]
    finally:
        admin.close()
    for failure in failures:
        print(
            f"pm: tenant {failure.tenant_id} failed to migrate: {failure.reason}", file=sys.stderr
        )
    return 1 if failures else 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    admin = build_tenant_admin(settings, create_root=False)
    try:
        result = admin.backup(
            args.tenant_id, args.dest, force=args.force, pages_per_step=args.pages_per_step
        )
    except BackupRefused as exc:
        print(f"pm: {exc}", file=sys.stderr)
        return 1
    except PmError as exc:
        print(f"pm: {exc.message}", file=sys.stderr)
        return 1
    finally:
        admin.close()
    print(
        f"backed up tenant {args.tenant_id} to {result.path} "
        f"({result.size_bytes} bytes, {result.pages} pages, integrity ok)"
    )
    return 0


def _move(args: argparse.Namespace, settings: Settings) -> int:
    """On the source node: fence, copy. The tenant answers UNAVAILABLE (retry) until the
    destination has restored it; no acknowledged write is left behind."""
    _require_cluster(settings)
    admin = build_tenant_admin(settings, create_root=False)
    try:
        result = admin.move_out(args.tenant_id, args.to_node, args.out)
    except (MoveRefused, BackupRefused) as exc:
        print(f"pm: {exc}", file=sys.stderr)
        return 1
    except PmError as exc:
        print(f"pm: {exc.message}", file=sys.stderr)
        return 1
    finally:
        admin.close()
    print(
        f"tenant {args.tenant_id} is fenced on {settings.node_id} and copied to {result.path} "
        f"({result.size_bytes} bytes). Next, on {args.to_node}: "
        f"pm tenants restore {args.tenant_id} <that file>"
    )
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    """On the destination node: place the copy, then pin the tenant here for every node."""
    redis_url = _require_cluster(settings)
    admin = build_tenant_admin(settings, create_root=True)
    try:
        path = admin.move_in(args.tenant_id, args.copy)
    except MoveRefused as exc:
        print(f"pm: {exc}", file=sys.stderr)
        return 1
    except PmError as exc:
        print(f"pm: {exc.message}", file=sys.stderr)
        return 1
    finally:
        admin.close()
    asyncio.run(set_pin(redis_url, args.tenant_id, settings.node_id))
    print(f"tenant {args.tenant_id} is served by {settings.node_id} from {path}")
    return 0


def _require_cluster(settings: Settings) -> str:
    """A move needs the ring (PM_NODES, PM_NODE_ID) and the Redis that holds the pins."""
    settings.require_node_identity()
    if not settings.nodes or not settings.redis_url:
        raise ConfigError("PM_NODES, PM_NODE_ID and PM_REDIS_URL must be set to move tenants")
    return settings.redis_url


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    """Every tenant's row is printed; the exit code is 1 if any file could not be read."""
    admin = build_tenant_admin(settings, create_root=False)
    try:
        rows = admin.stats()
    finally:
        admin.close()
    print(json.dumps(as_json(rows), indent=2) if args.json else format_table(rows))
    return 1 if any(row.error is not None for row in rows) else 0


def _webhooks(args: argparse.Namespace, settings: Settings) -> int:
    admin = build_tenant_admin(settings, create_root=False)
    try:
        hooks = admin.webhooks(args.tenant_id)
    except PmError as exc:
        print(f"pm: {exc.message}", file=sys.stderr)
        return 2
    finally:
        admin.close()
    if args.json:
        print(json.dumps({"webhooks": hooks}, indent=2))
        return 0
    for hook in hooks:
        state = "on" if hook["active"] else f"off ({hook['disabled_reason']})"
        scope = ",".join(hook["project_ids"]) or "all administered projects"
        events = ",".join(hook["event_types"]) or "all events"
        print(
            f"{hook['id']}  {state}  failures {hook['consecutive_failures']}  "
            f"cursor {hook['cursor_seq']}  {hook['url']}  [{scope}; {events}]"
        )
    if not hooks:
        print(f"tenant {args.tenant_id} has no webhooks")
    return 0


# -- the stats, for a terminal and as JSON ----------------------------------------------------


def as_json(rows: Iterable[TenantStats]) -> dict[str, Any]:
    """The ``--json`` document: sizes in bytes, times as ISO UTC and as Unix ms."""
    return {"tenants": [_row_json(row) for row in rows]}


def _row_json(row: TenantStats) -> dict[str, Any]:
    """A broken tenant's figures are null, not zero: nothing was counted."""
    figures: dict[str, Any] = {
        "items_by_type": row.items_by_type,
        "items_by_status": row.items_by_status,
        "members": row.members,
        "last_activity_at": row.last_activity_at,
        "last_activity_ms": row.last_activity_ms,
        "seq": row.seq,
    }
    if row.error is not None:
        figures = dict.fromkeys(figures)
    return {"tenant_id": row.tenant_id, "size_bytes": row.size_bytes, **figures, "error": row.error}


_TYPE_COLUMNS = (
    (ItemType.PROJECT, "PROJECTS"),
    (ItemType.EPIC, "EPICS"),
    (ItemType.STORY, "STORIES"),
    (ItemType.TASK, "TASKS"),
)
_HEADER = (
    "TENANT",
    "SIZE",
    *(title for _, title in _TYPE_COLUMNS),
    "DONE",
    "MEMBERS",
    "SEQ",
    "LAST ACTIVITY (UTC)",
)


def format_table(rows: Iterable[TenantStats]) -> str:
    """Aligned columns for a terminal; a broken tenant shows its error after its size."""
    cells = [_HEADER, *(_row_cells(row) for row in rows)]
    widths = _widths(cells)
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)).rstrip()
        for line in cells
    )


def _widths(lines: list[tuple[str, ...]]) -> list[int]:
    """Column widths; the error message of a broken row runs on past the columns."""
    widths = [0] * len(_HEADER)
    for line in lines:
        aligned = line if len(line) == len(_HEADER) else line[:-1]
        for i, cell in enumerate(aligned):
            widths[i] = max(widths[i], len(cell))
    return widths


def _row_cells(row: TenantStats) -> tuple[str, ...]:
    if row.error is not None:
        return (row.tenant_id, _human_size(row.size_bytes), f"error: {row.error}")
    by_type = tuple(str(row.items_by_type.get(t.value, 0)) for t, _ in _TYPE_COLUMNS)
    done = str(row.items_by_status.get(Status.DONE.value, 0))
    last = row.last_activity_at or "-"
    return (
        row.tenant_id,
        _human_size(row.size_bytes),
        *by_type,
        done,
        str(row.members),
        str(row.seq),
        last,
    )


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
