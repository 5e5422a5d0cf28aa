"""Everyday fields: a filtered list over a 10,000-item project through the service layer
(``search_work_items`` without text, one page of 100, on the reader pool as a door would call
it) against the same query in raw sqlite3 on the same file, in the same run. Two filters:

- a due-date range alone;
- a label plus a custom field range plus the due-date range (issue 15's closing figure).

The raw query is the service's own conditions (``SearchFilters.where``) over ``work_items``,
reading the rows of the page in one statement; the service reads keys first, then the rows,
each item's labels, values and blocked flag. Sequential calls, alternating rounds, so machine
noise hits both.

Due dates are spread over 100 days (100 items a day) and the range asked is 10 days; every
third item has the label; the number field runs 0-9 over the items and the range asked is
3-6; so about 1,000 items match the dates and about 130 all three.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import percentile, table, temp_dir
from bench.large_project import seed_large_project
from pm.config import Settings
from pm.repositories.search import FieldCondition, SearchFilters
from pm.services import custom_fields, labels, search
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.wiring import build_components

ITEMS, QUICK_ITEMS = 10_000, 1_000
ROUNDS, CALLS = 5, 40
PAGE = 100
FIRST_DUE = date(2026, 1, 1)
DUE_FROM, DUE_TO = str(FIRST_DUE + timedelta(days=40)), str(FIRST_DUE + timedelta(days=49))
LOW, HIGH = 3, 6


def _caller() -> RequestContext:
    return RequestContext(tenant_id="fields", user_id="alice", roles=frozenset())


def run(quick: bool) -> None:
    with temp_dir() as root:
        asyncio.run(_measure(root, QUICK_ITEMS if quick else ITEMS))


async def _measure(root: Path, items: int) -> None:
    settings = Settings(data_dir=root / "data", tenant_provision_rate="1000000/minute")
    components = build_components(settings)
    runner = components.services
    try:
        project = await seed_large_project(runner, _caller(), items=items, title="Fields")
        label_id, field_id = await _definitions(runner, project.project_id)
        db_path = settings.data_dir / "tenants" / "fields" / "main.db"
        _spread_values(db_path, project.project_id, label_id, field_id)
        cases: list[tuple[str, dict[str, Any], SearchFilters]] = [
            (
                f"due {DUE_FROM} to {DUE_TO}",
                {"due_from": DUE_FROM, "due_to": DUE_TO},
                SearchFilters([project.project_id], due_from=DUE_FROM, due_to=DUE_TO),
            ),
            (
                f"label + number field {LOW}-{HIGH} + due {DUE_FROM} to {DUE_TO}",
                {
                    "due_from": DUE_FROM,
                    "due_to": DUE_TO,
                    "labels": [label_id],
                    "fields": [{"field_id": field_id, "low": str(LOW), "high": str(HIGH)}],
                },
                SearchFilters(
                    [project.project_id],
                    due_from=DUE_FROM,
                    due_to=DUE_TO,
                    labels=((label_id,),),
                    fields=(FieldCondition(field_id, "value_number", low=LOW, high=HIGH),),
                ),
            ),
        ]
        for name, spec, filters in cases:
            await _case(runner, db_path, project.project_id, items, name, spec, filters)
    finally:
        components.tenants.close()


async def _definitions(runner: ServiceRunner, project_id: str) -> tuple[str, str]:
    label = await runner.command(_caller(), labels.create_label, project_id=project_id, name="bug")
    field = await runner.command(
        _caller(),
        custom_fields.create_custom_field,
        project_id=project_id,
        name="Size",
        field_type="number",
    )
    return label.payload["label"]["id"], field.payload["custom_field"]["id"]


async def _case(
    runner: ServiceRunner,
    db_path: Path,
    project_id: str,
    items: int,
    name: str,
    spec: Mapping[str, Any],
    filters: SearchFilters,
) -> None:
    where, params = filters.where()
    raw_query = f"SELECT w.* FROM work_items w WHERE {where} ORDER BY w.created_at, w.id LIMIT ?"
    raw = sqlite3.connect(db_path)
    service_s: list[float] = []
    raw_s: list[float] = []
    counts = set()
    for _ in range(ROUNDS):
        for _ in range(CALLS):
            started = time.perf_counter()
            page = await runner.query(
                _caller(), search.search_work_items, project_id=project_id, limit=PAGE, **spec
            )
            service_s.append(time.perf_counter() - started)
            counts.add(len(page.items))
        for _ in range(CALLS):
            started = time.perf_counter()
            rows = raw.execute(raw_query, [*params, PAGE + 1]).fetchall()
            raw_s.append(time.perf_counter() - started)
            counts.add(min(len(rows), PAGE))
    plan = " | ".join(
        str(row[-1]) for row in raw.execute("EXPLAIN QUERY PLAN " + raw_query, [*params, PAGE])
    )
    raw.close()
    _report(items, name, service_s, raw_s, counts, plan)


def _spread_values(db_path: Path, project_id: str, label_id: str, field_id: str) -> None:
    with sqlite3.connect(db_path) as db:
        ids = [
            row[0]
            for row in db.execute(
                "SELECT id FROM work_items WHERE project_id = ? AND item_type != 'project'"
                " ORDER BY created_at, id",
                (project_id,),
            )
        ]
        db.executemany(
            "UPDATE work_items SET due_date = ? WHERE id = ?",
            [(str(FIRST_DUE + timedelta(days=n % 100)), item_id) for n, item_id in enumerate(ids)],
        )
        db.executemany(
            "INSERT INTO item_labels (item_id, label_id) VALUES (?, ?)",
            [(item_id, label_id) for n, item_id in enumerate(ids) if n % 3 == 0],
        )
        db.executemany(
            "INSERT INTO item_field_values (item_id, field_id, value_number, searchable)"
            " VALUES (?, ?, ?, 0)",
            [(item_id, field_id, float(n % 10)) for n, item_id in enumerate(ids)],
        )
        db.execute("ANALYZE")
    db.close()


def _report(
    items: int,
    name: str,
    service_s: list[float],
    raw_s: list[float],
    counts: set[int],
    plan: str,
) -> None:
    def row(run: str, samples: list[float]) -> list[str]:
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        return [run, str(len(samples)), f"{p50 * 1000:.2f} ms", f"{p99 * 1000:.2f} ms"]

    print(
        f"search_work_items (no text) over {items:,} items, {name},"
        f" page of {PAGE} (rows per answer: {sorted(counts)})"
    )
    table(
        [row("raw sqlite3 (baseline)", raw_s), row("service", service_s)],
        ["run", "calls", "p50", "p99"],
    )
    ratio50 = percentile(service_s, 50) / percentile(raw_s, 50)
    ratio99 = percentile(service_s, 99) / percentile(raw_s, 99)
    print(f"  service / raw: {ratio50:.1f}x at p50, {ratio99:.1f}x at p99")
    print(f"  raw query plan: {plan}")
