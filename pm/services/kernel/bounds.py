"""The byte bound of every answer: a page, a snapshot or a list holds at most a count of rows
and at most ``max_response_bytes`` of their content, whichever comes first; what is left is
said (``has_more``, a cursor), never dropped silently.

Rows are taken from a lazy result one at a time, so a query reads from the database only what
the answer can hold (plus the one row that shows there is more), however large the rows are.
The first row is always kept: an answer always moves a client on, even past one huge row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pm.observability import metrics

T = TypeVar("T")
ROW_OVERHEAD_BYTES = 256  # ids, stamps and field names of a row, however short its text


@dataclass(frozen=True)
class Cut(Generic[T]):
    rows: list[T]
    has_more: bool


def within_bounds(
    rows: Iterable[T], *, size: Callable[[T], int], max_rows: int, max_bytes: int
) -> Cut[T]:
    """The leading rows that fit ``max_rows`` and ``max_bytes`` (by ``size``, plus a fixed
    overhead per row); ``has_more`` if any row was left behind."""
    kept: list[T] = []
    used = 0
    for row in rows:
        cost = size(row) + ROW_OVERHEAD_BYTES
        if len(kept) >= max_rows or (kept and used + cost > max_bytes):
            if len(kept) < max_rows:
                metrics.BOUND_HITS.labels("response_bytes").inc()
            return Cut(kept, True)
        kept.append(row)
        used += cost
    return Cut(kept, False)


def text_size(*texts: str | None) -> int:
    """The characters of a row's free text, the part of its size that varies."""
    return sum(len(text) for text in texts if text)
