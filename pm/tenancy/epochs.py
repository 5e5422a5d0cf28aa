"""Feed epochs: a tenant's history, once replaced, never reuses a seq a client may hold.

A restore puts an older copy in a tenant's place: its feed ends at some seq (130) while clients
saw more of the history that is gone (260). Were the feed to go on from 130, a client holding
260 would first be told it is ahead, then, once 190 new changes were made, be given 261..320 and
never learn that 131..260 of the new history exist. So a replaced history starts a new *epoch*:
the feed's counter jumps to a ``base_seq`` above every seq ever handed out, the next change gets
``base_seq + 1``, and any seq a client holds from before (``seq < base_seq``) is answered
RESYNC_REQUIRED (pm.services.changes), ``0`` ("from the start") included: that start is gone.

``base_seq`` is the largest of: one past the copy's own seq, one past the replaced file's seq
(when there was one), and the current time in microseconds. The last covers what nobody can
look up (a copy put in service by hand, a tenant deleted long ago): no feed reaches it, since
that would take a million commits a second since the tenant was created, and a single SQLite
writer manages a few tens of thousands.

The epoch number is also the file's ``user_version`` while it is in service (pm.tenancy.marks),
so a server holding the tenant open notices, at its next transaction, that the file is another.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

SEQ_PER_MS = 1000

_FEED_SEQ = "SELECT seq FROM sqlite_sequence WHERE name = 'change_feed'"


@dataclass(frozen=True)
class Epoch:
    number: int
    base_seq: int


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


def current_epoch(conn: sqlite3.Connection) -> Epoch:
    """The epoch the file is in (number 0, base 0 before the first replacement)."""
    if not _table_exists(conn, "feed_epochs"):
        return Epoch(0, 0)
    row = conn.execute(
        "SELECT epoch, base_seq FROM feed_epochs ORDER BY epoch DESC LIMIT 1"
    ).fetchone()
    return Epoch(0, 0) if row is None else Epoch(int(row[0]), int(row[1]))


def feed_seq(conn: sqlite3.Connection) -> int:
    """The last seq the file handed out (its feed counter; 0 before the first change)."""
    if not _table_exists(conn, "sqlite_sequence"):
        return 0
    row = conn.execute(_FEED_SEQ).fetchone()
    return 0 if row is None else int(row[0])


def start_epoch(conn: sqlite3.Connection, *, reason: str, above: int, now_ms: int) -> Epoch:
    """In the caller's write transaction: a new epoch whose base is above ``above`` (the seq
    of the history it replaces, 0 if unknown), the file's own feed and the clock."""
    epoch = Epoch(
        number=current_epoch(conn).number + 1,
        base_seq=max(feed_seq(conn) + 1, above + 1, now_ms * SEQ_PER_MS),
    )
    conn.execute(
        "INSERT INTO feed_epochs (epoch, base_seq, started_at, reason) VALUES (?, ?, ?, ?)",
        (epoch.number, epoch.base_seq, now_ms, reason),
    )
    moved = conn.execute(
        "UPDATE sqlite_sequence SET seq = ? WHERE name = 'change_feed'", (epoch.base_seq,)
    ).rowcount
    if not moved:
        conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('change_feed', ?)", (epoch.base_seq,)
        )
    conn.execute(f"PRAGMA user_version = {int(epoch.number)}")
    return epoch
