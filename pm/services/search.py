"""Finding work items: one query behind REST ``GET /api/v1/work-items``, the WebSocket's
``SearchWorkItems`` and the MCP tool ``search_work_items``.

With text, it is a full-text search (pm.repositories.search: titles, descriptions and
comments, ranked, prefix matching, every character literal), best first; without, the filtered
items, oldest first. Either way only the projects the caller can see, cursor paginated, each
page bounded in count and in bytes (``max_response_bytes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import TypedDict

from pm.domain.enums import ItemType, Priority
from pm.domain.models import WorkItem
from pm.domain.workflow import STATE_KEY
from pm.errors import ValidationFailed
from pm.repositories.base import STREAM_BATCH
from pm.repositories.search import Hit, SearchFilters, fts_query
from pm.services.kernel import validation as v
from pm.services.kernel.access import projects_in_view
from pm.services.kernel.bounds import text_size
from pm.services.kernel.pagination import Page, PageRequest, page_of
from pm.services.kernel.reader import Reader
from pm.services.views import WorkItemView
from pm.services.work_items import item_views

MAX_QUERY = 200


class SearchHit(TypedDict):
    work_item: WorkItemView
    snippet: str | None  # the best matching passage, matches in **bold**; None without text
    rank: float | None  # relevance (bm25, higher is better); None without text


def search_work_items(
    read: Reader,
    *,
    query: str | None = None,
    project_id: str | None = None,
    status: str | None = None,
    item_type: str | None = None,
    assignee_id: str | None = None,
    sprint_id: str | None = None,
    priority: str | None = None,
    due_from: str | None = None,
    due_to: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[SearchHit]:
    """Items of the projects the caller can see under the filters; with ``query``, those
    matching it, best first."""
    page = read.page(limit, cursor)
    filters = SearchFilters(
        projects_in_view(read, project_id),
        status=_status(status),
        item_type=_option(item_type, ItemType, "item_type"),
        assignee_id=v.optional_ref(assignee_id, "assignee_id"),
        sprint_id=v.optional_ref(sprint_id, "sprint_id"),
        priority=_option(priority, Priority, "priority"),
        due_from=v.iso_date(due_from, "due_from"),
        due_to=v.iso_date(due_to, "due_to"),
    )
    text = v.text(query, "query", max_len=MAX_QUERY) if query else ""
    if text:
        return _ranked(read, text, filters, page)
    return _filtered(read, filters, page)


def _status(value: str | None) -> str | None:
    """A state's key (each project has states of its own: a key none of them has matches
    nothing)."""
    if value is None:
        return None
    if not isinstance(value, str) or not STATE_KEY.fullmatch(value):
        raise ValidationFailed(
            "status must be a state's key: 1 to 16 of a-z, 0-9 and _", field="status"
        )
    return value


def _option(value: str | None, enum: type[StrEnum], field: str) -> str | None:
    return None if value is None else v.choice(value, enum, field).value


def _ranked(read: Reader, text: str, filters: SearchFilters, page: PageRequest) -> Page[SearchHit]:
    """Keys first, like every bounded read: the ranked ids, then their rows and snippets a few
    at a time, until the page is full in count or in bytes."""
    match = fts_query(text)
    if match is None:  # only punctuation: nothing can match it
        return Page([], None)
    after = page.after_key(float, str)
    found = read.search.ranked(
        match, filters, limit=page.limit + 1, after=None if after is None else (after[0], after[1])
    )
    result = page_of(
        _hit_rows(read, match, found),
        page,
        key=lambda row: [row[0].rank, row[0].work_item_id],
        size=lambda row: text_size(row[1].title, row[1].description, row[2]),
    )
    views = item_views(read, [item for _hit, item, _snippet in result.items])
    hits: list[SearchHit] = [
        {"work_item": view, "snippet": snippet, "rank": -hit.rank}
        for (hit, _item, snippet), view in zip(result.items, views, strict=True)
    ]
    return Page(hits, result.next_cursor)


def _hit_rows(read: Reader, match: str, found: list[Hit]) -> Iterator[tuple[Hit, WorkItem, str]]:
    """Each hit with its item's row and its snippet, read one small batch at a time as taken
    (a snippet costs a pass over its row's text)."""
    for start in range(0, len(found), STREAM_BATCH):
        batch = found[start : start + STREAM_BATCH]
        snippets = read.search.snippets(match, [hit.doc_id for hit in batch])
        items = read.items.in_batches([hit.work_item_id for hit in batch])
        for hit, item in zip(batch, items, strict=True):
            yield hit, item, snippets.get(hit.doc_id, "")


def _filtered(read: Reader, filters: SearchFilters, page: PageRequest) -> Page[SearchHit]:
    after = page.after_key(int, str)
    rows = read.items.page(
        filters.project_ids,
        limit=page.limit + 1,
        after=None if after is None else (after[0], after[1]),
        status=filters.status,
        item_type=filters.item_type,
        assignee_id=filters.assignee_id,
        sprint_id=filters.sprint_id,
        priority=filters.priority,
        due=(filters.due_from, filters.due_to),
    )
    result = page_of(
        rows,
        page,
        key=lambda item: [item.created_at, item.id],
        size=lambda item: text_size(item.title, item.description),
    )
    hits: list[SearchHit] = [
        {"work_item": view, "snippet": None, "rank": None}
        for view in item_views(read, result.items)
    ]
    return Page(hits, result.next_cursor)
