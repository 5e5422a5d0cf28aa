"""A constructed history for cycle and lead time: items moved through their statuses by real
commands, then each change restamped in the tenant file to a chosen instant (hours after
``T0``, midnight UTC ten days ago, so the default range of 30 days holds it too), so every
door's figures can be asserted exactly.

The history, and what the report from SINCE to UNTIL must say of it:
- Reviewed: todo, in progress +24 h, review +48 h, done +72 h          lead 72 h, cycle 48 h
- Reopened: in progress +10 h, done +20 h, reopened +30 h, done +100 h  lead 20 h, cycle 10 h
- Never started: todo, done +5 h                                        lead 5 h, no cycle
- Born in progress: created in progress, done +48 h                    lead 48 h, cycle 48 h
- Straight to review: review +6 h, done +30 h                          lead 30 h, cycle 24 h
- Started after done: backlog, done +12 h, in progress +20 h, done +40  lead 12 h, no cycle
- Deleted (done +2 h, then deleted), Still open (only started), Done earlier (first done
  before the range, done again in it) and an item of another project: not in the report.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pm.config import Settings
from pm.services import work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.wiring import build_components
from tests.services.factories import ctx_for, make_item, make_project

DAY0 = datetime.now(UTC).date() - timedelta(days=10)  # inside the default window of 30 days
T0 = int(datetime(DAY0.year, DAY0.month, DAY0.day, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
SINCE, UNTIL = str(DAY0 - timedelta(days=1)), str(DAY0 + timedelta(days=20))
EARLIER = str(DAY0 - timedelta(days=25)), str(DAY0 - timedelta(days=2))

# name: (created at, status at creation, [(hours after T0, new status)], deleted at)
STORIES: dict[str, tuple[int, str, list[tuple[int, str]], int | None]] = {
    "Reviewed": (0, "todo", [(24, "in_progress"), (48, "review"), (72, "done")], None),
    "Reopened": (
        0,
        "todo",
        [(10, "in_progress"), (20, "done"), (30, "in_progress"), (100, "done")],
        None,
    ),
    "Never started": (0, "todo", [(5, "done")], None),
    "Born in progress": (0, "in_progress", [(48, "done")], None),
    "Straight to review": (0, "todo", [(6, "review"), (30, "done")], None),
    "Started after done": (0, "backlog", [(12, "done"), (20, "in_progress"), (40, "done")], None),
    "Deleted": (0, "todo", [(1, "in_progress"), (2, "done")], 3),
    "Still open": (0, "todo", [(4, "in_progress")], None),
    "Done earlier": (-600, "todo", [(-500, "done"), (-400, "in_progress"), (72, "done")], None),
}
# (started hours or None, completed hours, lead hours) of the items the report holds, in
# completion order
EXPECTED = {
    "Never started": (None, 5, 5),
    "Started after done": (None, 12, 12),
    "Reopened": (10, 20, 20),
    "Straight to review": (6, 30, 30),
    "Born in progress": (0, 48, 48),
    "Reviewed": (24, 72, 72),
}
# nearest rank over leads [5, 12, 20, 30, 48, 72] h and cycles [10, 24, 48, 48] h
LEAD = {"count": 6, "p50_ms": 20 * HOUR, "p85_ms": 72 * HOUR, "p95_ms": 72 * HOUR}
CYCLE = {"count": 4, "p50_ms": 24 * HOUR, "p85_ms": 48 * HOUR, "p95_ms": 48 * HOUR}


@dataclass
class History:
    project_id: str
    other_project_id: str
    ids: dict[str, str] = field(default_factory=dict)
    stamps: list[tuple[str, int, int]] = field(default_factory=list)  # (item, version, at)


async def build_history(runner: ServiceRunner, ctx: RequestContext) -> History:
    """The items of ``STORIES`` (and a bystander project), changed by real commands; the
    instants are applied by ``restamp``."""
    project = await make_project(runner, ctx, "Flow")
    other = await make_project(runner, ctx, "Elsewhere")
    history = History(project["id"], other["id"])
    for name, (created, status, moves, deleted) in STORIES.items():
        item = await make_item(runner, ctx, project, title=name, status=status)
        await _story(runner, ctx, history, item, created, moves, deleted)
        history.ids[name] = item["id"]
    bystander = await make_item(runner, ctx, other, title="Elsewhere done", status="todo")
    await _story(runner, ctx, history, bystander, 0, [(10, "done")], None)
    return history


async def _story(
    runner: ServiceRunner,
    ctx: RequestContext,
    history: History,
    item: dict[str, object],
    created: int,
    moves: list[tuple[int, str]],
    deleted: int | None,
) -> None:
    item_id, version = str(item["id"]), 1
    history.stamps.append((item_id, 1, T0 + created * HOUR))
    for hours, status in moves:
        await runner.command(
            ctx,
            work_items.update_work_item,
            work_item_id=item_id,
            expected_version=version,
            fields={"status": status},
        )
        version += 1
        history.stamps.append((item_id, version, T0 + hours * HOUR))
    if deleted is not None:
        await runner.command(
            ctx, work_items.delete_work_item, work_item_id=item_id, expected_version=version
        )
        history.stamps.append((item_id, version + 1, T0 + deleted * HOUR))


def restamp(db_path: Path, history: History) -> None:
    """Put every recorded change at its instant: activity rows by (item, version), and the
    item's creation time."""
    with sqlite3.connect(db_path, timeout=30) as db:
        for item_id, version, at in history.stamps:
            db.execute(
                "UPDATE activity_log SET at = ? WHERE entity_id = ? AND version = ?",
                (at, item_id, version),
            )
            if version == 1:
                db.execute("UPDATE work_items SET created_at = ? WHERE id = ?", (at, item_id))
    db.close()


def expected_items(history: History) -> list[dict[str, object]]:
    """The report's ``items``, as every door must give them."""
    return [
        {
            "work_item_id": history.ids[name],
            "title": name,
            "item_type": "task",
            "created_at": T0 + (completed - lead) * HOUR,
            "started_at": None if started is None else T0 + started * HOUR,
            "completed_at": T0 + completed * HOUR,
            "cycle_time_ms": None if started is None else (completed - started) * HOUR,
            "lead_time_ms": lead * HOUR,
        }
        for name, (started, completed, lead) in EXPECTED.items()
    ]


def seed_history(settings: Settings) -> History:
    """The history in the tenant ``acme`` of the settings' data dir (before a server starts),
    made by alice, who admins both projects."""
    components = build_components(settings)

    async def run() -> History:
        return await build_history(components.services, ctx_for("alice"))

    try:
        history = asyncio.run(run())
    finally:
        components.tenants.close()
    restamp(settings.data_dir / "tenants" / "acme" / "main.db", history)
    return history


def as_numbers(value: Any) -> Any:
    """A report as read from a door, with the int64 fields proto3 JSON sends as strings made
    numbers again (absent optional fields are None, as the service gives them)."""
    if isinstance(value, list):
        return [as_numbers(v) for v in value]
    if isinstance(value, dict):
        return {
            k: int(v) if k in _INT64 and v is not None else as_numbers(v) for k, v in value.items()
        }
    return value


_INT64 = {
    "created_at",
    "started_at",
    "completed_at",
    "cycle_time_ms",
    "lead_time_ms",
    "p50_ms",
    "p85_ms",
    "p95_ms",
}


def with_absent_as_none(report: dict[str, Any]) -> dict[str, Any]:
    """Fill the optional fields a protobuf answer leaves out when they are none."""
    for item in report.get("items", []):
        item.setdefault("started_at", None)
        item.setdefault("cycle_time_ms", None)
    for key in ("cycle_time", "lead_time"):
        for name in ("p50_ms", "p85_ms", "p95_ms"):
            report[key].setdefault(name, None)
    report.setdefault("items", [])
    report.setdefault("has_more", False)
    return report
