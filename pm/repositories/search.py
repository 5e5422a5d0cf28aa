"""Full-text search: SQLite FTS5 over item titles, descriptions and live comments.

The index is ``search_index`` (FTS5) with ``search_documents`` giving each of its rows a stable
rowid and the item it belongs to: one row per live item (title, description) and one per live
comment on a live item. Triggers (migration 0002) keep both in the transaction of every
change, whatever writes it, so a rolled-back command leaves the index as it was.

A person's text is never FTS syntax: each word becomes a quoted phrase (quotes doubled), the
last one a prefix; words are ANDed. ``%``, ``_``, ``*``, ``AND``, ``NEAR(``... are text.
Ranking is bm25 with titles weighing most, then descriptions, then comments; an item is ranked
by its best row, and its snippet comes from that row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pm.repositories.base import Repository, placeholders

TITLE_WEIGHT, DESCRIPTION_WEIGHT, COMMENT_WEIGHT = 10.0, 4.0, 1.0
SNIPPET_TOKENS = 12
# Index tables: migration 0002 makes them, no model maps them (Alembic's comparison skips them).
INDEX_TABLES = frozenset(
    {
        "search_index",
        "search_index_data",
        "search_index_idx",
        "search_index_content",
        "search_index_docsize",
        "search_index_config",
    }
)
_WORD = re.compile(r"\S+")
_HAS_TOKEN = re.compile(r"\w")  # what the unicode61 tokenizer keeps: letters and digits


def fts_query(text: str) -> str | None:
    """The FTS5 query matching every word of ``text`` literally (the last as a prefix), or
    None when nothing in it can match (only punctuation)."""
    words = [w for w in _WORD.findall(text) if _HAS_TOKEN.search(w)]
    if not words:
        return None
    phrases = ['"' + word.replace('"', '""') + '"' for word in words]
    phrases[-1] += "*"
    return " ".join(phrases)


@dataclass(frozen=True)
class FieldCondition:
    """A custom field's values: equal to ``equals``, or within ``low``..``high`` (inclusive),
    in ``column`` (``value_text`` or ``value_number``): one range of an index of
    item_field_values ((field_id, value_text) or (field_id, value_number))."""

    field_id: str
    column: str
    equals: str | float | None = None
    low: str | float | None = None
    high: str | float | None = None

    def where(self, *, probe: bool) -> tuple[str, list[object]]:
        """``probe``: look each candidate item up by its own index (another condition already
        narrowed the rows) rather than list every item of the value range."""
        clauses: list[str] = ["field_id = ?"]
        params: list[object] = [self.field_id]
        for bound, operator in ((self.equals, "="), (self.low, ">="), (self.high, "<=")):
            if bound is not None:
                clauses.append(f"{self.column} {operator} ?")
                params.append(bound)
        conditions = " AND ".join(clauses)
        if probe:
            sql = (
                "EXISTS (SELECT 1 FROM item_field_values INDEXED BY ix_item_field_values_item"
                f" WHERE item_id = w.id AND {conditions})"
            )
        else:
            sql = f"w.id IN (SELECT item_id FROM item_field_values WHERE {conditions})"
        return sql, params


@dataclass(frozen=True)
class SearchFilters:
    project_ids: Sequence[str]
    status: str | None = None
    item_type: str | None = None
    assignee_id: str | None = None
    sprint_id: str | None = None
    priority: str | None = None
    due_from: str | None = None  # YYYY-MM-DD, inclusive
    due_to: str | None = None  # YYYY-MM-DD, inclusive
    # each a label asked for, as the ids it names (a name may be a label in several projects):
    # an item has one of each
    labels: tuple[tuple[str, ...], ...] = ()
    fields: tuple[FieldCondition, ...] = ()
    match: str | None = None  # an fts_query the items must match (text sorted otherwise)

    def where(self) -> tuple[str, list[object]]:
        """SQL conditions on ``w`` (work_items) and their parameters."""
        clauses = [
            f"w.project_id IN ({placeholders(len(self.project_ids))})",
            "w.deleted_at IS NULL",
        ]
        params: list[object] = list(self.project_ids)
        for column in ("status", "item_type", "assignee_id", "sprint_id", "priority"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"w.{column} = ?")
                params.append(value)
        for bound, operator in ((self.due_from, ">="), (self.due_to, "<=")):
            if bound is not None:
                clauses.append(f"w.due_date {operator} ?")
                params.append(bound)
        # A due range is an index range of the project's items: then each label and field is
        # probed per item by its own index (over 10,000 items, ~1 ms), where listing every
        # item of the label or value first cost 4-6 ms; without one, the lists drive.
        probe = self.due_from is not None or self.due_to is not None
        for ids in self.labels:
            marks = placeholders(len(ids))
            clauses.append(
                f"EXISTS (SELECT 1 FROM item_labels WHERE item_id = w.id AND label_id IN ({marks}))"
                if probe
                else f"w.id IN (SELECT item_id FROM item_labels WHERE label_id IN ({marks}))"
            )
            params.extend(ids)
        for condition in self.fields:
            sql, values = condition.where(probe=probe)
            clauses.append(sql)
            params.extend(values)
        if self.match is not None:
            clauses.append(
                "w.id IN (SELECT d.work_item_id FROM search_documents d WHERE d.doc_id IN"
                " (SELECT rowid FROM search_index WHERE search_index MATCH ?))"
            )
            params.append(self.match)
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class Order:
    """How filtered items are listed: by an SQL expression over ``w`` that is never NULL (a
    missing value is given a sentinel that sorts last either way), then creation, then id: a
    total order, so keyset paging visits every item exactly once."""

    expression: str = "w.created_at"
    params: tuple[object, ...] = ()
    descending: bool = False


def filtered_sql(filters: SearchFilters, order: Order, *, after: bool) -> tuple[str, list[object]]:
    """Keys (id, sort value, created_at) of the filtered items in ``order``, after a cursor's
    (sort value, created_at, id) when ``after``; parameters: the order's, the filters', the
    cursor's (when ``after``) and the limit come after them. The bench runs this text on a raw
    sqlite3 connection."""
    where, params = filters.where()
    expression = order.expression
    direction, beyond = ("DESC", "<") if order.descending else ("ASC", ">")
    cursor = (
        f" AND ({expression} {beyond} ? OR ({expression} = ? AND"
        " (w.created_at > ? OR (w.created_at = ? AND w.id > ?))))"
        if after
        else ""
    )
    sql = (
        f"SELECT w.id, {expression} AS sort_key, w.created_at FROM work_items w"
        f" WHERE {where}{cursor}"
        f" ORDER BY sort_key {direction}, w.created_at, w.id LIMIT ?"
    )
    return sql, [*order.params, *params]


@dataclass(frozen=True)
class Hit:
    work_item_id: str
    rank: float  # bm25: lower is better
    doc_id: int  # the item's best row of the index (its snippet comes from it)


def ranked_sql(filters: SearchFilters, *, after: bool) -> tuple[str, list[object]]:
    """The ranked query for ``filters``: (item id, rank, its best row) per item. Parameters:
    the match, the filters' values, then the cursor's rank twice and id if ``after``, then the
    limit. bm25 is computed on the index alone (FTS5 allows it nowhere else), then the rows are
    joined to their items, filtered, and grouped. The bench runs this very text on a raw
    sqlite3 connection."""
    where, params = filters.where()
    cursor = "HAVING rank > ? OR (rank = ? AND d.work_item_id > ?)" if after else ""
    sql = f"""
        WITH hits AS MATERIALIZED (
            SELECT rowid AS doc_id,
                   bm25(search_index, {TITLE_WEIGHT}, {DESCRIPTION_WEIGHT}, {COMMENT_WEIGHT})
                       AS rank
            FROM search_index WHERE search_index MATCH ?
        )
        SELECT d.work_item_id, min(h.rank) AS rank, h.doc_id
        FROM hits h
        JOIN search_documents d ON d.doc_id = h.doc_id
        JOIN work_items w ON w.id = d.work_item_id
        WHERE {where}
        GROUP BY d.work_item_id {cursor}
        ORDER BY rank, d.work_item_id
        LIMIT ?
    """
    return sql, params


def snippet_sql(count: int) -> str:
    """Snippets of ``count`` index rows (parameters: the match, then the rowids): made for the
    page's rows only, since a snippet costs a pass over its row's text."""
    return (
        f"SELECT rowid, snippet(search_index, -1, '**', '**', '…', {SNIPPET_TOKENS})"
        f" FROM search_index WHERE search_index MATCH ? AND rowid IN ({placeholders(count)})"
    )


class SearchRepository(Repository):
    def ranked(
        self,
        match: str,
        filters: SearchFilters,
        *,
        limit: int,
        after: tuple[float, str] | None = None,
    ) -> list[Hit]:
        """Items matching ``match`` (an ``fts_query``) under ``filters``, best first, after the
        key ``(rank, id)``: their keys only (the caller reads the rows it keeps, then their
        snippets)."""
        sql, params = ranked_sql(filters, after=after is not None)
        cursor: list[object] = [] if after is None else [after[0], after[0], after[1]]
        rows = self._rows(sql, [match, *params, *cursor, limit])
        return [Hit(row[0], float(row[1]), int(row[2])) for row in rows]

    def filtered(
        self,
        filters: SearchFilters,
        order: Order,
        *,
        limit: int,
        after: tuple[object, int, str] | None = None,
    ) -> list[tuple[str, object, int]]:
        """(id, sort value, created_at) of the items under ``filters`` in ``order``, after the
        key (sort value, created_at, id): keys only, the caller reads the rows it keeps."""
        sql, params = filtered_sql(filters, order, after=after is not None)
        cursor: list[object] = []
        if after is not None:
            value, created_at, item_id = after
            cursor = [*order.params, value, *order.params, value, created_at, created_at, item_id]
        rows = self._rows(sql, [*params, *cursor, limit])
        return [(row[0], row[1], int(row[2])) for row in rows]

    def snippets(self, match: str, doc_ids: Sequence[int]) -> dict[int, str]:
        """The snippet of each of these index rows for ``match``."""
        if not doc_ids:
            return {}
        return dict(self._rows(snippet_sql(len(doc_ids)), [match, *doc_ids]))
