"""Custom field conditions written as text (REST's ``field=`` parameters, the MCP tool's
``fields``): ``FIELD=VALUE``, ``FIELD>=LOW``, ``FIELD<=HIGH``, as the search spec's
``{field_id, value | low | high}`` (the service checks the field and reads the value by its
type)."""

from __future__ import annotations

from typing import Any

from pm.errors import ValidationFailed

_OPERATORS = ((">=", "low"), ("<=", "high"), ("=", "value"))


def parse_condition(text: str) -> dict[str, Any]:
    """The first operator in the text splits it (a field's name can't hold one)."""
    found = [(text.find(op), op, part) for op, part in _OPERATORS if op in text]
    if not found:
        raise ValidationFailed(
            "a field condition is FIELD=VALUE, FIELD>=LOW or FIELD<=HIGH", field="field"
        )
    at, operator, part = min(found, key=lambda hit: (hit[0], -len(hit[1])))
    name, value = text[:at].strip(), text[at + len(operator) :]
    if not name:
        raise ValidationFailed("a field condition names its field first", field="field")
    return {"field_id": name, part: value}


def parse_conditions(texts: list[str]) -> list[dict[str, Any]]:
    return [parse_condition(text) for text in texts]
