"""Labels of a project (DOMAIN.md "Everyday fields"): a name unique in the project whatever its
case, and a colour. Editors manage them (a label is as everyday as the items it tags); deleting
one takes it off every item, in the same transaction, and ``label_deleted`` tells clients to
drop it from the items they hold."""

from __future__ import annotations

import re
from typing import Any

from pm.domain.enums import Role
from pm.domain.events import Outcome
from pm.domain.models import Label
from pm.errors import ValidationFailed
from pm.observability import metrics
from pm.services.kernel import validation as v
from pm.services.kernel.access import fresh_id, require_project, require_row_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.merge import refuse_collisions
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import label_view

DEFAULT_COLOUR = "#6b7280"
_COLOR = re.compile(r"#[0-9a-fA-F]{6}", re.ASCII)


def _name(scope: UnitOfWork, project_id: str, value: object, *, own_id: str | None) -> str:
    name = v.text(value, "name", min_len=1, max_len=50)
    taken = scope.labels.id_named(project_id, name.casefold())
    if taken is not None and taken != own_id:
        raise ValidationFailed("the project has a label of this name", field="name")
    return name


def _colour(value: object) -> str:
    if not isinstance(value, str) or _COLOR.fullmatch(value) is None:
        raise ValidationFailed("colour must be #rrggbb", field="colour")
    return value.lower()


def create_label(
    uow: UnitOfWork,
    *,
    project_id: str,
    name: str,
    colour: str | None = None,
    id: str | None = None,
) -> Outcome:
    project_id = require_project(uow, project_id, Role.EDITOR)
    bound = uow.settings.labels_max_per_project
    if uow.labels.count_live(project_id) >= bound:
        metrics.BOUND_HITS.labels("labels_per_project").inc()
        raise ValidationFailed(
            f"a project has at most {bound} labels (labels_max_per_project)", field="project_id"
        )
    label_name = _name(uow, project_id, name, own_id=None)
    label = Label(
        id=fresh_id(uow.labels, id) if id else new_id(),
        project_id=project_id,
        name=label_name,
        name_key=label_name.casefold(),
        colour=DEFAULT_COLOUR if colour is None or colour == "" else _colour(colour),
        **uow.stamps(),
    )
    uow.create(label, entity_type="label", project_id=project_id)
    return uow.respond(uow.emit("label_created", project_id, {"label": label_view(label)}))


def _live_label(uow: UnitOfWork, label_id: object) -> Label:
    return require_row_role(uow, uow.labels, label_id, Role.EDITOR, field="label_id", what="label")


def update_label(
    uow: UnitOfWork,
    *,
    label_id: str,
    expected_version: int,
    name: str | None = None,
    colour: str | None = None,
) -> Outcome:
    label = _live_label(uow, label_id)
    version = v.expected_version(expected_version)
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = _name(uow, label.project_id, name, own_id=label.id)
    if colour is not None:
        wanted["colour"] = _colour(colour)
    refuse_collisions(uow, label, version, wanted, lambda: label_view(label))
    changes = uow.apply_fields(
        label, wanted, entity_type="label", project_id=label.project_id, action="updated"
    )
    label.name_key = label.name.casefold()  # the row is in the session: written with it
    payload = {"label": label_view(label), "changes": changes}
    if not changes:
        return Outcome("label_updated", payload)
    return uow.respond(uow.emit("label_updated", label.project_id, payload))


def delete_label(uow: UnitOfWork, *, label_id: str) -> Outcome:
    label = _live_label(uow, label_id)
    uow.labels.drop_everywhere(label.id)
    uow.soft_delete(label, entity_type="label", project_id=label.project_id)
    payload = {"label_id": label.id, "project_id": label.project_id}
    return uow.respond(uow.emit("label_deleted", label.project_id, payload))
