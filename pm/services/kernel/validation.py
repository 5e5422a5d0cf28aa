"""Value rules shared by the commands: each raises ``ValidationFailed`` naming the field."""

from __future__ import annotations

import re
import uuid
from datetime import date
from enum import StrEnum
from typing import TypeVar

from pm.errors import ValidationFailed

E = TypeVar("E", bound=StrEnum)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def text(value: object, field: str, *, min_len: int = 0, max_len: int, trim: bool = True) -> str:
    """A string within ``min_len..max_len`` characters (after trimming when ``trim``)."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string", field=field)
    result = value.strip() if trim else value
    if len(result) < min_len:
        raise ValidationFailed(
            f"{field} must not be empty" if min_len == 1 else f"{field} is too short", field=field
        )
    if len(result) > max_len:
        raise ValidationFailed(f"{field} must be at most {max_len} characters", field=field)
    return result


def choice(value: object, enum: type[E], field: str) -> E:
    allowed = ", ".join(member.value for member in enum)
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be one of: {allowed}", field=field)
    try:
        return enum(value)
    except ValueError:
        raise ValidationFailed(f"{field} must be one of: {allowed}", field=field) from None


def entity_id(value: object, field: str) -> str:
    """A UUID string, returned in canonical lowercase form."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a UUID string", field=field)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationFailed(f"{field} must be a UUID", field=field) from None


def optional_ref(value: object, field: str) -> str | None:
    """A reference that may be cleared: None or the empty string mean none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 255:
        raise ValidationFailed(f"{field} must be an id string", field=field)
    return value


def int_range(value: object, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{field} must be an integer", field=field)
    if not low <= value <= high:
        raise ValidationFailed(f"{field} must be between {low} and {high}", field=field)
    return value


def iso_date(value: object, field: str) -> str | None:
    """A calendar date ``YYYY-MM-DD`` (or None / empty string for none)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or _DATE.fullmatch(value) is None:
        raise ValidationFailed(f"{field} must be a date YYYY-MM-DD", field=field)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{field} is not a real calendar date", field=field) from None
    return value


def expected_version(value: object) -> int:
    return int_range(value, "expected_version", low=1, high=2**62)


def known_fields(fields: dict[str, object], allowed: frozenset[str]) -> None:
    for name in fields:
        if name not in allowed:
            raise ValidationFailed(f"{name} is not a field that can be set here", field=name)
