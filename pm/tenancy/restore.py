"""``pm tenants restore ID FILE``: a copy put in a tenant's place, safely, while the server runs.

    1. stage    the copy is read with the backup API into a hidden file of the tenant's folder
                (a copy that still has a -wal beside it is read whole), never the copy itself
    2. check    it is a pm tenant (pm.tenancy.files: not empty, not foreign, not from a newer pm)
                and ``integrity_check`` finds nothing
    3. migrate  to this pm's head revision, then checked again
    4. epoch    a new feed epoch (pm.tenancy.epochs) unless it is a move's copy arriving where the
                tenant does not exist: the history the clients hold is then the copy's own
    5. place    no live tenant: linked into place whole. A live one is fenced (its state
                RESTORING, set once the write in flight has committed: from then on every
                process answers UNAVAILABLE, retry), every running pm process on this data folder
                is asked to evict it (``evict``: they close its files and its sockets), and the
                staged pages are copied over it with the backup API, in one transaction: every
                connection still open on it, in any process, sees the old file or the new one,
                never a mix, and its next transaction notices the new epoch and reopens. Should
                the copy fail, the fence is lifted and the old tenant serves on.

A refusal at any step leaves the live tenant exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pm.tenancy.database import Pragmas, as_single_file, writer_engine
from pm.tenancy.epochs import Epoch, current_epoch, feed_seq, start_epoch
from pm.tenancy.files import (
    TenantFileRefused,
    identify,
    integrity_problem,
    open_read_only,
    private_dir,
    refuse_empty,
    sqlite_reason,
)
from pm.tenancy.ids import tenant_db_path, validate_tenant_id
from pm.tenancy.lifecycle import forget_deletion, tombstone_seq
from pm.tenancy.marks import COPY, RESTORING, MarkRefused, set_state
from pm.tenancy.migrations import Migrator

Evict = Callable[[str], int]  # asks the running processes to evict a tenant; how many did


class RestoreRefused(Exception):
    """The copy was not put in place; ``str`` says why. The live tenant is as it was."""


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    revision: str  # the copy's revision, before it was migrated
    epoch: Epoch | None  # the new epoch; None when a move's copy goes on with its history
    replaced: bool  # a live tenant was replaced
    evicted: int  # running processes that closed the tenant before the swap


def restore_tenant(
    tenants_root: Path,
    tenant_id: str,
    copy: Path,
    *,
    migrator: Migrator,
    pragmas: Pragmas,
    evict: Evict,
    now_ms: int,
) -> RestoreResult:
    target = tenant_db_path(tenants_root, validate_tenant_id(tenant_id))
    if not copy.is_file():
        raise RestoreRefused(f"{copy} is not a file")
    if target.exists() and copy.resolve() == target.resolve():
        raise RestoreRefused(f"{copy} is the tenant's own database file")
    staged = _staging_file(private_dir(target.parent))
    try:
        revision, state = _stage(copy, staged, migrator, pragmas)
        live = target.exists()
        epoch = _settle(staged, state, live=live, above=_history_seq(target), now_ms=now_ms)
        if live:
            evicted = _swap(staged, target, tenant_id, pragmas, evict)
        else:
            evicted = _link(staged, target)
        forget_deletion(target.parent)
    finally:
        for leftover in (staged, *(Path(f"{staged}{s}") for s in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return RestoreResult(target, revision, epoch, replaced=live, evicted=evicted)


def _staging_file(folder: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=".main.db.", suffix=".restoring", dir=folder)
    os.close(fd)
    return Path(name)


def _stage(copy: Path, staged: Path, migrator: Migrator, pragmas: Pragmas) -> tuple[str, int]:
    """Steps 1 to 3: the copy's pages in ``staged``, checked, migrated, checked again; the
    copy's revision and state."""
    try:
        refuse_empty(copy)
        with (
            contextlib.closing(open_read_only(copy)) as source,
            contextlib.closing(sqlite3.connect(staged, isolation_level=None)) as dst,
        ):
            source.backup(dst)
            facts = identify(dst, migrator.knows)
            _require_sound(dst, "the copy")
    except TenantFileRefused as refusal:
        raise RestoreRefused(f"{copy} is refused: {refusal}") from None
    except sqlite3.DatabaseError as exc:
        raise RestoreRefused(f"{copy} is not a database ({sqlite_reason(exc)})") from None
    _migrate(staged, migrator, pragmas)
    return facts.revision, facts.state


def _require_sound(conn: sqlite3.Connection, what: str) -> None:
    problem = integrity_problem(conn)
    if problem is not None:
        raise RestoreRefused(f"{what} failed integrity_check ({problem})")


def _migrate(staged: Path, migrator: Migrator, pragmas: Pragmas) -> None:
    engine = writer_engine(staged, pragmas)
    try:
        with engine.connect() as conn:
            at_head = migrator.current_revision(conn) == migrator.head
            conn.rollback()
            if not at_head:
                migrator.upgrade(conn)
                conn.commit()
        as_single_file(engine)
    except Exception as exc:
        raise RestoreRefused(f"the copy could not be migrated ({type(exc).__name__})") from exc
    finally:
        engine.dispose()
    with contextlib.closing(sqlite3.connect(staged, isolation_level=None)) as conn:
        _require_sound(conn, "the migrated copy")


def _history_seq(target: Path) -> int:
    """The last seq of the history the copy replaces: the live file's, or the deleted one's."""
    if not target.exists():
        return tombstone_seq(target.parent)
    try:
        with contextlib.closing(open_read_only(target)) as conn:
            return feed_seq(conn)
    except sqlite3.DatabaseError:
        return 0  # a broken live file: the clock still puts the new epoch above it


def _settle(staged: Path, state: int, *, live: bool, above: int, now_ms: int) -> Epoch | None:
    """Step 4: a new epoch, or (a move's copy where the tenant is new) the copy's own."""
    with contextlib.closing(sqlite3.connect(staged, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        if live or state == COPY or above:
            epoch: Epoch | None = start_epoch(conn, reason="restore", above=above, now_ms=now_ms)
        else:
            conn.execute(f"PRAGMA user_version={current_epoch(conn).number}")
            epoch = None
        conn.execute("COMMIT")
    return epoch


def _link(staged: Path, target: Path) -> int:
    try:
        os.link(staged, target)  # fails if the name appeared meanwhile
    except FileExistsError:
        raise RestoreRefused(f"{target} appeared while the copy was prepared; run again") from None
    return 0


def _swap(staged: Path, target: Path, tenant_id: str, pragmas: Pragmas, evict: Evict) -> int:
    """Step 5 over a live tenant (the module docstring)."""
    busy = pragmas.busy_timeout_ms
    try:
        previous = set_state(target, RESTORING, busy_timeout_ms=busy)
    except MarkRefused as exc:
        raise RestoreRefused(f"the live tenant could not be fenced: {exc}") from None
    try:
        evicted = evict(tenant_id)
        _copy_over(staged, target, busy)
    except BaseException:
        with contextlib.suppress(MarkRefused):
            set_state(target, previous, busy_timeout_ms=busy)
        raise
    return evicted


def _copy_over(staged: Path, target: Path, busy_timeout_ms: int) -> None:
    with (
        contextlib.closing(sqlite3.connect(staged, isolation_level=None)) as source,
        contextlib.closing(sqlite3.connect(target, isolation_level=None)) as live,
    ):
        live.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        _match_page_size(source, live)
        try:
            source.backup(live)  # every page, in one transaction on the live file
        except sqlite3.Error as exc:
            reason = sqlite_reason(exc)
            raise RestoreRefused(f"the copy could not be put in place ({reason})") from None
        live.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _match_page_size(source: sqlite3.Connection, live: sqlite3.Connection) -> None:
    """The backup API can't change a WAL file's page size: the staged copy takes the live
    file's (a VACUUM rewrites it at that size; pm's files all have SQLite's default)."""
    size = int(live.execute("PRAGMA page_size").fetchone()[0])
    if int(source.execute("PRAGMA page_size").fetchone()[0]) != size:
        source.execute(f"PRAGMA page_size={size}")
        source.execute("VACUUM")
