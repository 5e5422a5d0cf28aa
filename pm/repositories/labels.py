"""Labels of projects and the labels on items (``item_labels``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from pm.domain.models import Label
from pm.repositories.base import Entities, placeholders

_LIVE_COUNT = "SELECT count(*) FROM labels WHERE project_id = ? AND deleted_at IS NULL"
_NAME_TAKEN = "SELECT id FROM labels WHERE project_id = ? AND name_key = ? AND deleted_at IS NULL"
_OF_ITEMS = "SELECT item_id, label_id FROM item_labels WHERE item_id IN ({marks}) ORDER BY label_id"
_KEYS = "SELECT id, name_key FROM labels WHERE project_id IN ({marks}) AND deleted_at IS NULL"
_ADD = "INSERT OR IGNORE INTO item_labels (item_id, label_id) VALUES (?, ?)"
_REMOVE = "DELETE FROM item_labels WHERE item_id = ? AND label_id = ?"
_ITEMS_WITH = "SELECT item_id FROM item_labels WHERE label_id = ? ORDER BY item_id"
_DROP_LABEL = "DELETE FROM item_labels WHERE label_id = ?"


class LabelRepository(Entities[Label]):
    model = Label

    def live_in_project(self, project_id: str) -> list[Label]:
        """By name (casefolded), then id."""
        return self._live(
            Label.project_id == project_id, order_by=(col(Label.name_key), col(Label.id))
        )

    def live_of_projects(self, project_ids: Sequence[str]) -> list[Label]:
        if not project_ids:
            return []
        query = select(Label).where(
            col(Label.project_id).in_(project_ids), col(Label.deleted_at).is_(None)
        )
        return list(self._session.exec(query).all())

    def count_live(self, project_id: str) -> int:
        return int(self._scalar(_LIVE_COUNT, (project_id,)))

    def id_named(self, project_id: str, name_key: str) -> str | None:
        """The live label of this casefolded name in the project."""
        found: str | None = self._scalar(_NAME_TAKEN, (project_id, name_key))
        return found

    def live_keys(self, project_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(id, casefolded name) of the live labels of these projects."""
        if not project_ids:
            return []
        sql = _KEYS.format(marks=placeholders(len(project_ids)))
        return [(row[0], row[1]) for row in self._rows(sql, list(project_ids))]

    def of_items(self, item_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each item's label ids (sorted); items without labels are absent."""
        if not item_ids:
            return {}
        found: dict[str, list[str]] = {}
        for item_id, label_id in self._rows(
            _OF_ITEMS.format(marks=placeholders(len(item_ids))), item_ids
        ):
            found.setdefault(item_id, []).append(label_id)
        return found

    def add_to_item(self, item_id: str, label_ids: Sequence[str]) -> None:
        self._driver().executemany(_ADD, [(item_id, label_id) for label_id in label_ids])

    def remove_from_item(self, item_id: str, label_ids: Sequence[str]) -> None:
        self._driver().executemany(_REMOVE, [(item_id, label_id) for label_id in label_ids])

    def items_with(self, label_id: str) -> list[str]:
        return self._column(_ITEMS_WITH, (label_id,))

    def drop_everywhere(self, label_id: str) -> None:
        """The label off every item (it is being deleted)."""
        self._execute(_DROP_LABEL, (label_id,))
