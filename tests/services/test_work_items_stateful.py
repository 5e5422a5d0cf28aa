"""A model-based test: random creates, moves, updates and deletes of work items against a
simple in-memory model, checking the invariants of DOMAIN.md after every step."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import text

from pm.bus.memory import MemoryBus
from pm.domain.enums import ALLOWED_PARENTS, ItemType
from pm.errors import PmError
from pm.services import work_items
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.projects import project_items_as_of
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager

from .factories import ctx_for

ALICE = ctx_for("alice")
CHILD_TYPES = (ItemType.EPIC, ItemType.STORY, ItemType.TASK)


class WorkItemMachine(RuleBasedStateMachine):
    items = Bundle("items")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.TemporaryDirectory()
        self.manager = TenantConnectionManager(TenancyConfig(tenants_root=Path(self.dir.name)))
        self.runner = ServiceRunner(self.manager, MemoryBus())
        project = self.run(work_items.create_work_item, item_type="project", title="P").payload[
            "work_item"
        ]
        self.root = project["id"]
        # the model: id -> (type, parent, version, title); order of siblings as lists
        self.model: dict[str, dict[str, Any]] = {
            self.root: {"type": ItemType.PROJECT, "parent": None, "version": 1, "title": "P"}
        }
        self.order: dict[str, list[str]] = {self.root: []}
        self.deleted: set[str] = set()
        self.max_version: dict[str, int] = {self.root: 1}

    def run(self, fn: Any, **kwargs: Any) -> Any:
        return self.loop.run_until_complete(self.runner.command(ALICE, fn, **kwargs))

    def teardown(self) -> None:
        self.manager.close()
        self.loop.close()
        self.dir.cleanup()

    def _live(self) -> list[str]:
        return [i for i in self.model if i not in self.deleted]

    @rule(
        target=items,
        kind=st.sampled_from(CHILD_TYPES),
        pick=st.integers(0, 10_000),
        title=st.text("abc xyz", min_size=1, max_size=12),
    )
    def create(self, kind: ItemType, pick: int, title: str) -> str:
        live = self._live()
        parent = live[pick % len(live)]
        allowed = self.model[parent]["type"] in ALLOWED_PARENTS[kind]
        if not title.strip():
            allowed = False
        try:
            out = self.run(
                work_items.create_work_item, item_type=kind.value, parent_id=parent, title=title
            )
        except PmError as exc:
            assert not allowed, exc.message
            return parent
        assert allowed
        item = out.payload["work_item"]
        self.model[item["id"]] = {
            "type": kind,
            "parent": parent,
            "version": 1,
            "title": title.strip(),
        }
        self.order[item["id"]] = []
        self.order[parent].append(item["id"])
        self.max_version[item["id"]] = 1
        return str(item["id"])

    @rule(item=items, title=st.text("abc", min_size=1, max_size=8))
    def update(self, item: str, title: str) -> None:
        if item in self.deleted or item == self.root:
            return
        entry = self.model[item]
        out = self.run(
            work_items.update_work_item,
            work_item_id=item,
            expected_version=entry["version"],
            fields={"title": title},
        )
        if title.strip() != entry["title"]:
            entry["version"] += 1
            entry["title"] = title.strip()
        assert out.payload["work_item"]["version"] == entry["version"]

    @rule(item=items, anchor=items)
    def move_after(self, item: str, anchor: str) -> None:
        if item in self.deleted or anchor in self.deleted or item == self.root or item == anchor:
            return
        entry = self.model[item]
        if self.model[anchor]["parent"] != entry["parent"]:
            return
        out = self.run(
            work_items.move_work_item,
            work_item_id=item,
            expected_version=entry["version"],
            after_id=anchor,
        )
        siblings = self.order[entry["parent"]]
        siblings.remove(item)
        siblings.insert(siblings.index(anchor) + 1, item)
        version = out.payload["work_item"]["version"]
        assert version in (entry["version"], entry["version"] + 1)  # same if already in place
        entry["version"] = version

    @precondition(lambda self: len(self.model) > 1)
    @rule(item=items)
    def delete(self, item: str) -> None:
        if item in self.deleted or item == self.root:
            return
        entry = self.model[item]
        live_children = [c for c in self.order[item] if c not in self.deleted]
        try:
            self.run(
                work_items.delete_work_item, work_item_id=item, expected_version=entry["version"]
            )
        except PmError as exc:
            assert exc.code == "DELETE_BLOCKED" and live_children
            return
        assert not live_children
        self.deleted.add(item)
        self.order[entry["parent"]].remove(item)

    @invariant()
    def matches_the_model(self) -> None:
        rows = self.loop.run_until_complete(
            self.runner.query(ALICE, project_items_as_of, project_id=self.root)
        )["work_items"]
        stored = {r["id"]: r for r in rows}
        assert set(stored) == set(self._live())
        for item_id, row in stored.items():
            entry = self.model[item_id]
            assert row["parent_id"] == entry["parent"]
            assert row["version"] == entry["version"] >= self.max_version[item_id]
            self.max_version[item_id] = row["version"]
            assert (
                ItemType(self.model[row["parent_id"]]["type"]) in ALLOWED_PARENTS[entry["type"]]
                if row["parent_id"]
                else True
            )
        for parent, children in self.order.items():
            if parent in self.deleted:
                continue
            by_position = sorted((c for c in children), key=lambda c: stored[c]["position"])
            assert by_position == children

    @invariant()
    def every_change_has_its_activity(self) -> None:
        def count(session: Any) -> list[tuple[str, int, int]]:
            return list(
                session.connection().execute(
                    text(
                        "SELECT w.id, w.version, (SELECT count(DISTINCT a.version) "
                        "FROM activity_log a WHERE a.entity_id = w.id) FROM work_items w"
                    )
                )
            )

        for item_id, version, versions_logged in self.manager.open_sync("acme").read_sync(count):
            assert versions_logged == version, item_id


TestWorkItemMachine = WorkItemMachine.TestCase
TestWorkItemMachine.settings = settings(
    max_examples=12, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
)
