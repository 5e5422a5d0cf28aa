"""What a tenant file's SQLite header says about it: whose it is and what state it is in.

Two header fields, both made by SQLite for applications (and copied with every page by the
backup API, so a copy carries them):

    application_id   PM_APPLICATION_ID on every pm tenant file (migration 0003); anything else
                     but 0 (a file from before 0003) is another program's database
    user_version     the file's state:
                       0 or a small number   in service, in that feed epoch (pm.tenancy.epochs)
                       MOVED_AWAY            fenced by ``pm tenants move``: no write lands here
                       RESTORING             fenced by ``pm tenants restore``: nothing is served
                                             from it until the restored copy is in place
                       COPY                  a backup copy: putting it in service starts a new
                                             feed epoch, since the live history went on without it
                       DELETING              fenced by ``pm tenants delete``: refused as deleted

Every transaction of the server reads ``user_version`` once (``check_in_service``), so a fence
set by another process, or a file replaced under an open tenant, is seen at the next request.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from pm.errors import Unauthenticated, Unavailable

PM_APPLICATION_ID = 0x706D7431  # "pmt1"
MOVED_AWAY = 0x4D4F5645  # "MOVE"
RESTORING = 0x52535452  # "RSTR"
COPY = 0x434F5059  # "COPY"
DELETING = 0x444C5445  # "DLTE"
MARKS = frozenset({MOVED_AWAY, RESTORING, COPY, DELETING})


class MarkRefused(Exception):
    """A file's state could not be set; ``str`` says why."""


class TenantMovedAway(Unavailable):
    def __init__(self) -> None:
        super().__init__("the tenant has moved to another node; retry shortly")


class TenantRestoring(Unavailable):
    def __init__(self) -> None:
        super().__init__("the tenant is being restored from a backup; retry shortly")


class TenantDeleted(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("this tenant was deleted", field="tenant_id")


class TenantReplaced(Unavailable):
    """The file under an open tenant is not the one it opened (a restore put another history
    in its place): the tenant is closed here and opened again at the next request."""

    def __init__(self) -> None:
        super().__init__("the tenant's data was just restored from a backup; retry")


def header(conn: sqlite3.Connection) -> tuple[int, int]:
    """(application_id, user_version) of the connection's main database."""
    application_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    return application_id, int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_in_service(conn: sqlite3.Connection, opened_as: int, *, write: bool) -> None:
    """Inside a transaction: refuse unless the file is still the one the tenant opened, in
    service. A file moved away still answers reads (its data is whole, only frozen)."""
    state = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if state == MOVED_AWAY:
        if write:
            raise TenantMovedAway()
        return
    if state == RESTORING:
        raise TenantRestoring()
    if state == DELETING:
        raise TenantDeleted()
    if state != opened_as:
        raise TenantReplaced()


def set_state(path: Path, state: int, *, busy_timeout_ms: int) -> int:
    """Set the file's state in one ``BEGIN IMMEDIATE`` transaction (so after the write in
    flight, if any, has committed: from this commit on every transaction sees it); the state
    it had before."""
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            conn.execute("BEGIN IMMEDIATE")
            previous = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute(f"PRAGMA user_version={int(state)}")
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise MarkRefused(f"{path}: its state could not be set ({reason})") from None
    return previous
