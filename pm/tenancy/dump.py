"""``pm tenants export`` and ``import``: every entity of a tenant as NDJSON, readable without pm.

One JSON document per line (docs/operations.md describes it for whoever reads it elsewhere):

    {"format": "pm-tenant-dump", "version": 1, "tenant": "acme", "revision": "0003",
     "exported_at_ms": 1764000000000, "tables": ["users", "work_items", ...]}
    {"table": "users", "row": {"id": "alice", "email": null, ...}}
    ...
    {"end": true, "rows": 1234}

Tables come in the order their foreign keys need (parents first), rows in primary-key order,
keys sorted: the same tenant gives the same lines. Every table of the schema is there but two
that describe the file rather than the tenant: ``feed_epochs`` (an import starts its own epoch)
and ``idempotency_keys`` (a day's retry ledger). The last line makes a cut file detectable.

An export reads one snapshot of the live file (read-only, safe while the server writes). An
import builds a new tenant in a hidden file: migrated to the dump's revision, rows inserted in one
transaction (foreign keys checked at its commit), brought to head, started in a new feed epoch
above the dump's last seq (pm.tenancy.epochs: a client holding a seq of the exported tenant is
told to resync), checked, then linked into place. The tenant must not exist.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table

from pm.domain.models import metadata
from pm.tenancy.database import Pragmas, as_single_file, writer_engine
from pm.tenancy.epochs import start_epoch
from pm.tenancy.files import (
    FILE_MODE,
    TenantFileRefused,
    identify,
    integrity_problem,
    open_read_only,
    private_dir,
    sqlite_reason,
)
from pm.tenancy.ids import tenant_db_path, validate_tenant_id
from pm.tenancy.lifecycle import forget_deletion, is_deleted, tombstone_seq
from pm.tenancy.migrations import Migrator

FORMAT = "pm-tenant-dump"
VERSION = 1
# Not a tenant's data: its history's epochs, retry records, and the search index's rows (the
# triggers of migration 0002 rebuild them as an import writes the items and comments).
NOT_EXPORTED = frozenset({"feed_epochs", "idempotency_keys", "search_documents"})
MAX_LINE_BYTES = 64 * 1024 * 1024  # a row is at most a 50,000-character description and a few ids


class DumpRefused(Exception):
    """An export or import did not happen; ``str`` says why."""


@dataclass(frozen=True)
class DumpResult:
    tenant_id: str
    rows: int
    tables: dict[str, int]


def exported_tables() -> list[Table]:
    return [t for t in metadata.sorted_tables if t.name not in NOT_EXPORTED]


# -- export ----------------------------------------------------------------------------------


def export_tenant(
    tenants_root: Path, tenant_id: str, out: IO[str], migrator: Migrator
) -> DumpResult:
    """Write the tenant's dump to ``out`` from one read snapshot of its file."""
    path = tenant_db_path(tenants_root, validate_tenant_id(tenant_id))
    if not path.is_file():
        raise DumpRefused(f"tenant {tenant_id} does not exist")
    try:
        with contextlib.closing(open_read_only(path)) as conn:
            facts = identify(conn, migrator.knows)
            if facts.revision != migrator.head:
                raise DumpRefused(
                    f"tenant {tenant_id} is at revision {facts.revision}: open it once (or run "
                    "`pm tenants migrate`) so that the dump has this pm's schema"
                )
            conn.execute("BEGIN")
            try:
                return _write(conn, tenant_id, facts.revision, out)
            finally:
                conn.execute("COMMIT")
    except TenantFileRefused as refusal:
        raise DumpRefused(f"tenant {tenant_id}: {refusal}") from None
    except sqlite3.DatabaseError as exc:
        raise DumpRefused(f"tenant {tenant_id} can't be read ({sqlite_reason(exc)})") from None


def _write(conn: sqlite3.Connection, tenant_id: str, revision: str, out: IO[str]) -> DumpResult:
    tables = exported_tables()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "tenant": tenant_id,
        "revision": revision,
        "exported_at_ms": int(time.time() * 1000),
        "tables": [t.name for t in tables],
    }
    _line(out, header)
    counts: dict[str, int] = {}
    for table in tables:
        columns = [c.name for c in table.columns]
        order = ", ".join(c.name for c in table.primary_key.columns)
        counts[table.name] = 0
        query = f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {order}"
        for values in conn.execute(query):
            _line(out, {"table": table.name, "row": dict(zip(columns, values, strict=True))})
            counts[table.name] += 1
    total = sum(counts.values())
    _line(out, {"end": True, "rows": total})
    return DumpResult(tenant_id, total, counts)


def _line(out: IO[str], document: dict[str, Any]) -> None:
    out.write(json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")


def export_to_file(
    tenants_root: Path, tenant_id: str, dest: Path, migrator: Migrator
) -> DumpResult:
    """The dump into ``dest`` (0600: it is the customer's data), placed whole or not at all."""
    if dest.exists():
        raise DumpRefused(f"{dest} already exists")
    if not dest.parent.is_dir():
        raise DumpRefused(f"folder {dest.parent} does not exist")
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            result = export_tenant(tenants_root, tenant_id, out, migrator)
        os.chmod(name, FILE_MODE)
        os.link(name, dest)
    except FileExistsError:
        raise DumpRefused(f"{dest} already exists") from None
    finally:
        Path(name).unlink(missing_ok=True)
    return result


# -- import ----------------------------------------------------------------------------------


def import_tenant(
    tenants_root: Path,
    tenant_id: str,
    source: IO[str],
    *,
    migrator: Migrator,
    pragmas: Pragmas,
    now_ms: int,
) -> DumpResult:
    target = tenant_db_path(tenants_root, validate_tenant_id(tenant_id))
    if target.exists():
        raise DumpRefused(f"tenant {tenant_id} already exists: import makes a new tenant")
    folder = private_dir(target.parent)
    above = tombstone_seq(folder) if is_deleted(folder) else 0
    fd, name = tempfile.mkstemp(prefix=".main.db.", suffix=".importing", dir=folder)
    os.close(fd)
    staged = Path(name)
    try:
        lines = _documents(source)
        revision = _header(next(lines, None), migrator)
        result = _build(staged, tenant_id, revision, lines, migrator, pragmas)
        _finish(staged, migrator, pragmas, above=above, now_ms=now_ms)
        try:
            os.link(staged, target)
        except FileExistsError:
            raise DumpRefused(f"tenant {tenant_id} appeared during the import") from None
        forget_deletion(folder)
    finally:
        for leftover in (staged, *(Path(f"{staged}{s}") for s in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return result


def _documents(source: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(source, start=1):
        if len(line) > MAX_LINE_BYTES:
            raise DumpRefused(f"line {number} is longer than any row of pm")
        try:
            document = json.loads(line)
        except ValueError:
            raise DumpRefused(f"line {number} is not JSON") from None
        if not isinstance(document, dict):
            raise DumpRefused(f"line {number} is not a JSON object")
        yield number, document


def _header(first: tuple[int, dict[str, Any]] | None, migrator: Migrator) -> str:
    if first is None:
        raise DumpRefused("the dump is empty")
    _number, header = first
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise DumpRefused(f"not a {FORMAT} version {VERSION} file")
    revision = header.get("revision")
    if not isinstance(revision, str) or not migrator.knows(revision):
        raise DumpRefused(f"the dump's revision {revision!r} is unknown to this pm (newer?)")
    return revision


def _build(
    staged: Path,
    tenant_id: str,
    revision: str,
    lines: Iterator[tuple[int, dict[str, Any]]],
    migrator: Migrator,
    pragmas: Pragmas,
) -> DumpResult:
    """The schema at the dump's revision, then every row in one transaction."""
    engine = writer_engine(staged, pragmas)
    try:
        with engine.connect() as conn:
            conn.rollback()
            migrator.upgrade(conn, revision)
            conn.commit()
        as_single_file(engine)
    finally:
        engine.dispose()
    tables = {t.name: t for t in exported_tables()}
    with contextlib.closing(sqlite3.connect(staged, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("PRAGMA defer_foreign_keys=ON")  # rows come in key order, not tree order
        counts = _insert_rows(conn, tables, lines)
        try:
            conn.execute("COMMIT")
        except sqlite3.IntegrityError:
            raise DumpRefused("the dump's rows refer to rows it does not have") from None
    return DumpResult(tenant_id, sum(counts.values()), counts)


def _insert_rows(
    conn: sqlite3.Connection, tables: dict[str, Table], lines: Iterator[tuple[int, dict[str, Any]]]
) -> dict[str, int]:
    counts = dict.fromkeys(tables, 0)
    for number, document in lines:
        if document.get("end") is True:
            if document.get("rows") != sum(counts.values()):
                raise DumpRefused(f"line {number}: the dump says {document.get('rows')} rows")
            if next(lines, None) is not None:
                raise DumpRefused(f"lines follow the end mark at line {number}")
            return counts
        table = tables.get(str(document.get("table")))
        row = document.get("row")
        if table is None or not isinstance(row, dict):
            raise DumpRefused(f"line {number} is not a row of a table of pm")
        _insert(conn, table, row, number)
        counts[table.name] += 1
    raise DumpRefused("the dump is cut short: it has no end mark")


def _insert(conn: sqlite3.Connection, table: Table, row: dict[str, Any], number: int) -> None:
    columns = [c.name for c in table.columns]
    unknown = set(row) - set(columns)
    if unknown:
        raise DumpRefused(f"line {number}: {table.name} has no column {sorted(unknown)[0]!r}")
    if any(not isinstance(v, str | int | float | type(None)) for v in row.values()):
        raise DumpRefused(f"line {number}: a value is not a string, a number or null")
    names = [c for c in columns if c in row]
    marks = ", ".join("?" * len(names))
    try:
        conn.execute(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",
            [row[c] for c in names],
        )
    except sqlite3.IntegrityError as exc:
        raise DumpRefused(f"line {number}: {sqlite_reason(exc)}") from None


def _finish(staged: Path, migrator: Migrator, pragmas: Pragmas, *, above: int, now_ms: int) -> None:
    """To head, a new epoch above every seq of the dump, one checked file."""
    engine = writer_engine(staged, pragmas)
    try:
        with engine.connect() as conn:
            at_head = migrator.current_revision(conn) == migrator.head
            conn.rollback()
            if not at_head:
                migrator.upgrade(conn)
                conn.commit()
        as_single_file(engine)
    finally:
        engine.dispose()
    with contextlib.closing(sqlite3.connect(staged, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        start_epoch(conn, reason="import", above=above, now_ms=now_ms)
        conn.execute("COMMIT")
        problem = integrity_problem(conn)
        if problem is not None:
            raise DumpRefused(f"the imported tenant failed integrity_check ({problem})")
