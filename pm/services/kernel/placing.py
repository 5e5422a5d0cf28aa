"""A place in a short ordered list of a project's rows (swim lanes, workflow states): an order
key after ``after_id`` and/or before ``before_id``, by default last."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pm.domain.ordering import key_between
from pm.errors import ValidationFailed


class Placed(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def position(self) -> str: ...


def position_among(
    rows: Sequence[Placed],
    moving: str | None,
    after_id: str | None,
    before_id: str | None,
    *,
    what: str,
) -> str:
    """``rows`` in order; ``moving`` the row being placed (left out), None for a new one;
    ``what`` names the kind of row in a refusal."""
    others = [row for row in rows if row.id != moving]
    keys = {row.id: index for index, row in enumerate(others)}
    for name, ref in (("after_id", after_id), ("before_id", before_id)):
        if ref and ref not in keys:
            raise ValidationFailed(f"{name} is not a {what} of this project", field=name)
    low: str | None = others[-1].position if others else None
    high: str | None = None
    if after_id:
        index = keys[after_id]
        following = others[index + 1] if index + 1 < len(others) else None
        if before_id and (following is None or following.id != before_id):
            raise ValidationFailed("after_id and before_id must be neighbours", field="before_id")
        low, high = others[index].position, following.position if following else None
    elif before_id:
        index = keys[before_id]
        low = others[index - 1].position if index > 0 else None
        high = others[index].position
    return key_between(low, high)
