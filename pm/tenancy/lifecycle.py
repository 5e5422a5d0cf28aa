"""A tenant's end: ``pm tenants delete ID [--purge]``, and the tombstone that keeps it ended.

Deleting fences the live file (state DELETING: from that commit on every process answers the
tenant as deleted), asks the running processes to evict it, then, unless ``purge``, takes a
consistent copy of it into ``<data dir>/deleted/<id>-<UTC time>.db`` (the backup API, checked,
0600), leaves a tombstone in the tenant's folder and removes the live files. The tombstone
(``DELETED``: when, the copy, the last seq) keeps the tenant refused as deleted even with
auto-provisioning on, so a token that outlives its tenant can't bring back an empty one; ``pm
tenants restore ID FILE`` (of that copy, or any other) brings it back and removes the tombstone.
``--purge`` keeps no copy and removes those of earlier soft deletes too: nothing of the tenant's
data is left on this node but the tombstone.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pm.tenancy.epochs import feed_seq
from pm.tenancy.files import FILE_MODE, open_read_only, private_dir, sqlite_reason
from pm.tenancy.ids import tenant_db_path, validate_tenant_id
from pm.tenancy.marks import DELETING, MarkRefused, set_state

TOMBSTONE = "DELETED"
LIVE_FILES = ("main.db", "main.db-wal", "main.db-shm", "main.db.migrate.lock", "last-backup.json")

Evict = Callable[[str], int]
CopyOut = Callable[[str, Path], Path]  # (tenant id, destination) -> the checked copy


class DeleteRefused(Exception):
    """The tenant was not deleted; ``str`` says why."""


@dataclass(frozen=True)
class DeleteResult:
    kept: Path | None  # the copy in the deleted folder; None with purge
    purged: list[Path]  # copies of earlier soft deletes that purge removed
    seq: int
    evicted: int


def is_deleted(tenant_dir: Path) -> bool:
    return (tenant_dir / TOMBSTONE).is_file()


def tombstone_seq(tenant_dir: Path) -> int:
    """The last seq of a deleted tenant (0 if it was never deleted or the tombstone is unclear)."""
    try:
        return int(json.loads((tenant_dir / TOMBSTONE).read_text(encoding="utf-8"))["seq"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def forget_deletion(tenant_dir: Path) -> None:
    (tenant_dir / TOMBSTONE).unlink(missing_ok=True)


def delete_tenant(
    tenants_root: Path,
    tenant_id: str,
    *,
    deleted_root: Path,
    purge: bool,
    busy_timeout_ms: int,
    evict: Evict,
    copy_out: CopyOut,
) -> DeleteResult:
    """Delete a live tenant (the module docstring); ``purge`` alone also clears what an
    earlier delete kept."""
    path = tenant_db_path(tenants_root, validate_tenant_id(tenant_id))
    if not path.is_file():
        if purge and is_deleted(path.parent):
            return DeleteResult(None, _purge_copies(deleted_root, tenant_id), 0, 0)
        raise DeleteRefused(f"tenant {tenant_id} does not exist")
    try:
        previous = set_state(path, DELETING, busy_timeout_ms=busy_timeout_ms)
    except MarkRefused as exc:
        raise DeleteRefused(str(exc)) from None
    try:
        evicted = evict(tenant_id)
        seq = _seq(path)
        kept = None if purge else copy_out(tenant_id, _kept_path(deleted_root, tenant_id))
    except BaseException:
        with contextlib.suppress(MarkRefused):
            set_state(path, previous, busy_timeout_ms=busy_timeout_ms)
        raise
    _write_tombstone(path.parent, kept, seq)
    for name in LIVE_FILES:
        (path.parent / name).unlink(missing_ok=True)
    purged = _purge_copies(deleted_root, tenant_id) if purge else []
    return DeleteResult(kept, purged, seq, evicted)


def _seq(path: Path) -> int:
    try:
        with contextlib.closing(open_read_only(path)) as conn:
            return feed_seq(conn)
    except sqlite3.DatabaseError as exc:
        raise DeleteRefused(f"{path} can't be read ({sqlite_reason(exc)})") from None


def _kept_path(deleted_root: Path, tenant_id: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return private_dir(deleted_root) / f"{tenant_id}-{stamp}.db"


def _write_tombstone(tenant_dir: Path, kept: Path | None, seq: int) -> None:
    record = {
        "deleted_at_ms": int(time.time() * 1000),
        "kept": None if kept is None else str(kept.resolve()),
        "seq": seq,
    }
    fd, name = tempfile.mkstemp(prefix=f".{TOMBSTONE}.", dir=tenant_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(record, file)
    os.chmod(name, FILE_MODE)
    os.replace(name, tenant_dir / TOMBSTONE)


def _purge_copies(deleted_root: Path, tenant_id: str) -> list[Path]:
    """Copies kept by earlier soft deletes of this tenant (``<id>-<UTC time>.db``)."""
    if not deleted_root.is_dir():
        return []
    removed = []
    for copy in sorted(deleted_root.glob(f"{tenant_id}-*.db")):
        stamp = copy.name[len(tenant_id) + 1 : -len(".db")]
        if len(stamp) == 16 and stamp.endswith("Z") and stamp[8] == "T":
            copy.unlink()
            removed.append(copy)
    return removed
