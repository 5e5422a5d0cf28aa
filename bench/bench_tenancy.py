"""Tenancy: what opening a tenant costs, against raw sqlite3 doing the same work in the same run.

- cold open: a brand-new tenant file created and migrated to head by
  ``TenantConnectionManager.open_sync(tid, create=True)``, once with the manager exactly as
  ``pm.wiring.build_components`` configures it (``on_create=seed_llm_context``) and once bare
  (no ``on_create``); baseline: ``sqlite3.connect`` + the same pragmas + ``executescript`` of the
  very DDL the migrated file holds. Target: within 3x of the baseline.
- warm open: a file already at head reopened after the manager closed it; baseline: connect,
  the same pragmas and one ``SELECT`` of the Alembic revision. Target: under 2 ms.
- footprint: RSS and file descriptors per open tenant with 1,000 open in one process, measured in
  a fresh process each (so freed memory of an earlier step can't hide a later one's growth);
  baseline: one raw sqlite3 connection per file.

Measurements of a figure and its baseline alternate in one loop, so machine noise hits both.
"""

from __future__ import annotations

import gc
import math
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlmodel import Session

from bench.common import (
    BENCH_SECRET,
    RAW_PRAGMAS,
    median,
    ms,
    open_fds,
    percentile,
    rss_bytes,
    table,
    temp_dir,
)
from pm.config import Settings
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager
from pm.wiring import build_components

T = TypeVar("T")

COLD_TARGET_RATIO = 3.0
WARM_TARGET_SECONDS = 0.002


@dataclass(frozen=True)
class Counts:
    cold: int
    warm: int
    footprint_tenants: int


@dataclass(frozen=True)
class Footprint:
    """Growth of this process while ``count`` tenants (or raw connections) were opened."""

    count: int
    rss: int
    fds: int

    def per_item(self) -> tuple[float, float]:
        return self.rss / self.count, self.fds / self.count


def run(quick: bool) -> None:
    counts = Counts(cold=10, warm=40, footprint_tenants=100) if quick else Counts(50, 200, 1000)
    with temp_dir() as root:
        configured = build_components(
            Settings(data_dir=root / "configured", jwt_secret=BENCH_SECRET)
        ).tenants
        bare = TenantConnectionManager(TenancyConfig(tenants_root=root / "bare" / "tenants"))
        try:
            first = _first_open(configured)
            schema = _schema_script(configured.open_sync("reference", create=True).path)
            cold = _cold_opens(configured, bare, schema, root / "raw", counts.cold)
            warm = _warm_opens(configured, counts.warm)
        finally:
            configured.close()
            bare.close()
        _print_opens(first, cold, warm)
        _print_footprint(root / "footprint", counts.footprint_tenants)


# -- open latency --------------------------------------------------------------------------


def _timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, T]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def _raw_timed(fn: Callable[..., sqlite3.Connection], *args: Any) -> float:
    """Time a raw open, then close it untimed: closing the last connection checkpoints the WAL
    and syncs, which the manager (keeping its connection open) doesn't pay on an open either."""
    elapsed, conn = _timed(fn, *args)
    conn.close()
    return elapsed


def _first_open(manager: TenantConnectionManager) -> float:
    """The first cold open in a process also reads the migration scripts; kept out of the rest."""
    return _timed(manager.open_sync, "first", create=True)[0]


def _schema_script(path: Path) -> str:
    """The exact tables, indexes and Alembic revision row of a file the manager migrated."""
    with sqlite3.connect(path) as conn:
        ddl = [
            row[0]
            for row in conn.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    conn.close()
    ddl.append(f"INSERT INTO alembic_version (version_num) VALUES ('{revision}')")
    return "BEGIN;\n" + ";\n".join(ddl) + ";\nCOMMIT;"


def _raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in RAW_PRAGMAS:
        conn.execute(pragma)
    return conn


def _raw_create(path: Path, schema: str) -> sqlite3.Connection:
    """Baseline of a cold open: a new folder and file, the pragmas, the schema in one script."""
    path.parent.mkdir(parents=True)
    conn = _raw_connect(path)
    conn.executescript(schema)
    return conn


def _raw_reopen(path: Path) -> sqlite3.Connection:
    """Baseline of a warm open: connect, the pragmas, read the revision."""
    conn = _raw_connect(path)
    conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return conn


def _cold_opens(
    configured: TenantConnectionManager,
    bare: TenantConnectionManager,
    schema: str,
    raw_root: Path,
    count: int,
) -> dict[str, list[float]]:
    bare.open_sync("first", create=True)
    samples: dict[str, list[float]] = {"raw": [], "configured": [], "bare": []}
    for n in range(count):
        tenant_id = f"cold-{n}"
        samples["raw"].append(_raw_timed(_raw_create, raw_root / tenant_id / "main.db", schema))
        samples["configured"].append(_timed(configured.open_sync, tenant_id, create=True)[0])
        samples["bare"].append(_timed(bare.open_sync, tenant_id, create=True)[0])
    return samples


def _warm_opens(manager: TenantConnectionManager, count: int) -> dict[str, list[float]]:
    """Reopen the cold-created tenants round after round, closing them all in between."""
    tenant_ids = [t for t in manager.open_tenant_ids() if t.startswith("cold-")]
    paths = {t: manager.open_sync(t).path for t in tenant_ids}
    samples: dict[str, list[float]] = {"raw": [], "manager": []}
    while len(samples["manager"]) < count:
        manager.close_idle(now=math.inf)
        for tenant_id in tenant_ids[: count - len(samples["manager"])]:
            samples["raw"].append(_raw_timed(_raw_reopen, paths[tenant_id]))
            samples["manager"].append(_timed(manager.open_sync, tenant_id)[0])
    return samples


def _print_opens(first: float, cold: dict[str, list[float]], warm: dict[str, list[float]]) -> None:
    cold_base, warm_base = median(cold["raw"]), median(warm["raw"])

    def row(name: str, samples: list[float], base: float, target: str) -> list[str]:
        ratio = f"{median(samples) / base:.2f}x"
        return [name, ms(median(samples)), ms(percentile(samples, 90)), ratio, target]

    cold_target = f"<= {COLD_TARGET_RATIO:.0f}x raw"
    warm_target = f"< {ms(WARM_TARGET_SECONDS)}"
    print(f"open latency ({len(cold['raw'])} cold, {len(warm['raw'])} warm; median, p90)")
    table(
        [
            row("cold, raw sqlite3 executescript (baseline)", cold["raw"], cold_base, ""),
            row(
                "cold, as build_components (on_create=seed)",
                cold["configured"],
                cold_base,
                cold_target,
            ),
            row("cold, bare manager (no on_create)", cold["bare"], cold_base, cold_target),
            row("warm, raw connect + pragmas + SELECT (baseline)", warm["raw"], warm_base, ""),
            row("warm, manager reopens a closed tenant", warm["manager"], warm_base, warm_target),
        ],
        header=["open", "median", "p90", "vs baseline", "target"],
    )
    cold_ratio = median(cold["configured"]) / cold_base
    warm_median = median(warm["manager"])
    print(
        f"  first cold open in the process (reads the migration scripts): {ms(first)}\n"
        f"  cold target (as configured, <= {COLD_TARGET_RATIO:.0f}x raw): "
        f"{_verdict(cold_ratio <= COLD_TARGET_RATIO)} at {cold_ratio:.2f}x; "
        f"warm target (< {ms(WARM_TARGET_SECONDS)}): "
        f"{_verdict(warm_median < WARM_TARGET_SECONDS)} at {ms(warm_median)}"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


# -- footprint -----------------------------------------------------------------------------


def _in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` in a new interpreter, so its memory growth is not masked by reused heap."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _settled() -> tuple[int, int]:
    gc.collect()
    return rss_bytes(), open_fds()


def _growth(before: tuple[int, int], count: int) -> Footprint:
    rss, fds = _settled()
    return Footprint(count, rss - before[0], fds - before[1])


def _provision(tenants_root: Path, tenant_ids: list[str]) -> None:
    manager = TenantConnectionManager(TenancyConfig(tenants_root, max_open_tenants=len(tenant_ids)))
    try:
        for tenant_id in tenant_ids:
            manager.open_sync(tenant_id, create=True)
    finally:
        manager.close()


def _select_one(session: Session) -> None:
    session.execute(text("SELECT count(*) FROM work_items")).scalar_one()


def manager_footprint(tenants_root: Path, tenant_ids: list[str]) -> tuple[Footprint, Footprint]:
    """Growth after opening every tenant, then after one read on each (a reader connection)."""
    config = TenancyConfig(tenants_root, max_open_tenants=len(tenant_ids) + 1)
    manager = TenantConnectionManager(config)
    try:
        manager.open_sync("warmup").read_sync(_select_one)  # one-time costs out of the figures
        before = _settled()
        tenants = [manager.open_sync(tenant_id) for tenant_id in tenant_ids]
        opened = _growth(before, len(tenants))
        for tenant in tenants:
            tenant.read_sync(_select_one)
        return opened, _growth(before, len(tenants))
    finally:
        manager.close()


def raw_footprint(tenants_root: Path, tenant_ids: list[str]) -> Footprint:
    """Growth after one raw connection per file, with the pragmas and the schema read."""
    _raw_reopen(tenants_root / "warmup" / "main.db").close()
    before = _settled()
    connections = []
    for tenant_id in tenant_ids:
        conn = _raw_connect(tenants_root / tenant_id / "main.db")
        conn.execute("SELECT count(*) FROM work_items").fetchone()
        connections.append(conn)
    grown = _growth(before, len(connections))
    for conn in connections:
        conn.close()
    return grown


def _print_footprint(root: Path, count: int) -> None:
    tenants_root = root / "tenants"
    tenant_ids = [f"t{n:05d}" for n in range(count)]
    _provision(tenants_root, ["warmup", *tenant_ids])
    raw = _in_fresh_process(raw_footprint, tenants_root, tenant_ids)
    opened, read = _in_fresh_process(manager_footprint, tenants_root, tenant_ids)
    raw_rss, raw_fds = raw.per_item()
    print(f"footprint per open tenant ({count} open in one fresh process; ratio vs raw)")
    base = f"{raw_fds:.2f}"
    rows = [
        ["raw sqlite3 connection (baseline)", f"{raw_rss / 1024:.1f} KiB", "1.00x", base, "1.00x"]
    ]
    for name, grown in (
        ("tenant opened (writer only: readers open lazily)", opened),
        ("tenant after one read (writer + 1 reader)", read),
    ):
        rss, fds = grown.per_item()
        rows.append(
            [name, f"{rss / 1024:.1f} KiB", f"{rss / raw_rss:.2f}x", f"{fds:.2f}", _x(fds, raw_fds)]
        )
    table(rows, header=["per tenant", "RSS", "vs raw", "fds", "vs raw"])


def _x(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"
