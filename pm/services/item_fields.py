"""An item's labels and custom field values: checked by type, written to their own tables
(``item_labels``; ``item_field_values``, one row per value), read into the item's view.

Both merge like the item's columns. Labels change as sets (``add_labels``/``remove_labels``):
two people adding labels at the same version both land, and neither collides with any other
field. Each custom field is a field of its own for the merge (``custom_fields.<id>`` in the
activity log): two people setting different fields at the same version both land; setting the
same one that changed since the version seen is a CONFLICT, as for a column.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pm.domain.enums import FieldType
from pm.domain.models import CustomField, WorkItem
from pm.errors import NotFound, ValidationFailed
from pm.observability import metrics
from pm.repositories.custom_fields import StoredValue
from pm.services.kernel import validation as v
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import FieldChange, UnitOfWork
from pm.services.views import FieldValue

FIELD_PREFIX = "custom_fields."
LABELS = "labels"
MAX_URL_CHARS = 2048
ValueRows = list[tuple[str | None, float | None]]  # (value_text, value_number) per stored row


def field_key(field_id: str) -> str:
    """The name of a custom field in the activity log, the merge and ``changes``."""
    return FIELD_PREFIX + field_id


@dataclass(frozen=True)
class Cleaned:
    """One custom field's checked value: as the view shows it (None: cleared) and as stored."""

    field: CustomField
    value: FieldValue | None
    rows: ValueRows

    @property
    def searchable(self) -> bool:
        return self.field.field_type == FieldType.TEXT


@dataclass
class Extras:
    """What one create or update asks of an item's labels and custom fields."""

    add_labels: list[str] = field(default_factory=list)
    remove_labels: list[str] = field(default_factory=list)
    values: dict[str, Cleaned] = field(default_factory=dict)

    def collisions(self) -> dict[str, str | None]:
        """The custom fields it sets, as the merge compares them (labels never collide)."""
        return {field_key(fid): value_text(c.value) for fid, c in self.values.items()}


def value_text(value: FieldValue | None) -> str | None:
    """A value as the activity log and ``changes`` hold it: a string as it is, a number or a
    list as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


# -- labels ---------------------------------------------------------------------------------


def resolve_labels(scope: Scope, project_ids: Sequence[str], refs: object, name: str) -> list[str]:
    """The ids of the live labels ``refs`` names (each an id or a name, any case) in these
    projects, distinct and in order; an unknown one is a VALIDATION_ERROR naming it."""
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        raise ValidationFailed(f"{name} must be a list of label ids or names", field=name)
    if not refs:
        return []
    known = scope.labels.live_keys(project_ids)
    by_id = {label_id: label_id for label_id, _key in known}
    by_name = {key: label_id for label_id, key in known}
    found: list[str] = []
    for ref in refs:
        label_id = by_id.get(ref) or by_name.get(ref.strip().casefold())
        if label_id is None:
            raise NotFound(f"no label {ref[:50]!r} in this project", field=name)
        if label_id not in found:
            found.append(label_id)
    return found


def _bound_labels(scope: UnitOfWork, count: int) -> None:
    bound = scope.settings.labels_max_per_item
    if count > bound:
        metrics.BOUND_HITS.labels("labels_per_item").inc()
        raise ValidationFailed(
            f"an item has at most {bound} labels (labels_max_per_item)", field=LABELS
        )


# -- custom field values ----------------------------------------------------------------------


def clean_values(
    uow: UnitOfWork, project_id: str, given: object, *, creating: bool
) -> dict[str, Cleaned]:
    """Each value of ``given`` (field id or name -> value) checked by its field's type; a
    required field can't be cleared, nor left out when ``creating``."""
    if not isinstance(given, Mapping):
        raise ValidationFailed(
            "custom_fields must be a map of field to value", field="custom_fields"
        )
    fields = uow.custom_fields.live_in_project(project_id) if given or creating else []
    by_ref = {f.id: f for f in fields} | {f.name_key: f for f in fields}
    cleaned: dict[str, Cleaned] = {}
    for ref, value in given.items():
        found = (
            (by_ref.get(ref) or by_ref.get(ref.strip().casefold()))
            if isinstance(ref, str)
            else None
        )
        if found is None:
            name = f"custom_fields.{str(ref)[:50]}"
            raise NotFound("no such custom field in this project", field=name)
        cleaned[found.id] = _clean(uow, found, value)
    for required in (f for f in fields if f.required):
        value_given = cleaned.get(required.id)
        if (value_given is None and creating) or (value_given and value_given.value is None):
            raise ValidationFailed(f"{required.name} is required", field=field_key(required.id))
    return cleaned


def clean_required_on_create(uow: UnitOfWork, project_id: str) -> None:
    """A create that names no custom field: one indexed statement for the required ones."""
    required = uow.custom_fields.required_in(project_id)
    if required:
        field_id, name = required[0]
        raise ValidationFailed(f"{name} is required", field=field_key(field_id))


def _empty(value: object) -> bool:
    return value is None or value == "" or value == []


def _clean(uow: UnitOfWork, custom: CustomField, value: object) -> Cleaned:
    if _empty(value):
        return Cleaned(custom, None, [])
    name = field_key(custom.id)
    kind = FieldType(custom.field_type)
    if kind is FieldType.NUMBER:
        number = _number(value, name)
        return Cleaned(custom, number, [(None, number)])
    if kind is FieldType.MULTI_SELECT:
        chosen = _options_of(custom, value, name)
        return Cleaned(custom, chosen, [(option, None) for option in chosen])
    text = _text_value(uow, custom, kind, value, name)
    return Cleaned(custom, text, [(text, None)])


def _text_value(
    uow: UnitOfWork, custom: CustomField, kind: FieldType, value: object, name: str
) -> str:
    if kind is FieldType.TEXT:
        return v.text(value, name, min_len=1, max_len=uow.settings.fields_max_text_chars)
    if kind is FieldType.DATE:
        day = v.iso_date(value, name)
        assert day is not None  # not empty
        return day
    if kind is FieldType.SELECT:
        if not isinstance(value, str) or value not in json.loads(custom.options):
            raise ValidationFailed(f"{custom.name} must be one of its options", field=name)
        return value
    if kind is FieldType.USER:
        return _member(uow, custom.project_id, value, name)
    return _url(value, name)


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed("a number field takes a number", field=name)
    number = float(value)
    if not math.isfinite(number):
        raise ValidationFailed("a number field takes a finite number", field=name)
    return number


def _options_of(custom: CustomField, value: object, name: str) -> list[str]:
    """The chosen options, distinct, in the field's order."""
    options: list[str] = json.loads(custom.options)
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise ValidationFailed(f"{custom.name} takes a list of its options", field=name)
    if len(value) > len(options):  # more than every option: repeats, refused before a scan
        raise ValidationFailed(f"{custom.name} has {len(options)} options", field=name)
    known = set(options)
    unknown = [o for o in value if o not in known]
    if unknown:
        raise ValidationFailed(
            f"{unknown[0][:100]!r} is not an option of {custom.name}", field=name
        )
    return [o for o in options if o in value]


def _member(uow: UnitOfWork, project_id: str, value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > 255:
        raise ValidationFailed("a user field takes a user id", field=name)
    found = uow.members.role_lookup(value, project_id)
    if found is None or found[2] is None:
        raise ValidationFailed("a user field takes a member of the project", field=name)
    return value


def _url(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise ValidationFailed(f"a url field takes at most {MAX_URL_CHARS} characters", field=name)
    parts = urlsplit(value) if value.isprintable() and " " not in value else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("a url field takes an http or https URL", field=name)
    return value


# -- writing --------------------------------------------------------------------------------


def write_new(
    uow: UnitOfWork, item: WorkItem, labels: list[str], values: dict[str, Cleaned]
) -> None:
    """The labels and values of an item being created (nothing to write: no statement)."""
    if labels:
        _bound_labels(uow, len(labels))
        uow.labels.add_to_item(item.id, labels)
    for field_id, cleaned in values.items():
        uow.custom_fields.replace_value(
            item.id, field_id, cleaned.rows, searchable=cleaned.searchable
        )


def apply_extras(
    uow: UnitOfWork, item: WorkItem, extras: Extras, *, action: str, bumped: bool
) -> list[FieldChange]:
    """Write what really changes of the item's labels and values, recorded after its columns'
    changes (``bumped``: they already took the version up)."""
    current_labels, current_values = extras_of(uow, [item.id])
    changed: list[tuple[str, Any, Any]] = []
    before = current_labels.get(item.id, [])
    adding = [label for label in extras.add_labels if label not in before]
    removing = [label for label in extras.remove_labels if label in before and label not in adding]
    if adding or removing:
        after = sorted((set(before) | set(adding)) - set(removing))
        _bound_labels(uow, len(after))
        uow.labels.add_to_item(item.id, adding)
        uow.labels.remove_from_item(item.id, removing)
        changed.append((LABELS, ",".join(before), ",".join(after)))
    stored = current_values.get(item.id, {})
    for field_id, cleaned in extras.values.items():
        old = stored.get(field_id)
        if old != cleaned.value:
            uow.custom_fields.replace_value(
                item.id, field_id, cleaned.rows, searchable=cleaned.searchable
            )
            changed.append((field_key(field_id), value_text(old), value_text(cleaned.value)))
    return uow.record_changes(
        item,
        changed,
        entity_type="work_item",
        project_id=item.project_id,
        action=action,
        bumped=bumped,
    )


# -- reading --------------------------------------------------------------------------------


def extras_of(
    scope: Scope, item_ids: Sequence[str]
) -> tuple[dict[str, list[str]], dict[str, dict[str, FieldValue]]]:
    """The labels and custom field values of these items, two statements."""
    labels = scope.labels.of_items(item_ids)
    values = {
        item_id: _as_values(rows)
        for item_id, rows in scope.custom_fields.values_of(item_ids).items()
    }
    return labels, values


def _as_values(rows: list[StoredValue]) -> dict[str, FieldValue]:
    values: dict[str, FieldValue] = {}
    for row in rows:
        if row.field_type == FieldType.MULTI_SELECT:
            chosen = values.setdefault(row.field_id, [])
            assert isinstance(chosen, list)
            chosen.append(row.text or "")
        elif row.number is not None:
            values[row.field_id] = row.number
        else:
            values[row.field_id] = row.text or ""
    return values
