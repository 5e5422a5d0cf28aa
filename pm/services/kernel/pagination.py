"""Cursor pagination: an opaque cursor (URL-safe base64 of the last row's sort key) and a
bounded page size. A query builds its ``PageRequest`` with ``Reader.page(limit, cursor)``, which
applies the configured default and maximum; doors pass the client's limit and cursor as given."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pm.errors import ValidationFailed
from pm.observability import metrics
from pm.services.kernel.bounds import within_bounds

T = TypeVar("T")
SQLITE_INT = 2**63  # SQLite integers are signed 64-bit


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[Any] | None = None  # the decoded cursor: the last sort key of the previous page
    max_bytes: int = 2 * 1024 * 1024  # of the rows' content (pm.services.kernel.bounds)

    @classmethod
    def build(
        cls,
        limit: int | None,
        cursor: str | None,
        *,
        default: int,
        maximum: int,
        max_bytes: int = 2 * 1024 * 1024,
    ) -> PageRequest:
        """A limit above ``maximum`` is capped, not refused (the answer's ``next_cursor`` leads
        on), and so is a default an operator set above it; a limit below 1 is refused."""
        if limit is None or limit == 0:
            limit = default
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationFailed("limit must be a positive integer", field="limit")
        if limit > maximum:
            metrics.BOUND_HITS.labels("page_size").inc()
            limit = maximum
        after = decode_cursor(cursor) if cursor else None
        return cls(limit=limit, after=after, max_bytes=max_bytes)

    def after_key(self, *types: type) -> tuple[Any, ...] | None:
        """The cursor's sort key, checked against the types the query sorts by (a cursor is
        opaque to clients but decodable, so a forged one must be refused, not reach SQL)."""
        if self.after is None:
            return None
        if len(self.after) != len(types) or not all(
            _sortable(value, kind) for value, kind in zip(self.after, types, strict=False)
        ):
            raise ValidationFailed("cursor is not one this server issued", field="cursor")
        return tuple(self.after)


def _sortable(value: Any, kind: type) -> bool:
    if type(value) is not kind:  # exact: a bool is not an int here
        return False
    return not isinstance(value, int) or -SQLITE_INT <= value < SQLITE_INT


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeError):
        raise ValidationFailed("cursor is not one this server issued", field="cursor") from None
    if not isinstance(value, list):
        raise ValidationFailed("cursor is not one this server issued", field="cursor")
    return value


def page_of(
    rows: Iterable[T], page: PageRequest, key: Callable[[T], list[Any]], size: Callable[[T], int]
) -> Page[T]:
    """Cut a lazy query result (``limit + 1`` rows at most) into a page that fits the page's
    count and bytes, and the cursor of what follows."""
    cut = within_bounds(rows, size=size, max_rows=page.limit, max_bytes=page.max_bytes)
    if not cut.has_more:
        return Page(cut.rows, None)
    return Page(cut.rows, encode_cursor(key(cut.rows[-1])))
