"""A consistent copy of one live tenant file, taken with SQLite's online backup API.

The copy is one snapshot: the source connection opens a read transaction before the first step
and keeps it until the last, so every step reads the same WAL snapshot. Without it, each commit
by the server between two steps would restart the backup from page one, and a busy tenant could
keep the backup from ever finishing. In WAL mode that read transaction blocks no writer; it only
holds checkpoints back (the WAL grows) until the copy is done.

The pages go to a hidden file beside the destination, which is converted to a single rollback-
journal file, marked as a copy (pm.tenancy.marks: putting it in service starts a new feed epoch),
checked with ``PRAGMA integrity_check`` and only then moved into place: a broken or interrupted
copy never takes the destination's name, and ``--force`` never destroys the old file before the
new one is proven good. Each backup is recorded beside the tenant (``last-backup.json``: when,
where, how big), which is what the backup-age metric reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pm.tenancy.files import FILE_MODE, integrity_problem, sqlite_reason
from pm.tenancy.ids import tenant_db_path, validate_tenant_id
from pm.tenancy.marks import COPY

LAST_BACKUP = "last-backup.json"

PAGES_PER_STEP = 256
PAUSE_SECONDS = 0.002
BUSY_TIMEOUT_MS = 5000


class BackupRefused(Exception):
    """The backup was not attempted or did not produce a sound copy; ``str`` says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    pages: int


def backup_tenant(
    tenants_root: Path,
    tenant_id: str,
    dest: Path,
    *,
    force: bool = False,
    pages_per_step: int = PAGES_PER_STEP,
    pause_seconds: float = PAUSE_SECONDS,
) -> BackupResult:
    """Copy the tenant's ``main.db`` to ``dest`` (a file, or an existing folder to put it in).

    Raises ``InvalidTenantId`` for a malformed id and ``BackupRefused`` for anything else.
    """
    source = tenant_db_path(tenants_root, validate_tenant_id(tenant_id))
    if not source.is_file():
        raise BackupRefused(f"tenant {tenant_id} does not exist")
    target = _target_path(dest, tenant_id)
    _check_target(target, source, force=force)
    partial = _partial_file(target)
    try:
        pages = _copy(source, partial, tenant_id, pages_per_step, pause_seconds)
        _publish(partial, target, force=force)
    finally:
        _remove(partial)
    result = BackupResult(path=target, size_bytes=target.stat().st_size, pages=pages)
    _record(source.parent, result)
    return result


def _record(tenant_dir: Path, result: BackupResult) -> None:
    """``last-backup.json`` beside the tenant, replaced whole (a reader never sees half)."""
    record = {
        "at_ms": int(time.time() * 1000),
        "path": str(result.path.resolve()),
        "size_bytes": result.size_bytes,
    }
    fd, name = tempfile.mkstemp(prefix=f".{LAST_BACKUP}.", dir=tenant_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(record, file)
    os.chmod(name, FILE_MODE)
    os.replace(name, tenant_dir / LAST_BACKUP)


def last_backup_ms(tenant_dir: Path) -> int | None:
    """When the tenant was last backed up (Unix ms), or None if never (or unreadable)."""
    try:
        record = json.loads((tenant_dir / LAST_BACKUP).read_text(encoding="utf-8"))
        return int(record["at_ms"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _target_path(dest: Path, tenant_id: str) -> Path:
    """A folder gets a new file named for the tenant and the UTC time of the backup."""
    if dest.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return dest / f"{tenant_id}-{stamp}.db"
    return dest


def _check_target(target: Path, source: Path, *, force: bool) -> None:
    if not target.parent.is_dir():
        raise BackupRefused(f"folder {target.parent} does not exist")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupRefused(f"{target} is the tenant's own database file")
    if target.exists() and not force:
        raise BackupRefused(f"{target} already exists (use --force to replace it)")


def _partial_file(target: Path) -> Path:
    """An empty hidden file in the destination folder, so the final move is a rename."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as exc:
        raise BackupRefused(f"cannot write in {target.parent} ({exc.strerror})") from None
    os.close(fd)
    return Path(name)


def _copy(source: Path, partial: Path, tenant_id: str, pages_per_step: int, pause: float) -> int:
    """Back up ``source`` into ``partial`` and check it; return the copy's page count."""
    try:
        with (
            contextlib.closing(_open_source(source)) as src,
            contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as dst,
        ):
            _snapshot_backup(src, dst, pages_per_step, pause)
            return _finish_copy(dst, tenant_id)
    except sqlite3.Error as exc:
        raise BackupRefused(f"tenant {tenant_id}: backup failed ({sqlite_reason(exc)})") from None


def _open_source(source: Path) -> sqlite3.Connection:
    """Read-write mode only so that, when it is the last connection, closing it checkpoints and
    removes the -wal/-shm files it made; ``mode=rw`` never creates a file, ``query_only``
    forbids writes."""
    conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA query_only=ON")
    return conn


def _snapshot_backup(
    src: sqlite3.Connection, dst: sqlite3.Connection, pages_per_step: int, pause: float
) -> None:
    """Copy in steps inside one read transaction on the source (see the module docstring)."""
    src.execute("BEGIN")
    try:
        src.execute("SELECT count(*) FROM sqlite_schema").fetchone()  # the snapshot starts here
        src.backup(dst, pages=pages_per_step, progress=lambda *_: time.sleep(pause))
    finally:
        src.execute("COMMIT")


def _finish_copy(dst: sqlite3.Connection, tenant_id: str) -> int:
    """A single self-contained file (no -wal beside it), marked as a copy, proven sound by
    integrity_check."""
    dst.execute("PRAGMA journal_mode=DELETE")
    dst.execute(f"PRAGMA user_version={COPY}")
    problem = integrity_problem(dst)
    if problem is not None:
        raise BackupRefused(f"tenant {tenant_id}: the copy failed integrity_check ({problem})")
    return int(dst.execute("PRAGMA page_count").fetchone()[0])


def _publish(partial: Path, target: Path, *, force: bool) -> None:
    """Move the checked copy into place; without ``force`` a file that appeared meanwhile wins."""
    try:
        if force:
            os.replace(partial, target)
        else:
            _place_new(partial, target)
    except FileExistsError:
        raise BackupRefused(f"{target} already exists (use --force to replace it)") from None
    except OSError as exc:
        raise BackupRefused(f"cannot write {target} ({exc.strerror})") from None


def _place_new(partial: Path, target: Path) -> None:
    """A hard link fails if the name is taken, unlike a rename; where the file system has no
    hard links, a rename after one more look is the best left."""
    try:
        os.link(partial, target)
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(partial, target)


def _remove(partial: Path) -> None:
    for leftover in (partial, *(Path(f"{partial}{s}") for s in ("-journal", "-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
