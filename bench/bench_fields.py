"""Everyday fields: a filtered list over a 10,000-item project, by a due-date range, through
the service layer (``search_work_items`` without text, one page of 100, on the reader pool as
a door would call it) against the same query in raw sqlite3 on the same file, in the same
run. Sequential calls, alternating rounds, so machine noise hits both.

Due dates are spread over 100 days (100 items a day); the range asked is 10 days, so about
1,000 items match and a page of 100 is taken from ``ix_work_items_due``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import percentile, table, temp_dir
from bench.large_project import seed_large_project
from pm.config import Settings
from pm.services import search
from pm.services.kernel.caller import RequestContext
from pm.wiring import build_components

ITEMS, QUICK_ITEMS = 10_000, 1_000
ROUNDS, CALLS = 5, 40
PAGE = 100
FIRST_DUE = date(2026, 1, 1)
DUE_FROM, DUE_TO = str(FIRST_DUE + timedelta(days=40)), str(FIRST_DUE + timedelta(days=49))
RAW_QUERY = (
    "SELECT * FROM work_items WHERE project_id IN (?) AND deleted_at IS NULL"
    " AND due_date >= ? AND due_date <= ? ORDER BY created_at, id LIMIT ?"
)


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
        db_path = settings.data_dir / "tenants" / "fields" / "main.db"
        _spread_due_dates(db_path, project.project_id)
        raw = sqlite3.connect(db_path)
        service_s: list[float] = []
        raw_s: list[float] = []
        counts = set()
        for _ in range(ROUNDS):
            for _ in range(CALLS):
                started = time.perf_counter()
                page = await runner.query(
                    _caller(),
                    search.search_work_items,
                    project_id=project.project_id,
                    due_from=DUE_FROM,
                    due_to=DUE_TO,
                    limit=PAGE,
                )
                service_s.append(time.perf_counter() - started)
                counts.add(len(page.items))
            for _ in range(CALLS):
                started = time.perf_counter()
                rows = raw.execute(
                    RAW_QUERY, (project.project_id, DUE_FROM, DUE_TO, PAGE + 1)
                ).fetchall()
                raw_s.append(time.perf_counter() - started)
                counts.add(min(len(rows), PAGE))
        plan = " ".join(
            str(row[-1])
            for row in raw.execute(
                "EXPLAIN QUERY PLAN " + RAW_QUERY, (project.project_id, DUE_FROM, DUE_TO, PAGE + 1)
            )
        )
        raw.close()
    finally:
        components.tenants.close()
    _report(items, service_s, raw_s, counts, plan)


def _spread_due_dates(db_path: Path, project_id: str) -> None:
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
        db.execute("ANALYZE")
    db.close()


def _report(
    items: int, service_s: list[float], raw_s: list[float], counts: set[int], plan: str
) -> None:
    def row(name: str, samples: list[float]) -> list[str]:
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        return [name, str(len(samples)), f"{p50 * 1000:.2f} ms", f"{p99 * 1000:.2f} ms"]

    print(
        f"search_work_items (no text) over {items:,} items, due {DUE_FROM} to {DUE_TO},"
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
