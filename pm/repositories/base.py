"""What every repository shares: the session it is bound to, and the plain-SQL helpers.

A repository is bound to one session (one transaction, opened and committed by the service
layer's runner) and never commits. It speaks one dialect per purpose:

    entities      rows a service reads as objects or changes: the ORM (``get``, ``select``);
                  the session writes the changes at commit
    inserts       rows nobody reads back in the transaction: an ``INSERT`` of named columns
                  built once per table (``RowInsert``) and run on the driver with parameters
                  (no statement built per call, no unit-of-work pass at flush; measured: a
                  Core insert through the session cost ~0.3 ms of a ~1.5 ms command)
    plain SQL     lookups on the hot path, counts, aggregates, reports, sweeps: SQL text on the
                  driver's own connection, rows as plain tuples (SQLAlchemy's statement and row
                  machinery costs several times the query: 12 us against 1.5 us per lookup)

Plain SQL first flushes what the session holds unflushed, so it sees every row the ORM would.

A repository may also be bound to a bare ``sqlite3`` connection in a read transaction (the event
loop's own reader, pm.tenancy.Tenant.read_here): then only its plain SQL works; an ORM method
raises ``NeedsSession`` (a programming error, caught by the tests of every small query).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlmodel import Session, SQLModel, col, select

Params = Sequence[Any] | Mapping[str, Any]
STREAM_BATCH = 8  # rows fetched at a time by a streamed query (at most one batch past a bound)
Row = TypeVar("Row", bound=SQLModel)
Db = Session | sqlite3.Connection  # what a repository is bound to


class NeedsSession(TypeError):
    """An ORM read or write asked of a repository bound to a bare connection."""


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an ``IN (...)`` of ``count`` values."""
    return ", ".join("?" * count)


@dataclass(frozen=True)
class RowInsert:
    """``INSERT INTO table (columns) VALUES (:column, ...)``, built once per table."""

    sql: str

    @classmethod
    def of(cls, model: type[SQLModel], columns: Sequence[str]) -> RowInsert:
        table = model.__tablename__
        names = ", ".join(columns)
        values = ", ".join(f":{name}" for name in columns)
        return cls(f"INSERT INTO {table} ({names}) VALUES ({values})")


class Repository:
    def __init__(self, db: Db) -> None:
        self._db = db

    @property
    def _session(self) -> Session:
        """The ORM session (entities); a bare connection has none."""
        if isinstance(self._db, sqlite3.Connection):
            raise NeedsSession(f"{type(self).__name__}: this needs an ORM session")
        return self._db

    # -- entities ---------------------------------------------------------------------------

    def add(self, row: SQLModel) -> None:
        """A new or changed row, written when the session flushes."""
        self._session.add(row)

    def _stream(self, query: Any) -> Iterator[Any]:
        """The rows of an ORM query, fetched a few at a time as they are read (a caller that
        stops early reads no more from the database)."""
        result: Iterator[Any] = self._session.exec(query.execution_options(yield_per=STREAM_BATCH))
        return result

    # -- inserts ------------------------------------------------------------------------------

    def _insert(self, insert: RowInsert, values: Mapping[str, Any]) -> int:
        """One row; its rowid (an autoincrement key)."""
        return int(self._driver().execute(insert.sql, values).lastrowid or 0)

    def _insert_many(self, insert: RowInsert, rows: Sequence[Mapping[str, Any]]) -> None:
        self._driver().executemany(insert.sql, rows)

    # -- plain SQL ----------------------------------------------------------------------------

    def _driver(self) -> sqlite3.Connection:
        if isinstance(self._db, sqlite3.Connection):
            return self._db
        session = self._db
        if session.new or session.dirty or session.deleted:
            session.flush()
        connection = session.connection().connection.driver_connection
        assert isinstance(connection, sqlite3.Connection)
        return connection

    def _row(self, sql: str, params: Params = ()) -> Any:
        """The first row of a plain SQL statement, or None."""
        return self._driver().execute(sql, params).fetchone()

    def _rows(self, sql: str, params: Params = ()) -> list[Any]:
        return self._driver().execute(sql, params).fetchall()

    def _scalar(self, sql: str, params: Params = ()) -> Any:
        row = self._row(sql, params)
        return None if row is None else row[0]

    def _column(self, sql: str, params: Params = ()) -> list[Any]:
        return [row[0] for row in self._driver().execute(sql, params)]

    def _execute(self, sql: str, params: Params = ()) -> int:
        """A plain SQL write; the number of rows it changed."""
        return int(self._driver().execute(sql, params).rowcount)


class Entities(Repository, Generic[Row]):
    """A repository of one soft-deletable table: rows by id, and live rows by condition."""

    model: ClassVar[type[Any]]

    def get(self, row_id: str) -> Row | None:
        """Live or deleted: the caller decides what a deleted row means."""
        row: Row | None = self._session.get(self.model, row_id)
        return row

    def in_batches(self, row_ids: Sequence[str]) -> Iterator[Row]:
        """The rows of these ids, in their order, read a few at a time as they are taken: a
        caller that stops early reads no more rows (an id without a row is skipped)."""
        for start in range(0, len(row_ids), STREAM_BATCH):
            batch = row_ids[start : start + STREAM_BATCH]
            query = select(self.model).where(col(self.model.id).in_(batch))
            rows = {row.id: row for row in self._session.exec(query)}
            yield from (rows[key] for key in batch if key in rows)

    def _keyed(self, keys_sql: str, params: Params) -> Iterator[Row]:
        """The rows whose ids a plain-SQL key query returns, in its order, read a few at a time
        as they are taken. A bounded list reads its keys first (columns stored ahead of any
        long text, or an index), so what it loads is bounded by what it answers."""
        return self.in_batches(self._column(keys_sql, params))

    def _live(self, *where: Any, order_by: Sequence[Any] = ()) -> list[Row]:
        query = select(self.model).where(*where, col(self.model.deleted_at).is_(None))
        return list(self._session.exec(query.order_by(*order_by)).all())
