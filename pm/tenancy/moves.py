"""Moving a tenant's file between nodes, on SQLite's own means.

The source file is *fenced* first: in one ``BEGIN IMMEDIATE`` transaction (it waits for the write
in flight, if any) its header's ``user_version`` is set to ``MOVED_AWAY``, and every write
transaction of pm checks that mark right after it takes the write lock (pm.tenancy.manager), so
from that commit on no write can land on the source, whichever process or worker tries. The copy
is then taken with the online backup API (pm.tenancy.backup): it holds every acknowledged write.
On the destination the copy is checked, unmarked and moved into place under the tenant's name.
The source file is left where it was, fenced, for the operator to remove once the move is
confirmed; a fenced file answers UNAVAILABLE (or WRONG_NODE once the node knows the new owner).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from pm.errors import Unavailable
from pm.tenancy.backup import sqlite_reason
from pm.tenancy.ids import tenant_db_path, validate_tenant_id

MOVED_AWAY = 0x4D4F5645  # "MOVE"; tenant files otherwise keep user_version 0


class MoveRefused(Exception):
    """A step of a move was refused or failed; ``str`` says why."""


class TenantMovedAway(Unavailable):
    def __init__(self) -> None:
        super().__init__("the tenant has moved to another node; retry shortly")


def refuse_if_moved(conn: sqlite3.Connection) -> None:
    """Inside a write transaction: refuse if the file was fenced by a move."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == MOVED_AWAY:
        raise TenantMovedAway()


def fence(tenants_root: Path, tenant_id: str, *, busy_timeout_ms: int) -> Path:
    """Mark the tenant's file moved away, once the write in flight (if any) has committed."""
    path = _existing(tenants_root, tenant_id)
    _set_mark(path, MOVED_AWAY, busy_timeout_ms)
    return path


def unfence(path: Path, *, busy_timeout_ms: int) -> None:
    """Clear the mark: a copy about to be served, or a source whose move was abandoned."""
    _set_mark(path, 0, busy_timeout_ms)


def place(tenants_root: Path, tenant_id: str, copy: Path, *, busy_timeout_ms: int) -> Path:
    """Put a moved tenant's copy in place on this node: checked and unmarked in a hidden file
    of the tenant's folder, then renamed to ``main.db``. An existing tenant is never replaced."""
    target = tenant_db_path(tenants_root, validate_tenant_id(tenant_id))
    if target.exists():
        raise MoveRefused(f"tenant {tenant_id} already exists on this node ({target})")
    if not copy.is_file():
        raise MoveRefused(f"{copy} is not a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".main.db.", suffix=".arriving", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        shutil.copyfile(copy, partial)
        _check(partial, tenant_id)
        unfence(partial, busy_timeout_ms=busy_timeout_ms)
        os.link(partial, target)  # fails if the name appeared meanwhile
    except sqlite3.Error as exc:
        reason = sqlite_reason(exc)
        raise MoveRefused(f"tenant {tenant_id}: the copy is unusable ({reason})") from None
    except FileExistsError:
        raise MoveRefused(f"tenant {tenant_id} already exists on this node") from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def _existing(tenants_root: Path, tenant_id: str) -> Path:
    path = tenant_db_path(tenants_root, validate_tenant_id(tenant_id))
    if not path.is_file():
        raise MoveRefused(f"tenant {tenant_id} does not exist on this node")
    return path


def _set_mark(path: Path, value: int, busy_timeout_ms: int) -> None:
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"PRAGMA user_version={int(value)}")
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise MoveRefused(f"{path}: could not be marked ({sqlite_reason(exc)})") from None


def _check(path: Path, tenant_id: str) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if verdict != ["ok"]:
        raise MoveRefused(f"tenant {tenant_id}: the copy failed integrity_check ({verdict[0]})")
