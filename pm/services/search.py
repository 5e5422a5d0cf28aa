"""Finding work items: one query behind REST ``GET /api/v1/work-items``, the WebSocket's
``SearchWorkItems``, the MCP tool ``search_work_items`` and saved views (pm.services.
saved_views stores a spec this module checks, and ``view_id`` runs it here).

With text and no sort, it is a full-text search (pm.repositories.search: titles, descriptions,
comments and text custom fields, ranked, prefix matching, every character literal), best first;
otherwise the filtered items in the order asked (creation by default), the text, if any, one
more filter. Filters: the item's columns, a due-date range, labels (an item has each one asked
for) and custom field conditions (equal, or a number or date range), each an indexed query.
Either way only the projects the caller can see, keyset paginated (every item exactly once),
each page bounded in count and in bytes (``max_response_bytes``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any, TypedDict

from pm.domain.enums import FieldType, ItemType, Priority, Role
from pm.domain.models import CustomField, SavedView, WorkItem
from pm.domain.workflow import STATE_KEY
from pm.errors import NotFound, ValidationFailed
from pm.observability import metrics
from pm.repositories.base import STREAM_BATCH
from pm.repositories.search import FieldCondition, Hit, Order, SearchFilters, fts_query
from pm.services.kernel import validation as v
from pm.services.kernel.access import projects_in_view, require_row_role
from pm.services.kernel.bounds import text_size
from pm.services.kernel.pagination import Page, PageRequest, page_of
from pm.services.kernel.reader import Reader
from pm.services.kernel.scope import Scope
from pm.services.views import WorkItemView
from pm.services.work_items import item_views

MAX_QUERY = 200
# The fields of a spec (SearchWorkItems' filters; a saved view's ViewFilters)
SPEC_FIELDS = (
    "query",
    "status",
    "item_type",
    "assignee_id",
    "sprint_id",
    "priority",
    "due_from",
    "due_to",
    "labels",
    "fields",
)
_PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}
# missing values sort last, ascending or not (a cursor holds them: finite, JSON)
_LAST_TEXT, _FIRST_TEXT, _FAR = "\U0010ffff", "", 1e308
_COLUMN_SORTS: dict[str, tuple[str, type]] = {
    "created": ("w.created_at", int),
    "updated": ("w.updated_at", int),
    "title": ("w.title", str),
    "due_date": ("w.due_date", str),
    "start_date": ("w.start_date", str),
}
_RANGED = frozenset({FieldType.NUMBER, FieldType.DATE})


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
    labels: list[str] | None = None,
    fields: list[dict[str, Any]] | None = None,
    sort: str | None = None,
    view_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[SearchHit]:
    """Items of the projects the caller can see under the filters (a saved view's, then these
    on top); with ``query`` and no sort, those matching it, best first."""
    given = {
        "query": query,
        "status": status,
        "item_type": item_type,
        "assignee_id": assignee_id,
        "sprint_id": sprint_id,
        "priority": priority,
        "due_from": due_from,
        "due_to": due_to,
        "labels": labels,
        "fields": fields,
    }
    spec = {name: value for name, value in given.items() if value not in (None, "", [])}
    if view_id:
        view = visible_view(read, view_id)
        project_id = view.project_id
        spec = _view_spec(view) | spec
        sort = sort or view.sort or None
    page = read.page(limit, cursor)
    project_ids = projects_in_view(read, project_id)
    filters, text = build_filters(
        read, project_ids, spec, max_conditions=read.settings.views_max_conditions
    )
    if text and not sort:
        return _ranked(read, text, filters, page)
    order, key_type = build_order(read, project_ids, sort)
    if text:
        match = fts_query(text)
        if match is None:  # only punctuation: nothing can match it
            return Page([], None)
        filters = replace(filters, match=match)
    return _filtered(read, filters, order, key_type, page)


# -- the spec -------------------------------------------------------------------------------


def build_filters(
    scope: Scope, project_ids: Sequence[str], spec: Mapping[str, Any], *, max_conditions: int
) -> tuple[SearchFilters, str]:
    """The checked filters of a spec (the fields of ``SPEC_FIELDS``) over these projects, and
    its text; any fault a VALIDATION_ERROR naming the field. At most ``max_conditions`` label
    and field conditions together (each is a subquery)."""
    unknown = [name for name in spec if name not in SPEC_FIELDS]
    if unknown:
        raise ValidationFailed(f"{unknown[0]} is not a filter", field=unknown[0])
    label_refs = spec.get("labels") or []
    conditions = spec.get("fields") or []
    if not isinstance(conditions, list):
        raise ValidationFailed("fields must be a list of conditions", field="fields")
    labels_asked = len(label_refs) if isinstance(label_refs, list) else 0
    _bound_conditions(max_conditions, labels_asked, len(conditions))
    query = spec.get("query")
    text = v.text(query, "query", max_len=MAX_QUERY) if query else ""
    filters = SearchFilters(
        project_ids,
        status=_status(spec.get("status")),
        item_type=_option(spec.get("item_type"), ItemType, "item_type"),
        assignee_id=v.optional_ref(spec.get("assignee_id"), "assignee_id"),
        sprint_id=v.optional_ref(spec.get("sprint_id"), "sprint_id"),
        priority=_option(spec.get("priority"), Priority, "priority"),
        due_from=v.iso_date(spec.get("due_from"), "due_from"),
        due_to=v.iso_date(spec.get("due_to"), "due_to"),
        labels=_label_groups(scope, project_ids, label_refs),
        fields=tuple(_condition(scope, project_ids, c) for c in conditions),
    )
    return filters, text


def _bound_conditions(bound: int, labels: int, fields: int) -> None:
    if labels + fields > bound:
        metrics.BOUND_HITS.labels("filter_conditions").inc()
        raise ValidationFailed(
            f"at most {bound} label and field conditions together (views_max_conditions)",
            field="fields" if fields else "labels",
        )


def _status(value: object) -> str | None:
    """A state's key (each project has states of its own: a key none of them has matches
    nothing)."""
    if value is None:
        return None
    if not isinstance(value, str) or not STATE_KEY.fullmatch(value):
        raise ValidationFailed(
            "status must be a state's key: 1 to 16 of a-z, 0-9 and _", field="status"
        )
    return value


def _option(value: object, enum: type[StrEnum], field: str) -> str | None:
    return None if value is None else v.choice(value, enum, field).value


def _label_groups(
    scope: Scope, project_ids: Sequence[str], refs: object
) -> tuple[tuple[str, ...], ...]:
    """Each label asked for (an id or a name), as the ids it names in these projects (a name
    may be a label of several): an unknown one is refused, not silently matched by nothing."""
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        raise ValidationFailed("labels must be a list of label ids or names", field="labels")
    known = scope.labels.live_keys(project_ids) if refs else []
    groups = []
    for ref in refs:
        key = ref.strip().casefold()
        ids = tuple(label_id for label_id, name in known if label_id == ref or name == key)
        if not ids:
            raise NotFound(f"no label {ref[:50]!r} in these projects", field="labels")
        groups.append(ids)
    return tuple(groups)


def _condition(scope: Scope, project_ids: Sequence[str], given: object) -> FieldCondition:
    if not isinstance(given, Mapping):
        raise ValidationFailed("a field condition is {field_id, value, low, high}", field="fields")
    custom = _field_named(scope, project_ids, given.get("field_id"))
    name = f"fields.{custom.id}"
    kind = FieldType(custom.field_type)
    value, low, high = (given.get(part) for part in ("value", "low", "high"))
    if value is None and low is None and high is None:
        raise ValidationFailed("a field condition needs value, low or high", field=name)
    if (low is not None or high is not None) and kind not in _RANGED:
        raise ValidationFailed("low and high are for number and date fields", field=name)
    column = "value_number" if kind is FieldType.NUMBER else "value_text"
    return FieldCondition(
        custom.id,
        column,
        equals=_bound(custom, kind, value, name),
        low=_bound(custom, kind, low, name),
        high=_bound(custom, kind, high, name),
    )


def _field_named(
    scope: Scope, project_ids: Sequence[str], ref: object, name: str = "fields"
) -> CustomField:
    """A live custom field of these projects by id or name; NOT_FOUND naming ``name``."""
    if not isinstance(ref, str) or not ref:
        raise ValidationFailed("a field condition names its field_id", field=name)
    key = ref.strip().casefold()
    for custom in scope.custom_fields.live_of_projects(project_ids):
        if custom.id == ref or custom.name_key == key:
            return custom
    raise NotFound(f"no custom field {ref[:50]!r} in these projects", field=name)


def _bound(custom: CustomField, kind: FieldType, value: object, name: str) -> str | float | None:
    """A condition's value read by the field's type (strings on every door)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2048:
        raise ValidationFailed("a field condition's values are strings", field=name)
    if kind is FieldType.NUMBER:
        try:
            number = float(value)
        except ValueError:
            raise ValidationFailed(f"{custom.name} compares numbers", field=name) from None
        if not math.isfinite(number):
            raise ValidationFailed(f"{custom.name} compares finite numbers", field=name)
        return number
    if kind is FieldType.DATE:
        return v.iso_date(value, name)
    if kind in (FieldType.SELECT, FieldType.MULTI_SELECT) and value not in json.loads(
        custom.options
    ):
        raise ValidationFailed(f"{value[:100]!r} is not an option of {custom.name}", field=name)
    return value


def build_order(scope: Scope, project_ids: Sequence[str], sort: str | None) -> tuple[Order, type]:
    """The order a sort names (created, updated, title, due_date, start_date, priority,
    field:<id or name>; a leading ``-`` descends) and the type of its sort value."""
    if sort is None or sort == "":
        return Order(), int
    if not isinstance(sort, str) or len(sort) > 100:
        raise ValidationFailed("sort must be a sort key", field="sort")
    descending = sort.startswith("-")
    key = sort[1:] if descending else sort
    missing: object = _FIRST_TEXT if descending else _LAST_TEXT
    if key in _COLUMN_SORTS:
        column, kind = _COLUMN_SORTS[key]
        if column.endswith("_date"):
            return Order(f"coalesce({column}, ?)", (missing,), descending), str
        return Order(column, (), descending), kind
    if key == "priority":
        cases = " ".join(f"WHEN '{p.value}' THEN {rank}" for p, rank in _PRIORITY_RANK.items())
        return Order(f"CASE w.priority {cases} ELSE 9 END", (), descending), int
    if key.startswith("field:"):
        custom = _field_named(scope, project_ids, key[len("field:") :], "sort")
        column, kind = "value_text", str
        if custom.field_type == FieldType.NUMBER:
            column, kind, missing = "value_number", float, -_FAR if descending else _FAR
        # per item by its own index: without statistics SQLite would pick (field_id, value),
        # a walk of the whole field for every item (13 s over 10,000 items, not 10 ms)
        expression = (
            f"coalesce((SELECT min({column}) FROM item_field_values"
            " INDEXED BY ix_item_field_values_item WHERE item_id = w.id AND field_id = ?), ?)"
        )
        return Order(expression, (custom.id, missing), descending), kind
    raise ValidationFailed(
        "sort is one of created, updated, title, due_date, start_date, priority, field:<id>"
        " (a leading - descends)",
        field="sort",
    )


# -- views ----------------------------------------------------------------------------------


def visible_view(scope: Scope, view_id: object) -> SavedView:
    """A live view the caller may run: theirs, or shared, in a project they can view."""
    view = require_row_role(
        scope, scope.saved_views, view_id, Role.VIEWER, field="view_id", what="view"
    )
    if not view.shared and view.owner_id != scope.ctx.user_id:
        raise NotFound("view not found", field="view_id")
    return view


def _view_spec(view: SavedView) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(view.filters)
    return spec


# -- the two reads --------------------------------------------------------------------------


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


def _filtered(
    read: Reader, filters: SearchFilters, order: Order, key_type: type, page: PageRequest
) -> Page[SearchHit]:
    """Keys first (id, sort value, created_at) in the order, then the rows a few at a time."""
    after = page.after_key(key_type, int, str)
    keys = read.search.filtered(
        filters,
        order,
        limit=page.limit + 1,
        after=None if after is None else (after[0], after[1], after[2]),
    )
    sort_keys = {item_id: [value, created_at, item_id] for item_id, value, created_at in keys}
    rows = read.items.in_batches([item_id for item_id, _value, _created in keys])
    result = page_of(
        rows,
        page,
        key=lambda item: sort_keys[item.id],
        size=lambda item: text_size(item.title, item.description),
    )
    hits: list[SearchHit] = [
        {"work_item": view, "snippet": None, "rank": None}
        for view in item_views(read, result.items)
    ]
    return Page(hits, result.next_cursor)
