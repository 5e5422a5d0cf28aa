"""Is this file a pm tenant that can be served? The checks made before a file is opened, put in
a tenant's place or reported on, and the refusal when it is not.

A file is refused, never reinitialised or migrated into shape, when it is:

    empty        0 bytes, or a database without a table (a truncated copy, an interrupted write)
    unreadable   not a database SQLite can read (garbage, encrypted, cut in the header)
    foreign      another program's database, or SQLite without pm's tables and revision
    newer        at a revision this pm does not know (written by a newer pm: never downgraded)
    damaged      pages SQLite reports as malformed (``integrity_check``, or met in a query)
    migration    the upgrade to this pm's schema failed

An empty tenant that loses its data this way looks to its users like a tenant that lost
everything; the refusal keeps the file as it is for the operator (``pm tenants check``, restore).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pm.observability.metrics import TENANT_FILE_REASONS as REASONS
from pm.tenancy.marks import PM_APPLICATION_ID, header

PM_TABLES = frozenset({"alembic_version", "work_items", "change_feed", "users"})
FILE_MODE = 0o600
DIR_MODE = 0o700


class TenantFileRefused(Exception):
    """``reason`` is one of REASONS (a metric label); ``detail`` says what is wrong, for the
    operator (never sent to a client: it may name a revision or SQLite's words)."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FileFacts:
    revision: str
    state: int  # the header's user_version (pm.tenancy.marks)
    stamped: bool  # carries pm's application id (migration 0003 and later)


def sqlite_reason(exc: sqlite3.Error) -> str:
    """SQLite's own words, first line only: they name the problem, never a statement."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def is_damage(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB: the file, not the statement, is at fault."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def refuse_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise TenantFileRefused("empty", "the file is 0 bytes")


def identify(conn: sqlite3.Connection, known_revision: Callable[[str], bool]) -> FileFacts:
    """What the file is, from its header and schema alone (cheap: no page is checked)."""
    try:
        application_id, state = header(conn)
        tables = {
            str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        revision = _revision(conn) if "alembic_version" in tables else None
    except sqlite3.DatabaseError as exc:
        reason = "damaged" if is_damage(exc) and _has_sqlite_header(conn) else "unreadable"
        raise TenantFileRefused(reason, f"SQLite can't read it ({sqlite_reason(exc)})") from None
    if application_id not in (0, PM_APPLICATION_ID):
        raise TenantFileRefused("foreign", f"another program's database (id {application_id:#x})")
    if not tables:
        raise TenantFileRefused("empty", "a database without any table")
    if not tables >= PM_TABLES or revision is None:
        raise TenantFileRefused("foreign", "a SQLite database without pm's tables and revision")
    if not known_revision(revision):
        raise TenantFileRefused("newer", f"revision {revision} is unknown to this pm")
    return FileFacts(revision, state, application_id == PM_APPLICATION_ID)


def _revision(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _has_sqlite_header(conn: sqlite3.Connection) -> bool:
    """A readable header (the page count answers) with pages that are not: damage, not junk."""
    with contextlib.suppress(sqlite3.DatabaseError):
        conn.execute("PRAGMA page_count").fetchone()
        return True
    return False


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    """``PRAGMA integrity_check``'s first complaint, or None when the file is sound."""
    try:
        verdict = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return sqlite_reason(exc)
    return None if verdict == ["ok"] else verdict[0]


def quick_problem(conn: sqlite3.Connection) -> str | None:
    """``PRAGMA quick_check``: every page read, indexes not cross-checked; O(file), cheap."""
    try:
        verdict = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        return sqlite_reason(exc)
    return None if verdict == ["ok"] else verdict[0]


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that writes nothing, not even a -wal or -shm beside the file: a file with
    no -wal (closed cleanly, complete on its own) is opened ``immutable``; one with a -wal (in
    use, or left by a crash) ``mode=ro``, so the WAL's commits are read too."""
    wal = path.with_name(f"{path.name}-wal")
    mode = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def open_for_reading(path: Path) -> sqlite3.Connection:
    """A plain connection that never creates the file (``mode=rw``), for a process that may
    write it later anyway (the server opening a tenant)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None)


def private_dir(path: Path) -> Path:
    """A folder only pm's user can enter (0700), made if missing, tightened if it is wider."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path, DIR_MODE)
    return path


def tighten(path: Path, mode: int) -> None:
    """Take group and other permissions away from a file or folder pm made (0644 files from
    before pm set 0600, for one): tenant data is for pm's user alone."""
    with contextlib.suppress(FileNotFoundError):
        current = stat.S_IMODE(path.stat().st_mode)
        if current & 0o077:
            os.chmod(path, current & mode)


@dataclass(frozen=True)
class CheckResult:
    """One file's verdict for ``pm tenants check``: ``problem`` None means sound."""

    revision: str | None
    state: int
    problem: str | None


def check_file(path: Path, known_revision: Callable[[str], bool], *, thorough: bool) -> CheckResult:
    """Read-only: what the file is and whether its pages are sound (``integrity_check`` when
    ``thorough``, else ``quick_check``). Never raises for a broken file: it says so."""
    try:
        refuse_empty(path)
        with contextlib.closing(open_read_only(path)) as conn:
            facts = identify(conn, known_revision)
            problem = integrity_problem(conn) if thorough else quick_problem(conn)
    except TenantFileRefused as refusal:
        return CheckResult(None, 0, str(refusal))
    except (OSError, sqlite3.Error) as exc:
        detail = sqlite_reason(exc) if isinstance(exc, sqlite3.Error) else str(exc)
        return CheckResult(None, 0, f"unreadable: {detail}")
    verdict = None if problem is None else f"damaged: {problem}"
    return CheckResult(facts.revision, facts.state, verdict)
