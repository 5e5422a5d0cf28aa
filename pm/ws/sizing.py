"""How large an answer will be, roughly, before it is encoded: a small one is encoded on the
event loop (a thread hop costs more than encoding a few KB), a large one in a thread.

The walk stops as soon as the estimate passes the bound, so it costs at most about the bound's
worth of fields whatever the answer holds."""

from __future__ import annotations

from typing import Any

FIELD_OVERHEAD = 8  # a field's name, quotes and separators, about


def larger_than(value: Any, bound: int) -> bool:
    """True if ``value`` (a payload of dicts, lists, strings and scalars) encodes to more than
    about ``bound`` bytes."""
    size = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str | bytes):
            size += len(item) + 2
        elif isinstance(item, dict):
            size += FIELD_OVERHEAD * len(item)
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            size += len(item)
            pending.extend(item)
        else:
            size += FIELD_OVERHEAD
        if size > bound:
            return True
    return False
