"""Cycle and lead time from the activity log, on a constructed history (tests/flow_history.py):
exact figures, the range's edges, bounds, and every refusal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from pm.config import Settings
from pm.domain.events import Event
from pm.repositories.activity import items_entering_sql
from pm.services import work_items
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.cycle_time import durations, get_cycle_time
from pm.tenancy.manager import TenantConnectionManager
from pm.wiring import build_bus, build_services
from tests.flow_history import (
    CYCLE,
    DAY0,
    EARLIER,
    HOUR,
    LEAD,
    SINCE,
    T0,
    UNTIL,
    History,
    build_history,
    expected_items,
    restamp,
)

from .factories import Refusal, add_member, ctx_for, make_item, make_project

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]


def tenant_file(settings: Settings) -> Path:
    return settings.data_dir / "tenants" / "acme" / "main.db"


@pytest.fixture
async def history(runner: ServiceRunner, settings: Settings) -> History:
    built = await build_history(runner, ALICE)
    restamp(tenant_file(settings), built)
    return built


async def test_report_gives_exact_figures_of_the_history(
    runner: ServiceRunner, history: History
) -> None:
    report = await runner.query(
        ALICE, get_cycle_time, project_id=history.project_id, since=SINCE, until=UNTIL
    )
    assert report["items"] == expected_items(history)
    assert report["lead_time"] == LEAD
    assert report["cycle_time"] == CYCLE
    assert (report["since"], report["until"], report["has_more"]) == (SINCE, UNTIL, False)


async def test_first_completion_before_the_range_keeps_an_item_out(
    runner: ServiceRunner, history: History
) -> None:
    since, until = EARLIER
    earlier = await runner.query(
        ALICE, get_cycle_time, project_id=history.project_id, since=since, until=until
    )
    assert [i["title"] for i in earlier["items"]] == ["Done earlier"]
    (item,) = earlier["items"]
    assert (item["lead_time_ms"], item["cycle_time_ms"]) == (100 * HOUR, None)


async def test_range_is_whole_utc_days_both_ends_inclusive(
    runner: ServiceRunner, history: History
) -> None:
    # "Never started" is done at T0 + 5 h, "Started after done" at T0 + 12 h, "Reopened" +20 h.
    first_day = await runner.query(
        ALICE, get_cycle_time, project_id=history.project_id, since=str(DAY0), until=str(DAY0)
    )
    titles = [i["title"] for i in first_day["items"]]
    assert titles == ["Never started", "Started after done", "Reopened"]
    before = str(DAY0 - timedelta(days=1))
    day_before = await runner.query(
        ALICE, get_cycle_time, project_id=history.project_id, since=before, until=before
    )
    assert day_before["items"] == []
    assert day_before["lead_time"] == {"count": 0, "p50_ms": None, "p85_ms": None, "p95_ms": None}


async def test_item_bound_keeps_the_earliest_and_says_there_is_more(
    settings: Settings, manager: TenantConnectionManager, history: History
) -> None:
    small = build_services(
        settings.model_copy(update={"cycle_time_max_items": 2}),
        manager,
        build_bus(settings, manager),
    )
    report = await small.query(
        ALICE, get_cycle_time, project_id=history.project_id, since=SINCE, until=UNTIL
    )
    assert [i["title"] for i in report["items"]] == ["Never started", "Started after done"]
    assert report["has_more"] is True
    assert report["lead_time"]["count"] == 2


async def test_default_range_is_the_last_30_days(runner: ServiceRunner, history: History) -> None:
    report = await runner.query(ALICE, get_cycle_time, project_id=history.project_id)
    assert (report["lead_time"], report["cycle_time"]) == (LEAD, CYCLE)
    assert report["until"] == str(DAY0 + timedelta(days=10))
    assert report["since"] == str(DAY0 - timedelta(days=19))


async def test_item_born_started_starts_its_cycle_at_creation(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    item = await make_item(runner, ALICE, project, status="in_progress")
    await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=item["id"],
        expected_version=1,
        fields={"status": "done"},
    )
    report = await runner.query(ALICE, get_cycle_time, project_id=project["id"])
    assert [i["work_item_id"] for i in report["items"]] == [item["id"]]
    (flow,) = report["items"]
    assert flow["started_at"] == flow["created_at"]
    assert flow["cycle_time_ms"] == flow["lead_time_ms"] >= 0


async def test_viewer_reads_it_and_a_non_member_learns_nothing(
    runner: ServiceRunner, published: Published, history: History
) -> None:
    viewer = await add_member(runner, ALICE, {"id": history.project_id}, "vera", "viewer")
    report = await runner.query(
        viewer, get_cycle_time, project_id=history.project_id, since=SINCE, until=UNTIL
    )
    assert report["lead_time"] == LEAD
    async with Refusal(runner, published, "NOT_FOUND"):
        await runner.query(ctx_for("mallory"), get_cycle_time, project_id=history.project_id)
    async with Refusal(runner, published, "NOT_FOUND"):
        await runner.query(
            ctx_for("alice", tenant_id="globex"), get_cycle_time, project_id=history.project_id
        )


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        ("2026-03-31", "2026-03-01", "since"),
        ("2025-01-01", "2026-03-01", "since"),
        ("2026-3-1", None, "since"),
        (None, "2026-02-30", "until"),
        (None, 20260301, "until"),
    ],
)
async def test_bad_range_is_refused_naming_the_field(
    runner: ServiceRunner,
    published: Published,
    history: History,
    since: Any,
    until: Any,
    field: str,
) -> None:
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.query(
            ALICE, get_cycle_time, project_id=history.project_id, since=since, until=until
        )
    assert refusal.error.field == field


async def test_range_reads_the_status_index(
    runner: ServiceRunner, manager: TenantConnectionManager, history: History
) -> None:
    """The completions of a range come from ix_activity_item_status, not a scan of the log."""

    def plan(session: Session) -> str:
        sql = "EXPLAIN QUERY PLAN " + items_entering_sql(1)
        rows = session.connection().exec_driver_sql(sql, (history.project_id, "done", 0, T0, 10))
        return " ".join(str(row[-1]) for row in rows)

    assert (
        "SEARCH a USING INDEX ix_activity_item_status (project_id=? AND new_value=? AND at>? AND"
        in await manager.read("acme", plan)
    )


def test_percentiles_are_nearest_rank() -> None:
    assert durations([]) == {"count": 0, "p50_ms": None, "p85_ms": None, "p95_ms": None}
    assert durations([7, None]) == {"count": 1, "p50_ms": 7, "p85_ms": 7, "p95_ms": 7}
    hundred = durations(list(range(100, 0, -1)))
    assert hundred == {"count": 100, "p50_ms": 50, "p85_ms": 85, "p95_ms": 95}
