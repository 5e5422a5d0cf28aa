"""Custom fields of projects and their values on items (``item_field_values``, one row per
value: a multi_select has one per chosen option)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from pm.domain.models import CustomField
from pm.repositories.base import Entities, placeholders

_LIVE_COUNT = "SELECT count(*) FROM custom_fields WHERE project_id = ? AND deleted_at IS NULL"
_NAME_TAKEN = (
    "SELECT id FROM custom_fields WHERE project_id = ? AND name_key = ? AND deleted_at IS NULL"
)
_REQUIRED = (
    "SELECT id, name FROM custom_fields"
    " WHERE project_id = ? AND required AND deleted_at IS NULL ORDER BY name_key, id"
)
_OF_ITEMS = (
    "SELECT v.item_id, v.field_id, f.field_type, v.value_text, v.value_number"
    " FROM item_field_values v JOIN custom_fields f ON f.id = v.field_id"
    " WHERE v.item_id IN ({marks}) ORDER BY v.item_id, v.field_id, v.id"
)
_INSERT = (
    "INSERT INTO item_field_values (item_id, field_id, value_text, value_number, searchable)"
    " VALUES (?, ?, ?, ?, ?)"
)
_CLEAR = "DELETE FROM item_field_values WHERE item_id = ? AND field_id = ?"
_DROP_FIELD = "DELETE FROM item_field_values WHERE field_id = ?"
_USES_OPTION = (
    "SELECT count(DISTINCT item_id) FROM item_field_values w"
    " WHERE field_id = ? AND value_text = ?"
    " AND EXISTS (SELECT 1 FROM work_items i WHERE i.id = w.item_id AND i.deleted_at IS NULL)"
)


@dataclass(frozen=True)
class StoredValue:
    """One row of a value: ``text`` or ``number``, as stored, with its field's type."""

    field_id: str
    field_type: str
    text: str | None
    number: float | None


class CustomFieldRepository(Entities[CustomField]):
    model = CustomField

    def live_in_project(self, project_id: str) -> list[CustomField]:
        """By name (casefolded), then id."""
        return self._live(
            CustomField.project_id == project_id,
            order_by=(col(CustomField.name_key), col(CustomField.id)),
        )

    def live_of_projects(self, project_ids: Sequence[str]) -> list[CustomField]:
        if not project_ids:
            return []
        query = select(CustomField).where(
            col(CustomField.project_id).in_(project_ids), col(CustomField.deleted_at).is_(None)
        )
        return list(self._session.exec(query).all())

    def count_live(self, project_id: str) -> int:
        return int(self._scalar(_LIVE_COUNT, (project_id,)))

    def id_named(self, project_id: str, name_key: str) -> str | None:
        found: str | None = self._scalar(_NAME_TAKEN, (project_id, name_key))
        return found

    def required_in(self, project_id: str) -> list[tuple[str, str]]:
        """(id, name) of the project's live required fields: one indexed statement, asked by
        every create."""
        return [(row[0], row[1]) for row in self._rows(_REQUIRED, (project_id,))]

    def values_of(self, item_ids: Sequence[str]) -> dict[str, list[StoredValue]]:
        """Each item's value rows, by field; items without values are absent."""
        if not item_ids:
            return {}
        found: dict[str, list[StoredValue]] = {}
        sql = _OF_ITEMS.format(marks=placeholders(len(item_ids)))
        for item_id, field_id, field_type, text, number in self._rows(sql, item_ids):
            found.setdefault(item_id, []).append(StoredValue(field_id, field_type, text, number))
        return found

    def replace_value(
        self,
        item_id: str,
        field_id: str,
        rows: Sequence[tuple[str | None, float | None]],
        *,
        searchable: bool,
    ) -> None:
        """The field's value on the item becomes ``rows`` (text, number) ([]: none)."""
        driver = self._driver()
        driver.execute(_CLEAR, (item_id, field_id))
        driver.executemany(
            _INSERT, [(item_id, field_id, text, number, searchable) for text, number in rows]
        )

    def drop_everywhere(self, field_id: str) -> None:
        self._execute(_DROP_FIELD, (field_id,))

    def items_using_option(self, field_id: str, option: str) -> int:
        return int(self._scalar(_USES_OPTION, (field_id, option)))
