"""Custom fields of a project (DOMAIN.md "Everyday fields"): a name unique in the project
whatever its case, a type fixed at creation, options for a select or multi_select, and
``required`` (enforced when an item is created and when its value is cleared). Admins manage
them, as they manage the project's other configuration; editors set the values
(pm.services.item_fields). Deleting a field deletes its values with it, and
``custom_field_deleted`` tells clients to drop it from the items they hold."""

from __future__ import annotations

import json
from typing import Any

from pm.domain.enums import FieldType, Role
from pm.domain.events import Outcome
from pm.domain.models import CustomField
from pm.errors import ValidationFailed
from pm.observability import metrics
from pm.services.kernel import validation as v
from pm.services.kernel.access import fresh_id, require_project, require_row_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.merge import refuse_collisions
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import custom_field_view

CHOICE_TYPES = frozenset({FieldType.SELECT, FieldType.MULTI_SELECT})
MAX_OPTION_CHARS = 100


def _name(uow: UnitOfWork, project_id: str, value: object, *, own_id: str | None) -> str:
    name = v.text(value, "name", min_len=1, max_len=50)
    taken = uow.custom_fields.id_named(project_id, name.casefold())
    if taken is not None and taken != own_id:
        raise ValidationFailed("the project has a field of this name", field="name")
    return name


def _options(uow: UnitOfWork, kind: FieldType, value: object) -> list[str]:
    """The choices of a select (distinct, 1-100 characters each, at most the bound); none for
    the other types."""
    if not isinstance(value, list):
        raise ValidationFailed("options must be a list of strings", field="options")
    if kind not in CHOICE_TYPES:
        if value:
            raise ValidationFailed(f"a {kind.value} field has no options", field="options")
        return []
    bound = uow.settings.fields_max_options
    if len(value) > bound:
        metrics.BOUND_HITS.labels("field_options").inc()
        raise ValidationFailed(
            f"a field has at most {bound} options (fields_max_options)", field="options"
        )
    options = [v.text(item, "options", min_len=1, max_len=MAX_OPTION_CHARS) for item in value]
    if not options:
        raise ValidationFailed(f"a {kind.value} field needs options", field="options")
    if len(set(options)) != len(options):
        raise ValidationFailed("options must be distinct", field="options")
    return options


def _required(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed("required must be true or false", field="required")
    return value


def create_custom_field(
    uow: UnitOfWork,
    *,
    project_id: str,
    name: str,
    field_type: str,
    options: list[str] | None = None,
    required: bool = False,
    id: str | None = None,
) -> Outcome:
    project_id = require_project(uow, project_id, Role.ADMIN)
    bound = uow.settings.fields_max_per_project
    if uow.custom_fields.count_live(project_id) >= bound:
        metrics.BOUND_HITS.labels("fields_per_project").inc()
        raise ValidationFailed(
            f"a project has at most {bound} custom fields (fields_max_per_project)",
            field="project_id",
        )
    kind = v.choice(field_type, FieldType, "field_type")
    field_name = _name(uow, project_id, name, own_id=None)
    field = CustomField(
        id=fresh_id(uow.custom_fields, id) if id else new_id(),
        project_id=project_id,
        name=field_name,
        name_key=field_name.casefold(),
        field_type=kind.value,
        options=json.dumps(_options(uow, kind, options or [])),
        required=_required(required),
        **uow.stamps(),
    )
    uow.create(field, entity_type="custom_field", project_id=project_id)
    payload = {"custom_field": custom_field_view(field)}
    return uow.respond(uow.emit("custom_field_created", project_id, payload))


def _live_field(uow: UnitOfWork, custom_field_id: object) -> CustomField:
    return require_row_role(
        uow,
        uow.custom_fields,
        custom_field_id,
        Role.ADMIN,
        field="custom_field_id",
        what="custom field",
    )


def update_custom_field(
    uow: UnitOfWork,
    *,
    custom_field_id: str,
    expected_version: int,
    name: str | None = None,
    options: list[str] | None = None,
    required: bool | None = None,
) -> Outcome:
    """Rename, change the options (none given: unchanged) or whether it is required."""
    field = _live_field(uow, custom_field_id)
    version = v.expected_version(expected_version)
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = _name(uow, field.project_id, name, own_id=field.id)
    if options:
        kept = _options(uow, FieldType(field.field_type), options)
        _refuse_removing_used(uow, field, kept)
        wanted["options"] = json.dumps(kept)
    if required is not None:
        wanted["required"] = _required(required)
    refuse_collisions(uow, field, version, wanted, lambda: custom_field_view(field))
    changes = uow.apply_fields(
        field, wanted, entity_type="custom_field", project_id=field.project_id, action="updated"
    )
    field.name_key = field.name.casefold()  # the row is in the session: written with it
    payload = {"custom_field": custom_field_view(field), "changes": changes}
    if not changes:
        return Outcome("custom_field_updated", payload)
    return uow.respond(uow.emit("custom_field_updated", field.project_id, payload))


def _refuse_removing_used(uow: UnitOfWork, field: CustomField, kept: list[str]) -> None:
    """An option some live item has can't go: its values would stop being valid."""
    for option in json.loads(field.options):
        if option not in kept:
            used = uow.custom_fields.items_using_option(field.id, option)
            if used:
                raise ValidationFailed(
                    f"option {option!r} is the value of {used} item{'s' if used != 1 else ''}",
                    field="options",
                )


def delete_custom_field(uow: UnitOfWork, *, custom_field_id: str) -> Outcome:
    field = _live_field(uow, custom_field_id)
    uow.custom_fields.drop_everywhere(field.id)
    uow.soft_delete(field, entity_type="custom_field", project_id=field.project_id)
    payload = {"custom_field_id": field.id, "project_id": field.project_id}
    return uow.respond(uow.emit("custom_field_deleted", field.project_id, payload))
