"""What the operator tests share: the ``pm`` command run as an operator runs it (a process of
its own, on the data folder of a real ``pm serve``), tokens, and WebSocket helpers."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

from pm.auth import issue_token
from tests.conftest import TEST_SECRET
from tests.ws.client import Client, payload

WAIT = 30.0  # generous: the machine is shared; nothing here passes or fails on time
PM = Path(sys.executable).parent / "pm"


def pm(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``pm ARGS`` on ``data_dir``, as a separate process (the operator's shell)."""
    env = {**os.environ, "PM_DATA_DIR": str(data_dir), "PM_JWT_SECRET": TEST_SECRET}
    return subprocess.run(
        [str(PM), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def pm_async(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(pm, data_dir, *args)


def token(user: str, tenant: str = "acme", roles: tuple[str, ...] = ("admin",)) -> str:
    return issue_token(TEST_SECRET, tenant_id=tenant, user_id=user, roles=list(roles))


def bearer(user: str, tenant: str = "acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, tenant)}"}


async def open_client(ws_url: str, user: str, tenant: str = "acme") -> Client:
    return await Client.open(ws_url, token(user, tenant), max_queue=None)


async def make_project(client: Client, title: str = "Launch") -> str:
    created = await client.request("create_work_item", {"item_type": "project", "title": title})
    return str(payload(created)[1]["work_item"]["id"])


async def create_task(client: Client, project_id: str, title: str) -> tuple[str, int]:
    answer = await client.request(
        "create_work_item", {"item_type": "task", "parent_id": project_id, "title": title}
    )
    name, body = payload(answer)
    assert name == "work_item_created", answer
    return str(body["work_item"]["id"]), int(answer["seq"])


async def closed_code(client: Client) -> int | None:
    """Read until the server closes the socket; its close code."""
    try:
        while True:
            await client.recv(timeout=WAIT)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def error_of(frame: dict[str, Any]) -> dict[str, Any] | None:
    name, body = payload(frame)
    return body if name == "error" else None


def db_path(data_dir: Path, tenant: str) -> Path:
    return data_dir / "tenants" / tenant / "main.db"


def items(path: Path) -> dict[str, tuple[str, int]]:
    """Work item id -> (title, version) of a tenant file or a copy."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, title, version FROM work_items").fetchall()
    return {str(i): (str(t), int(v)) for i, t, v in rows}
