"""Moving a tenant's file between nodes, on SQLite's own means.

The source file is *fenced* first: in one ``BEGIN IMMEDIATE`` transaction (it waits for the write
in flight, if any) its header's state is set to ``MOVED_AWAY`` (pm.tenancy.marks), and every write
transaction of pm checks that state right after it takes the write lock (pm.tenancy.manager), so
from that commit on no write can land on the source, whichever process or worker tries. The copy
is then taken with the online backup API (pm.tenancy.backup): it holds every acknowledged write,
and it is put back in service state (the source's feed epoch), since the history goes on from it
rather than beside it. On the destination ``pm tenants restore`` puts it in place
(pm.tenancy.restore): a copy in service state, arriving where the tenant does not exist, goes on
with the same feed, so clients catch up exactly. The source file is left where it was, fenced,
for the operator to remove once the move is confirmed; a fenced file answers UNAVAILABLE (or
WRONG_NODE once the node knows the new owner).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from pm.tenancy.epochs import current_epoch
from pm.tenancy.files import sqlite_reason
from pm.tenancy.ids import tenant_db_path, validate_tenant_id
from pm.tenancy.marks import MOVED_AWAY, MarkRefused, set_state


class MoveRefused(Exception):
    """A step of a move was refused or failed; ``str`` says why."""


def fence(tenants_root: Path, tenant_id: str, *, busy_timeout_ms: int) -> Path:
    """Mark the tenant's file moved away, once the write in flight (if any) has committed."""
    path = tenant_db_path(tenants_root, validate_tenant_id(tenant_id))
    if not path.is_file():
        raise MoveRefused(f"tenant {tenant_id} does not exist on this node")
    try:
        set_state(path, MOVED_AWAY, busy_timeout_ms=busy_timeout_ms)
    except MarkRefused as exc:
        raise MoveRefused(str(exc)) from None
    return path


def in_service(path: Path, *, busy_timeout_ms: int) -> None:
    """Put a file back in service, in its own feed epoch: a copy about to be served where the
    history goes on from it, or a source whose move was abandoned."""
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"PRAGMA user_version={current_epoch(conn).number}")
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise MoveRefused(f"{path}: could not be put in service ({sqlite_reason(exc)})") from None
