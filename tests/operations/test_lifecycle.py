"""A tenant's life as an operator runs it, on real files and a real ``pm serve``: created in bulk,
backed up all at once, evicted from the running server, exported and imported (a round trip
gives the same dump), deleted (soft: a copy kept and the tenant refused; ``--purge``: nothing
kept) and restored from what delete kept. Every file pm makes is 0600, every folder 0700."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from pm.tenancy.marks import COPY
from tests.ws.serve import pm_serve

from .conftest import (
    bearer,
    closed_code,
    create_task,
    db_path,
    items,
    make_project,
    open_client,
    pm,
    pm_async,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _projects(port: int, user: str, tenant: str) -> httpx.Response:
    return httpx.get(
        f"http://127.0.0.1:{port}/api/v1/projects", headers=bearer(user, tenant), trust_env=False
    )


# -- create, backup --all, check -------------------------------------------------------------


def test_bulk_create_makes_every_tenant_in_one_run_and_says_how_many(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = tmp_path / "ids.txt"
    ids.write_text("t1\nt2\n\nt3\n", encoding="utf-8")
    created = pm(data, "tenants", "create", "t0", "--from", str(ids))
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "4 created, 0 already existed, 0 refused"
    again = pm(data, "tenants", "create", "t0", "t4", "../evil")
    assert again.returncode == 2
    assert again.stdout.strip() == "1 created, 1 already existed, 1 refused"
    assert pm(data, "tenants", "list").stdout.split() == ["t0", "t1", "t2", "t3", "t4"]
    assert not (tmp_path / "evil").exists()


def test_list_on_a_fresh_folder_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    listed = pm(data, "tenants", "list")
    assert (listed.returncode, listed.stdout) == (0, "")
    assert not data.exists()


def test_backup_all_copies_every_tenant_and_names_a_failure(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = tmp_path / "backups"
    out.mkdir()
    assert pm(data, "tenants", "create", "a1", "a2").returncode == 0
    done = pm(data, "tenants", "backup", "--all", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("2 backed up, 0 failed")
    copies = sorted(out.iterdir())
    assert [c.name.split("-")[0] for c in copies] == ["a1", "a2"]
    for copy in copies:
        assert _mode(copy) == 0o600
        with sqlite3.connect(copy) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("PRAGMA user_version").fetchone() == (COPY,)
    (data / "tenants" / "bad").mkdir()
    (data / "tenants" / "bad" / "main.db").write_bytes(b"junk" * 100)
    again = pm(data, "tenants", "backup", "--all", str(out))
    assert again.returncode == 1
    assert "tenant bad was not backed up" in again.stderr
    assert again.stdout.strip().endswith("2 backed up, 1 failed: bad")


def test_tenant_files_and_folders_are_for_pms_user_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert pm(data, "tenants", "create", "acme").returncode == 0
    tenant = db_path(data, "acme")
    assert _mode(data / "tenants") == 0o700
    assert _mode(tenant.parent) == 0o700
    assert {p.name: _mode(p) for p in tenant.parent.iterdir()} == {
        "main.db": 0o600,
        "main.db.migrate.lock": 0o600,
    }
    tenant.chmod(0o644)  # a file from before pm set 0600
    tenant.parent.chmod(0o755)
    with pm_serve(data) as server:
        assert _projects(server.port, "alice", "acme").status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{server.port}/ready", trust_env=False)
        assert ready.status_code == 200
        # While it is open: the WAL and its index are as private as the file.
        for part in ("main.db", "main.db-wal", "main.db-shm"):
            assert _mode(tenant.parent / part) == 0o600, part
        assert _mode(tenant.parent) == 0o700
        assert _mode(data / "probe") == 0o700
        assert _mode(data / "probe" / "ready.db") == 0o600
        assert _mode(data / "run") == 0o700
        assert [_mode(s) for s in (data / "run").glob("*.sock")] == [0o600]


# -- evict -----------------------------------------------------------------------------------


async def test_evict_closes_the_tenant_in_the_running_server_and_spares_the_others(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with pm_serve(data) as server:
        alice = await open_client(server.ws, "alice")
        project_id = await make_project(alice)
        await alice.request("subscribe", {"project_ids": [project_id]})
        bea = await open_client(server.ws, "bea", "globex")
        await make_project(bea, "Globex")
        evicted = await pm_async(data, "tenants", "evict", "acme")
        assert evicted.returncode == 0, evicted.stderr
        assert evicted.stdout.startswith(f"process {server.process.pid}: closed it")
        assert await closed_code(alice) == 1012
        # The other tenant's socket goes on; acme opens again at the next request.
        assert (await bea.request("list_projects"))["projects_list"]["projects"]
        back = await open_client(server.ws, "alice")
        await create_task(back, project_id, "after the evict")
        again = await pm_async(data, "tenants", "evict", "nobody-here")
        assert again.stdout.startswith(f"process {server.process.pid}: did not have it open")
        for client in (bea, back):
            await client.close()
    # With no server running there is nobody to ask, and the control socket is gone.
    idle = pm(data, "tenants", "evict", "acme")
    assert idle.returncode == 0 and "no pm process runs" in idle.stdout
    assert list((data / "run").glob("*.sock")) == []


# -- export and import -----------------------------------------------------------------------


def _entity_lines(dump: str) -> list[str]:
    header, *rows = dump.splitlines()
    assert json.loads(header)["format"] == "pm-tenant-dump"
    return rows


async def test_export_import_export_gives_the_same_entities(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pm_serve(data) as server:
        alice = await open_client(server.ws, "alice")
        project_id = await make_project(alice)
        parent, _seq = await create_task(alice, project_id, "parent")
        await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": project_id, "title": "child"}
        )
        await alice.request("create_comment", {"work_item_id": parent, "content": "a comment"})
        await alice.close()
        first = await pm_async(data, "tenants", "export", "acme")  # while serving
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in _entity_lines(first.stdout)]
    tables = {row["table"] for row in rows if "table" in row}
    assert {"work_items", "comments", "users", "change_feed", "activity_log"} <= tables
    assert rows[-1] == {"end": True, "rows": len(rows) - 1}

    dump = tmp_path / "acme.ndjson"
    dump.write_text(first.stdout, encoding="utf-8")
    imported = pm(data, "tenants", "import", "acme-copy", str(dump))
    assert imported.returncode == 0, imported.stderr
    second = pm(data, "tenants", "export", "acme-copy", "--out", str(tmp_path / "copy.ndjson"))
    assert second.returncode == 0, second.stderr
    again = (tmp_path / "copy.ndjson").read_text(encoding="utf-8")
    assert _entity_lines(again) == _entity_lines(first.stdout)
    assert _mode(tmp_path / "copy.ndjson") == 0o600
    # The imported tenant is served, in an epoch of its own.
    with pm_serve(data) as server:
        assert _projects(server.port, "alice", "acme-copy").json()["projects"]
    with sqlite3.connect(db_path(data, "acme-copy")) as db:
        assert db.execute("SELECT count(*) FROM feed_epochs").fetchone() == (1,)


@pytest.mark.parametrize(
    ("cut", "says"),
    [
        (lambda lines: lines[:-1], "no end mark"),
        (lambda lines: [lines[0], *lines[2:]], "rows"),
        (lambda lines: ["{}", *lines[1:]], "not a pm-tenant-dump"),
        (lambda lines: [lines[0], '{"table": "secrets", "row": {}}', *lines[1:]], "not a row"),
    ],
    ids=["truncated", "row-missing", "not-a-dump", "unknown-table"],
)
def test_an_import_of_a_bad_dump_is_refused_and_writes_nothing(
    tmp_path: Path, cut: object, says: str
) -> None:
    data = tmp_path / "data"
    assert pm(data, "tenants", "create", "acme").returncode == 0
    lines = pm(data, "tenants", "export", "acme").stdout.splitlines()
    bad = "\n".join(cut(lines)) + "\n"  # type: ignore[operator]
    result = pm(data, "tenants", "import", "other", "-", stdin=bad)
    assert result.returncode == 1 and says in result.stderr, result.stderr
    assert not db_path(data, "other").exists()
    assert [p.name for p in db_path(data, "other").parent.iterdir()] == []
    assert pm(data, "tenants", "import", "acme", "-", stdin="\n".join(lines)).returncode == 1


# -- delete ----------------------------------------------------------------------------------


async def test_delete_keeps_a_copy_refuses_the_tenant_and_restore_brings_it_back(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with pm_serve(data) as server:
        alice = await open_client(server.ws, "alice")
        project_id = await make_project(alice)
        await create_task(alice, project_id, "kept")
        before = items(db_path(data, "acme"))
        deleted = await pm_async(data, "tenants", "delete", "acme")
        assert deleted.returncode == 0, deleted.stderr
        assert await closed_code(alice) == 1012
        kept = Path(deleted.stdout.split("kept in ")[1].split(" (")[0])
        assert kept.parent == data / "deleted" and _mode(kept) == 0o600
        assert items(kept) == before
        # Refused as deleted, even though auto-provisioning would make a new tenant.
        refused = _projects(server.port, "alice", "acme")
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "this tenant was deleted"
        with pytest.raises(InvalidStatus):
            await open_client(server.ws, "alice")
        assert not db_path(data, "acme").exists()
        assert pm(data, "tenants", "list").stdout.split() == []
        assert _projects(server.port, "bea", "globex").status_code == 200  # others go on

        restored = await pm_async(data, "tenants", "restore", "acme", str(kept))
        assert restored.returncode == 0, restored.stderr
        assert items(db_path(data, "acme")) == before
        assert _projects(server.port, "alice", "acme").json()["projects"]


def test_purge_keeps_nothing_and_clears_what_earlier_deletes_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert pm(data, "tenants", "create", "acme").returncode == 0
    assert pm(data, "tenants", "delete", "acme").returncode == 0
    assert len(list((data / "deleted").glob("acme-*.db"))) == 1
    assert pm(data, "tenants", "create", "acme").returncode == 1  # deleted: not made again
    purged = pm(data, "tenants", "delete", "acme", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert "and 1 kept copies" in purged.stdout
    assert list((data / "deleted").glob("acme-*.db")) == []
    assert [p.name for p in (data / "tenants" / "acme").iterdir()] == ["DELETED"]
    assert pm(data, "tenants", "delete", "nobody").returncode == 1
