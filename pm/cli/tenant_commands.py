"""What each ``pm tenants`` action does (declared in pm.cli.tenants): parse, call one
``TenantAdmin`` entry (pm.services.tenant_admin, built by the wiring), print the answer.

Exit status: 0 done; 1 refused or something broken (named on stderr, one ``pm: ...`` line
each); 2 the command itself is wrong (a bad id, a missing argument, a configuration error).
What a restore or a delete must tell the running server is delivered through the control
sockets of every pm process on the data folder (pm.control).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pm.cli.options import settings_of
from pm.config import ConfigError, Settings
from pm.control import Answer, evict_everywhere
from pm.domain.enums import ItemType, Status
from pm.errors import PmError
from pm.services.tenant_admin import (
    BackupRefused,
    DeleteRefused,
    DumpRefused,
    MoveRefused,
    RestoreRefused,
    TenantAdmin,
    TenantStats,
)
from pm.wiring import build_tenant_admin

Refusals = (BackupRefused, DeleteRefused, DumpRefused, MoveRefused, RestoreRefused)


def _fail(message: str) -> int:
    print(f"pm: {message}", file=sys.stderr)
    return 1


@contextlib.contextmanager
def _admin(
    args: argparse.Namespace, *, create_root: bool
) -> Iterator[tuple[TenantAdmin, Settings]]:
    settings = settings_of(args)
    admin = build_tenant_admin(settings, create_root=create_root)
    try:
        yield admin, settings
    finally:
        admin.close()


def _run_dir(settings: Settings) -> Path:
    return settings.run_dir or settings.data_dir / "run"


def _evictor(settings: Settings) -> Any:
    """Ask every running process to evict a tenant; report the ones that did not answer."""

    def evict(tenant_id: str) -> int:
        answers = evict_everywhere(_run_dir(settings), tenant_id)
        for answer in answers:
            if not answer.ok:
                print(
                    f"pm: warning: {_who(answer)} did not evict it: {answer.error}", file=sys.stderr
                )
        return sum(1 for answer in answers if answer.ok)

    return evict


def _who(answer: Answer) -> str:
    return f"process {answer.pid}" if answer.pid else f"the process behind {answer.socket.name}"


# -- list, create, migrate, check ------------------------------------------------------------


def _ids_from(args: argparse.Namespace) -> list[str]:
    ids = list(args.tenant_ids)
    if args.from_file is not None:
        source = sys.stdin if str(args.from_file) == "-" else args.from_file.open(encoding="utf-8")
        with contextlib.closing(source) if source is not sys.stdin else contextlib.nullcontext():
            ids += [line.strip() for line in source if line.strip()]
    return list(dict.fromkeys(ids))


def create_command(args: argparse.Namespace) -> int:
    """One or many tenants, in one process (2,000 of them take seconds, not a start each)."""
    ids = _ids_from(args)
    if not ids:
        raise ConfigError("name the tenants to create (IDs, or --from FILE)")
    created = existing = invalid = 0
    with _admin(args, create_root=True) as (admin, _settings):
        for tenant_id in ids:
            try:
                outcome = admin.create(tenant_id)
            except PmError as exc:
                invalid += 1
                print(f"pm: {tenant_id!r}: {exc.message}", file=sys.stderr)
                continue
            if outcome == "created":
                created += 1
                if len(ids) == 1:
                    print(f"created tenant {tenant_id}")
            else:
                existing += 1
                why = "was deleted (restore brings it back)" if outcome == "deleted" else "exists"
                _fail(f"tenant {tenant_id} already {why}")
    if len(ids) > 1:
        print(f"{created} created, {existing} already existed, {invalid} refused")
    return 2 if invalid else 1 if existing else 0


def migrate_command(args: argparse.Namespace) -> int:
    """Every tenant file checked and brought to head; a broken one is reported, the rest go
    on; the summary line says how many were at head, upgraded, failed."""
    from tqdm import tqdm

    with _admin(args, create_root=False) as (admin, _settings):
        ids = admin.tenant_ids()
        outcomes = [admin.migrate(t) for t in tqdm(ids, desc="migrating", unit="tenant")]
    failed = [o for o in outcomes if o.outcome == "failed"]
    for failure in failed:
        _fail(f"tenant {failure.tenant_id} failed to migrate: {failure.reason}")
    at_head = sum(1 for o in outcomes if o.outcome == "at head")
    upgraded = sum(1 for o in outcomes if o.outcome == "upgraded")
    print(f"{at_head} at head, {upgraded} upgraded, {len(failed)} failed")
    return 1 if failed else 0


def check_command(args: argparse.Namespace) -> int:
    """Read-only, safe while serving: ``integrity_check``, revision and state of each."""
    if bool(args.tenant_ids) == bool(args.all):
        raise ConfigError("name the tenants to check, or --all (not both)")
    with _admin(args, create_root=False) as (admin, _settings):
        ids = admin.tenant_ids() if args.all else list(dict.fromkeys(args.tenant_ids))
        broken = []
        for tenant_id in ids:
            result = admin.check(tenant_id)
            if result.problem is None:
                print(f"{tenant_id}: ok (revision {result.revision})")
            else:
                broken.append(tenant_id)
                _fail(f"tenant {tenant_id} is broken: {result.problem}")
    print(f"{len(ids) - len(broken)} ok, {len(broken)} broken" + _names(broken))
    return 1 if broken else 0


def _names(ids: list[str]) -> str:
    return f": {', '.join(ids)}" if ids else ""


# -- backup, restore, delete, evict ----------------------------------------------------------


def backup_command(args: argparse.Namespace) -> int:
    if args.all:
        if len(args.targets) != 1:
            raise ConfigError("pm tenants backup --all DIR: one folder, no tenant id")
        return _backup_all(args, Path(args.targets[0]))
    if len(args.targets) != 2:
        raise ConfigError("pm tenants backup ID DEST (or --all DIR)")
    tenant_id, dest = args.targets[0], Path(args.targets[1])
    with _admin(args, create_root=False) as (admin, _settings):
        try:
            result = admin.backup(
                tenant_id, dest, force=args.force, pages_per_step=args.pages_per_step
            )
        except BackupRefused as exc:
            return _fail(str(exc))
        except PmError as exc:
            return _fail(exc.message)
    print(
        f"backed up tenant {tenant_id} to {result.path} "
        f"({result.size_bytes} bytes, {result.pages} pages, integrity ok)"
    )
    return 0


def _backup_all(args: argparse.Namespace, folder: Path) -> int:
    failed = []
    done = 0
    with _admin(args, create_root=False) as (admin, _settings):
        try:
            for outcome in admin.backup_all(folder, pages_per_step=args.pages_per_step):
                if outcome.result is None:
                    failed.append(outcome.tenant_id)
                    _fail(f"tenant {outcome.tenant_id} was not backed up: {outcome.reason}")
                else:
                    done += 1
                    print(f"{outcome.tenant_id}: {outcome.result.path}")
        except BackupRefused as exc:
            return _fail(str(exc))
    print(f"{done} backed up, {len(failed)} failed" + _names(failed))
    return 1 if failed else 0


def restore_command(args: argparse.Namespace) -> int:
    """Checked, migrated, in place while the server runs; pinned here in a cluster."""
    settings = settings_of(args)
    redis_url = _cluster_redis(settings)
    with _admin(args, create_root=True) as (admin, _settings):
        try:
            result = admin.restore(args.tenant_id, args.copy, _evictor(settings))
        except RestoreRefused as exc:
            return _fail(str(exc))
        except PmError as exc:
            return _fail(exc.message)
    if redis_url is not None:
        from pm.bus.pins import set_pin

        asyncio.run(set_pin(redis_url, args.tenant_id, settings.node_id))
    print(_restored(args.tenant_id, result, settings))
    return 0


def _restored(tenant_id: str, result: Any, settings: Settings) -> str:
    where = f" on {settings.node_id}" if settings.node_id else ""
    lines = [f"restored tenant {tenant_id}{where} from revision {result.revision} ({result.path})"]
    if result.epoch is None:
        lines.append("  the feed goes on from the copy's last seq (a move: clients catch up)")
    else:
        lines.append(
            f"  feed epoch {result.epoch.number}: changes from seq {result.epoch.base_seq + 1}; "
            "a client holding an older seq is answered RESYNC_REQUIRED"
        )
    if result.replaced:
        lines.append(
            f"  the live tenant was replaced; {result.evicted} running process(es) evicted it"
        )
    return "\n".join(lines)


def _cluster_redis(settings: Settings) -> str | None:
    """In a cluster a restored tenant is pinned to this node (Redis); alone, nothing to pin."""
    if not settings.nodes:
        return None
    settings.require_node_identity()
    if not settings.redis_url:
        raise ConfigError("PM_REDIS_URL must be set in a cluster (PM_NODES): it holds the pins")
    return settings.redis_url


def delete_command(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    with _admin(args, create_root=False) as (admin, _settings):
        try:
            result = admin.delete(args.tenant_id, purge=args.purge, evict=_evictor(settings))
        except (DeleteRefused, BackupRefused) as exc:
            return _fail(str(exc))
        except PmError as exc:
            return _fail(exc.message)
    if result.kept is not None:
        print(
            f"deleted tenant {args.tenant_id}; its data is kept in {result.kept} "
            f"(pm tenants restore {args.tenant_id} <that file> brings it back)"
        )
    else:
        removed = f", and {len(result.purged)} kept copies" if result.purged else ""
        print(f"purged tenant {args.tenant_id}: its data is removed{removed}")
    return 0


def evict_command(args: argparse.Namespace) -> int:
    """Every running process on this data folder closes the tenant (its files, its sockets:
    clients reconnect and resync); the next request opens it afresh."""
    settings = settings_of(args)
    answers = evict_everywhere(_run_dir(settings), args.tenant_id)
    if not answers:
        print(f"no pm process runs on {settings.data_dir}: none holds tenant {args.tenant_id}")
        return 0
    for answer in answers:
        if answer.ok:
            state = "closed it" if answer.was_open else "did not have it open"
            print(f"process {answer.pid}: {state}")
        else:
            _fail(f"{_who(answer)}: {answer.error}")
    return 0 if all(answer.ok for answer in answers) else 1


def move_command(args: argparse.Namespace) -> int:
    """On the source node: fence, copy. The tenant answers UNAVAILABLE (retry) until the
    destination has restored it; no acknowledged write is left behind."""
    settings = settings_of(args)
    settings.require_node_identity()
    if not settings.nodes or not settings.redis_url:
        raise ConfigError("PM_NODES, PM_NODE_ID and PM_REDIS_URL must be set to move tenants")
    with _admin(args, create_root=False) as (admin, _settings):
        try:
            result = admin.move_out(args.tenant_id, args.to_node, args.out)
        except (MoveRefused, BackupRefused) as exc:
            return _fail(str(exc))
        except PmError as exc:
            return _fail(exc.message)
    print(
        f"tenant {args.tenant_id} is fenced on {settings.node_id} and copied to {result.path} "
        f"({result.size_bytes} bytes). Next, on {args.to_node}: "
        f"pm tenants restore {args.tenant_id} <that file>"
    )
    return 0


# -- export, import --------------------------------------------------------------------------


def export_command(args: argparse.Namespace) -> int:
    with _admin(args, create_root=False) as (admin, _settings):
        try:
            result = admin.export(args.tenant_id, args.out or sys.stdout)
        except DumpRefused as exc:
            return _fail(str(exc))
        except PmError as exc:
            return _fail(exc.message)
    where = f" to {args.out}" if args.out else ""
    print(f"exported tenant {args.tenant_id}{where}: {result.rows} rows", file=sys.stderr)
    return 0


def import_command(args: argparse.Namespace) -> int:
    source: IO[str]
    with _admin(args, create_root=True) as (admin, _settings):
        try:
            if args.dump == "-":
                result = admin.import_dump(args.tenant_id, sys.stdin)
            else:
                with Path(args.dump).open(encoding="utf-8") as source:
                    result = admin.import_dump(args.tenant_id, source)
        except OSError as exc:
            return _fail(f"{args.dump}: {exc.strerror}")
        except DumpRefused as exc:
            return _fail(str(exc))
        except PmError as exc:
            return _fail(exc.message)
    print(f"imported tenant {args.tenant_id}: {result.rows} rows")
    return 0


# -- stats -----------------------------------------------------------------------------------


def stats_command(args: argparse.Namespace) -> int:
    """Every tenant's row is printed; the exit code is 1 if any file could not be read."""
    with _admin(args, create_root=False) as (admin, _settings):
        rows = admin.stats()
    print(json.dumps(as_json(rows), indent=2) if args.json else format_table(rows))
    return 1 if any(row.error is not None for row in rows) else 0


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
        "epoch": row.epoch,
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
    "EPOCH",
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
        str(row.epoch),
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


def webhooks_command(args: argparse.Namespace) -> int:
    """A tenant's webhooks: on or off (and why), failures in a row, the cursor, the scope."""
    try:
        with _admin(args, create_root=False) as (admin, _):
            hooks = admin.webhooks(args.tenant_id)
    except PmError as exc:
        print(f"pm: {exc.message}", file=sys.stderr)
        return 2
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
