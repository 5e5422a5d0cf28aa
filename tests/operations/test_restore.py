"""``pm tenants restore`` on a real ``pm serve`` under live writes: the restored tenant equals the
backup, another tenant is served throughout, and a WebSocket client and a REST poller holding
seqs from before the restore are both answered RESYNC_REQUIRED, also once the new history has
more changes than the old one had (the silent-partial-data case)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.ws.client import Client, payload
from tests.ws.serve import ServeProcess, pm_serve

from .conftest import (
    WAIT,
    bearer,
    closed_code,
    create_task,
    db_path,
    error_of,
    items,
    make_project,
    open_client,
    pm,
    pm_async,
)

# Writes arrive on a clock, as people's do: flat out, a loaded machine's test process can't read
# the watcher's events as fast as the server makes them, and the server rightly cuts it off as a
# slow consumer before the restore's close reaches it.
PACE = 0.02


@dataclass
class Writer:
    """Creates tasks one after another until stopped, through whatever the server answers: a
    refusal is recorded and retried, a closed socket is reopened (the handshake itself may be
    refused while the tenant is fenced)."""

    ws_url: str
    tenant: str
    project_id: str
    acknowledged: list[tuple[str, int]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        client: Client | None = None
        n = 0
        while not self.stop.is_set():
            try:
                if client is None:
                    client = await open_client(self.ws_url, "writer", self.tenant)
                answer = await client.request(
                    "create_work_item",
                    {"item_type": "task", "parent_id": self.project_id, "title": f"w{n}"},
                )
            except InvalidStatus as refused:
                self.refusals.append(f"handshake {refused.response.status_code}")
                await asyncio.sleep(0.05)
                continue
            except ConnectionClosed:
                client = None
                continue
            error = error_of(answer)
            if error is not None:
                self.refusals.append(error["code"])
                await asyncio.sleep(0.02)
                continue
            self.acknowledged.append((payload(answer)[1]["work_item"]["id"], int(answer["seq"])))
            n += 1
            await asyncio.sleep(PACE)
        if client is not None:
            await client.close()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.acknowledged) < count:
                await asyncio.sleep(0.01)


def _epoch_base(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT max(base_seq) FROM feed_epochs").fetchone()[0])


def _changes(server: ServeProcess, user: str, since_seq: int) -> httpx.Response:
    return httpx.get(
        f"http://127.0.0.1:{server.port}/api/v1/changes",
        params={"since_seq": since_seq},
        headers=bearer(user),
        trust_env=False,
        timeout=WAIT,
    )


async def test_restore_under_live_writes_replaces_the_tenant_and_resyncs_old_seqs(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with pm_serve(
        data,
        ws_rate_limit="100000/second",
        rest_rate_limit="100000/minute",
        ws_close_timeout_seconds=str(WAIT),  # the watcher reads everything before the close
    ) as server:
        alice = await open_client(server.ws, "alice")
        project_id = await make_project(alice)
        for n in range(10):
            await create_task(alice, project_id, f"before the backup {n}")
        backup = tmp_path / "acme-backup.db"
        backed_up = await pm_async(data, "tenants", "backup", "acme", str(backup))
        assert backed_up.returncode == 0, backed_up.stderr
        in_backup = items(backup)
        for n in range(30):
            _item, held_seq = await create_task(alice, project_id, f"after the backup {n}")
        old_middle = held_seq - 15  # a seq of the lost history, past the backup's last one
        assert items(db_path(data, "acme")).keys() > in_backup.keys()

        # A watcher and a REST poller hold seqs of the history the restore will replace.
        watcher = await open_client(server.ws, "watcher")
        await watcher.request("subscribe", {"project_ids": [project_id]})
        # Read from now on, as a board does: an unread socket would fall behind the writers'
        # events and be cut off as a slow consumer (its close frame stuck behind them).
        watcher_closed = asyncio.create_task(closed_code(watcher))
        assert _changes(server, "poller", held_seq).status_code == 200

        bystander = await open_client(server.ws, "bea", "globex")
        other_project = await make_project(bystander, "Bystander")
        acme = Writer(server.ws, "acme", project_id)
        globex = Writer(server.ws, "globex", other_project)
        tasks = [asyncio.create_task(acme.run()), asyncio.create_task(globex.run())]
        await acme.wait_for(5)
        await globex.wait_for(5)
        globex_before = len(globex.acknowledged)

        restored = await pm_async(data, "tenants", "restore", "acme", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert "RESYNC_REQUIRED" in restored.stdout and "1 running process" in restored.stdout

        # The watcher's socket is told to go: the tenant's data was replaced under it.
        assert await watcher_closed == 1012
        await globex.wait_for(globex_before + 5)  # the bystander kept being served
        await acme.wait_for(len(acme.acknowledged) + 3)  # and acme serves again, retried
        for writer in (acme, globex):
            writer.stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT)

        base = _epoch_base(db_path(data, "acme"))
        assert base > held_seq
        # The restored tenant is the backup, plus only what was written after the restore.
        after = {item for item, seq in acme.acknowledged if seq > base}
        live = items(db_path(data, "acme"))
        assert {k: v for k, v in live.items() if k not in after} == in_backup
        assert set(acme.refusals) <= {"UNAVAILABLE", "handshake 503"}, acme.refusals
        assert globex.refusals == []
        globex_seqs = [seq for _item, seq in globex.acknowledged]
        assert globex_seqs == sorted(globex_seqs) and len(set(globex_seqs)) == len(globex_seqs)

        # More changes than the lost history had: old seqs are still refused, never answered
        # with part of the new history.
        for n in range(40):
            await create_task(bystander, other_project, f"keep globex busy {n}")
        back = await open_client(server.ws, "watcher")
        for n in range(40):
            await create_task(back, project_id, f"new history {n}")
        for since in (held_seq, old_middle):
            answer = await back.request("get_changes", {"since_seq": since})
            assert (error_of(answer) or {}).get("code") == "RESYNC_REQUIRED", answer
            polled = _changes(server, "poller", since)
            assert polled.status_code == 410, polled.text
            assert polled.json()["error"]["code"] == "RESYNC_REQUIRED"
        # A client of the new history catches up exactly from the epoch's start ("from the
        # start", 0, is gone with the old history: it reloads too).
        fresh = await back.request("get_changes", {"since_seq": base, "limit": 500})
        created = [e for e in payload(fresh)[1]["events"] if "work_item_created" in e]
        assert [int(e["seq"]) for e in created] == sorted(int(e["seq"]) for e in created)
        assert len(created) == len(after) + 40
        assert _changes(server, "poller", 0).status_code == 410
        assert _changes(server, "poller", base).status_code == 200
        for client in (alice, back, bystander):
            await client.close()


async def test_a_refused_copy_leaves_the_live_tenant_serving_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pm_serve(data) as server:
        alice = await open_client(server.ws, "alice")
        project_id = await make_project(alice)
        await create_task(alice, project_id, "kept")
        empty = tmp_path / "empty.db"
        empty.write_bytes(b"")
        foreign = tmp_path / "foreign.db"
        with contextlib.closing(sqlite3.connect(foreign)) as db:
            db.execute("CREATE TABLE notes (body TEXT)")
            db.commit()
        garbage = tmp_path / "garbage.db"
        garbage.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
        before = items(db_path(data, "acme"))
        for copy, says in ((empty, "empty"), (foreign, "foreign"), (garbage, "")):
            result = await pm_async(data, "tenants", "restore", "acme", str(copy))
            assert result.returncode == 1 and says in result.stderr, result.stderr
        # Nothing was fenced or evicted: the same socket goes on writing.
        await create_task(alice, project_id, "still writable")
        assert items(db_path(data, "acme")).keys() > before.keys()
        assert sorted(p.name for p in db_path(data, "acme").parent.glob(".main.db.*")) == []
        await alice.close()


def test_restore_refuses_a_file_from_a_newer_pm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert pm(data, "tenants", "create", "acme").returncode == 0
    newer = tmp_path / "newer.db"
    assert pm(data, "tenants", "backup", "acme", str(newer)).returncode == 0
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    result = pm(data, "tenants", "restore", "acme", str(newer))
    assert result.returncode == 1 and "newer" in result.stderr, result.stderr


def test_a_backup_copied_into_place_by_hand_starts_a_new_epoch_when_served(
    tmp_path: Path,
) -> None:
    """Any way a file goes back in time: a pm backup put in a tenant's folder by hand (the
    server stopped) is marked as a copy, so serving it starts a new epoch too."""
    data = tmp_path / "data"
    assert pm(data, "tenants", "create", "acme").returncode == 0
    copy = tmp_path / "copy.db"
    assert pm(data, "tenants", "backup", "acme", str(copy)).returncode == 0
    live = db_path(data, "acme")
    for leftover in live.parent.glob("main.db*"):
        leftover.unlink()
    copy.rename(live)
    with pm_serve(data) as server:
        for since in (0, 1):
            answer = _changes(server, "alice", since)
            assert answer.status_code == 410, answer.text
            assert answer.json()["error"]["code"] == "RESYNC_REQUIRED"
        base = _epoch_base(live)
        assert base > 1 and _changes(server, "alice", base).status_code == 200
