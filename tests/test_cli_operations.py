"""Operator commands on real tenant files: `pm tenants backup` and `pm tenants stats`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from pm.cli import main
from pm.config import load_settings
from pm.domain.events import Event
from pm.domain.models import ActivityLog
from pm.services import work_items
from pm.services.kernel.runner import ServiceRunner
from pm.tenancy.manager import TenantConnectionManager
from pm.wiring import build_bus, build_services, build_tenants

from .conftest import TEST_SECRET
from .services.factories import add_member, ctx_for, make_item, make_project


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("PM_DATA_DIR", str(data))
    monkeypatch.setenv("PM_JWT_SECRET", TEST_SECRET)
    return data


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "backups"
    out.mkdir()
    return out


def open_manager(data_dir: Path) -> TenantConnectionManager:
    return build_tenants(load_settings(data_dir=data_dir))


def integrity(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def tree(root: Path) -> dict[str, int]:
    """Every path under ``root`` (folders too) with its mtime: equal means nothing was touched."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in [root, *root.rglob("*")]}


# -- backup ---------------------------------------------------------------------------------


def log_row(session: Session, entity_id: str, value: str = "", at: int | None = None) -> None:
    session.add(
        ActivityLog(
            entity_type="test",
            entity_id=entity_id,
            action="tick",
            user_id="writer",
            new_value=value,
            at=int(time.time() * 1000) if at is None else at,
        )
    )


def fill(session: Session) -> None:
    """A few MB, so that a small step size makes the backup take many steps."""
    for i in range(3000):
        log_row(session, f"fill{i}", "x" * 1000)


class Writer(threading.Thread):
    """Commits one row at a time through the tenant's writer until stopped; records each id
    only after its commit returned (acknowledged)."""

    def __init__(self, manager: TenantConnectionManager, tenant_id: str) -> None:
        super().__init__(daemon=True)
        self.tenant = manager.open_sync(tenant_id)
        self.acknowledged: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            entity_id = f"w{i}"
            self.tenant.write_sync(lambda s, e=entity_id: log_row(s, e))  # type: ignore[misc]
            self.acknowledged.append(entity_id)
            i += 1

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.005)


def test_backup_under_concurrent_writes_holds_every_acknowledged_write(
    data_dir: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manager = open_manager(data_dir)
    manager.open_sync("acme", create=True).write_sync(fill)
    writer = Writer(manager, "acme")
    dest = out_dir / "acme.db"
    writer.start()
    try:
        writer.wait_for(20)
        before = list(writer.acknowledged)
        code = main(["tenants", "backup", "acme", str(dest), "--pages-per-step", "4"])
        written_during = len(writer.acknowledged) - len(before)
    finally:
        writer.stop.set()
        writer.join()
        manager.close()
    assert code == 0, capsys.readouterr().err
    assert written_during > 0, "the writer should have kept committing during the backup"
    assert integrity(dest) == "ok"
    with contextlib.closing(sqlite3.connect(dest)) as copy:
        copied = {r[0] for r in copy.execute("SELECT entity_id FROM activity_log")}
    assert set(before) <= copied
    assert sorted(p.name for p in out_dir.iterdir()) == ["acme.db"]  # one file, no -wal


def test_backup_prints_destination_size_and_pages(
    data_dir: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "acme"]) == 0
    capsys.readouterr()
    dest = out_dir / "copy.db"
    assert main(["tenants", "backup", "acme", str(dest)]) == 0
    out = capsys.readouterr().out
    assert str(dest) in out
    assert f"{dest.stat().st_size} bytes" in out
    assert re.search(r"\b\d+ pages\b", out)


@pytest.mark.parametrize("hostile", ["../x", "ACME", "acme/../../x", "", "a" * 64])
def test_backup_refuses_a_hostile_tenant_id(
    data_dir: Path, out_dir: Path, hostile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "acme"]) == 0
    data_before, out_before = tree(data_dir), tree(out_dir)
    assert main(["tenants", "backup", hostile, str(out_dir)]) == 1
    assert "tenant_id" in capsys.readouterr().err
    assert (tree(data_dir), tree(out_dir)) == (data_before, out_before)


def test_backup_refuses_an_unknown_tenant(
    data_dir: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = out_dir / "ghost.db"
    assert main(["tenants", "backup", "ghost", str(dest)]) == 1
    assert "tenant ghost does not exist" in capsys.readouterr().err
    assert not dest.exists()
    assert list(out_dir.iterdir()) == []
    assert not (data_dir / "tenants" / "ghost").exists()


def test_backup_never_overwrites_without_force(
    data_dir: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "acme"]) == 0
    dest = out_dir / "acme.db"
    dest.write_bytes(b"yesterday's backup")
    assert main(["tenants", "backup", "acme", str(dest)]) == 1
    assert "--force" in capsys.readouterr().err
    assert dest.read_bytes() == b"yesterday's backup"
    assert list(out_dir.iterdir()) == [dest]


def test_backup_with_force_replaces_the_file(data_dir: Path, out_dir: Path) -> None:
    assert main(["tenants", "create", "acme"]) == 0
    dest = out_dir / "acme.db"
    dest.write_bytes(b"yesterday's backup")
    assert main(["tenants", "backup", "acme", str(dest), "--force"]) == 0
    assert integrity(dest) == "ok"
    assert list(out_dir.iterdir()) == [dest]


def test_backup_into_a_folder_gets_a_timestamped_file(
    data_dir: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "acme"]) == 0
    capsys.readouterr()
    assert main(["tenants", "backup", "acme", str(out_dir)]) == 0
    (made,) = out_dir.iterdir()
    assert re.fullmatch(r"acme-\d{8}T\d{6}Z\.db", made.name)
    assert str(made) in capsys.readouterr().out
    assert integrity(made) == "ok"
    with contextlib.closing(sqlite3.connect(made)) as copy:
        assert copy.execute("SELECT count(*) FROM llm_context").fetchone()[0] >= 10


def test_backup_refuses_a_missing_destination_folder(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "acme"]) == 0
    assert main(["tenants", "backup", "acme", str(tmp_path / "nowhere" / "a.db")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


# -- stats ----------------------------------------------------------------------------------


@dataclass
class Expected:
    """What a tenant holds, taken from the events its commands published."""

    items_by_type: dict[str, int]
    items_by_status: dict[str, int]
    members: int
    events: list[Event] = field(default_factory=list)

    @property
    def seq(self) -> int:
        return max(e.seq for e in self.events)

    @property
    def last_activity_ms(self) -> int:
        return max(e.at for e in self.events)


async def seed_acme(runner: ServiceRunner) -> None:
    """A project, an epic, a story, three live tasks (one done), one deleted task, two members."""
    alice = ctx_for("alice", tenant_id="acme")
    project = await make_project(runner, alice, "Apollo")
    epic = await make_item(runner, alice, project, "epic", "Launch")
    story = await make_item(runner, alice, epic, "story", "Sign-up")
    await make_item(runner, alice, story, "task", "Form")
    await make_item(runner, alice, story, "task", "Email")
    await make_item(runner, alice, story, "task", "Copy", status="done")
    gone = await make_item(runner, alice, story, "task", "Scrapped")
    await runner.command(
        alice,
        work_items.delete_work_item,
        work_item_id=gone["id"],
        expected_version=gone["version"],
    )
    await add_member(runner, alice, project, "bob", "editor")


async def seed_beta(runner: ServiceRunner) -> None:
    carol = ctx_for("carol", tenant_id="beta")
    project = await make_project(runner, carol, "Zephyr")
    await make_item(runner, carol, project, "task", "Only task")


@pytest.fixture
def seeded(data_dir: Path) -> dict[str, Expected]:
    """acme and beta built through the service layer, then closed (files at rest)."""
    expected = {
        "acme": Expected(
            items_by_type={"project": 1, "epic": 1, "story": 1, "task": 3},
            items_by_status={"backlog": 4, "done": 1},
            members=2,
        ),
        "beta": Expected(
            items_by_type={"project": 1, "task": 1}, items_by_status={"backlog": 1}, members=1
        ),
    }

    async def seed() -> None:
        manager = open_manager(data_dir)
        settings = load_settings(data_dir=data_dir)
        bus = build_bus(settings, manager)
        bus.subscribe(lambda tenant, event: expected[tenant].events.append(event))
        runner = build_services(settings, manager, bus)
        try:
            await seed_acme(runner)
            await seed_beta(runner)
        finally:
            manager.close()

    asyncio.run(seed())
    return expected


def stats_json(capsys: pytest.CaptureFixture[str], expected_code: int = 0) -> dict[str, Any]:
    assert main(["tenants", "stats", "--json"]) == expected_code
    rows = json.loads(capsys.readouterr().out)["tenants"]
    return {row["tenant_id"]: row for row in rows}


def iso_ms(text: str) -> int:
    from datetime import datetime

    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def assert_row_matches(row: dict[str, Any], expected: Expected) -> None:
    assert row["error"] is None
    assert row["items_by_type"] == expected.items_by_type
    assert row["items_by_status"] == expected.items_by_status
    assert row["members"] == expected.members
    assert row["seq"] == expected.seq
    assert row["last_activity_ms"] == expected.last_activity_ms
    assert row["last_activity_at"].endswith("Z")
    assert iso_ms(row["last_activity_at"]) == expected.last_activity_ms
    assert row["size_bytes"] > 0


def test_stats_json_lists_each_tenant_with_its_counts(
    seeded: dict[str, Expected], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = stats_json(capsys)
    assert sorted(rows) == ["acme", "beta"]
    for tenant, expected in seeded.items():
        assert_row_matches(rows[tenant], expected)


def test_stats_table_is_readable(
    seeded: dict[str, Expected], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "stats"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["TENANT", "SIZE", "PROJECTS", "EPICS"]
    acme = next(line for line in lines if line.startswith("acme"))
    cells = acme.split()
    # tenant, size (number + unit), projects, epics, stories, tasks, done, members, seq, epoch,
    # last activity
    assert cells[3:11] == ["1", "1", "1", "3", "1", "2", str(seeded["acme"].seq), "0"]
    assert cells[11].endswith("Z")


def test_stats_reports_a_corrupt_file_and_still_prints_the_others(
    seeded: dict[str, Expected], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = data_dir / "tenants" / "broken"
    broken.mkdir()
    garbage = b"\x00garbage, not a database" * 400
    (broken / "main.db").write_bytes(garbage)
    rows = stats_json(capsys, expected_code=1)
    assert sorted(rows) == ["acme", "beta", "broken"]
    assert rows["broken"]["error"] == "file is not a database"
    assert rows["broken"]["size_bytes"] == len(garbage)
    assert rows["broken"]["items_by_type"] is None
    assert rows["broken"]["seq"] is None
    for tenant, expected in seeded.items():
        assert_row_matches(rows[tenant], expected)
    assert main(["tenants", "stats"]) == 1
    table = capsys.readouterr().out
    assert re.search(r"^broken\s+.*error: file is not a database$", table, re.MULTILINE)
    assert re.search(r"^acme\s", table, re.MULTILINE)
    assert "SELECT" not in table


def test_stats_creates_no_file_and_changes_no_mtime(
    seeded: dict[str, Expected], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(data_dir)
    time.sleep(0.01)  # an mtime written now would differ
    stats_json(capsys)
    assert main(["tenants", "stats"]) == 0
    assert tree(data_dir) == before


def test_stats_of_an_empty_data_dir_creates_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stats_json(capsys) == {}
    assert list(data_dir.iterdir()) == []


def test_stats_counts_commits_still_in_the_wal_of_an_open_tenant(
    seeded: dict[str, Expected], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    late = seeded["beta"].last_activity_ms + 60_000
    manager = open_manager(data_dir)
    try:
        manager.open_sync("beta").write_sync(lambda s: log_row(s, "late", at=late))
        assert (data_dir / "tenants" / "beta" / "main.db-wal").stat().st_size > 0
        rows = stats_json(capsys)
    finally:
        manager.close()
    assert rows["beta"]["last_activity_ms"] == late
    assert rows["acme"]["last_activity_ms"] == seeded["acme"].last_activity_ms


async def test_tenants_webhooks_lists_state_without_secrets(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from pm.services import webhooks

    settings = load_settings(data_dir=data_dir)
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    runner = ServiceRunner(
        tenants, runner.bus, replace(runner.settings, webhook_allowed_networks=("10.0.0.0/8",))
    )
    alice = ctx_for("alice")
    try:
        project = await make_project(runner, alice)
        made = await runner.command(
            alice, webhooks.create_webhook, url="http://10.0.0.9/hook", project_ids=[project["key"]]
        )
    finally:
        tenants.close()
    secret = made.payload["secret"]
    assert main(["tenants", "webhooks", "acme", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["webhooks"]
    assert [(h["url"], h["active"], h["project_ids"]) for h in listed] == [
        ("http://10.0.0.9/hook", True, [project["id"]])
    ]
    assert main(["tenants", "webhooks", "acme"]) == 0
    text = capsys.readouterr().out
    assert "on  failures 0" in text and secret not in text
    assert main(["tenants", "webhooks", "ghost"]) == 2
    assert "unknown tenant" in capsys.readouterr().err
