"""Fixtures for scale-out tests: a real redis-server, and WebSocket helpers over real pm serve
processes that share one data directory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pm.auth import issue_token
from pm.services.llm_context import seed_llm_context
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager
from tests.conftest import TEST_SECRET
from tests.daemons import RedisServer, redis_server
from tests.ws.client import Client, payload

WAIT = 30.0  # generous: the machine is shared; nothing here passes or fails on time


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as server:
        yield server


def token(user: str, tenant: str = "acme") -> str:
    return issue_token(TEST_SECRET, tenant_id=tenant, user_id=user, roles=["admin"])


async def open_client(url: str, user: str, tenant: str = "acme") -> Client:
    """A JSON client whose receive queue is unbounded: frames it never reads (presence, events
    of a test's other phases) can't pause its reading, so closing it is one round trip."""
    return await Client.open(url, token(user, tenant), max_queue=None)


async def make_project(client: Client, title: str = "Shared") -> str:
    created = await client.request("create_work_item", {"item_type": "project", "title": title})
    return str(payload(created)[1]["work_item"]["id"])


async def create_task(client: Client, project_id: str, title: str) -> tuple[str, int]:
    answer = await client.request(
        "create_work_item", {"item_type": "task", "parent_id": project_id, "title": title}
    )
    name, body = payload(answer)
    assert name == "work_item_created", answer
    return str(body["work_item"]["id"]), int(answer["seq"])


async def frames_until(client: Client, done: Any, timeout: float = WAIT) -> list[dict[str, Any]]:
    """Frames (events, presence, errors) as they arrive, until ``done(frames)`` holds."""
    frames: list[dict[str, Any]] = []

    async def read() -> None:
        while not done(frames):
            frames.append(await client.event(timeout=timeout))

    await asyncio.wait_for(read(), timeout)
    return frames


def created_events(frames: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [
        (int(f["seq"]), payload(f)[1]["work_item"]["id"])
        for f in frames
        if payload(f)[0] == "work_item_created"
    ]


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[TenantConnectionManager]:
    mgr = TenantConnectionManager(
        TenancyConfig(tenants_root=tmp_path / "tenants"), on_create=seed_llm_context
    )
    yield mgr
    mgr.close()
