"""Fixtures for the REST door: a seeded board behind a real uvicorn, and real tokens.

How the data gets there: a ServiceRunner built exactly as the app builds its own
(``pm.wiring.build_components``) runs real commands on the same data dir *before* the server
starts, then closes its tenants; the server opens the tenant files lazily and reads what the
commands committed. The rows are the real thing (memberships, lanes, activity, change feed)
and the test never reaches into the server's event loop, which runs in another thread. Seeding
through a WebSocket client would work too, but would make every REST test depend on the WS door.

The seeded server is module scoped: the REST door is read-only, so the tests of a module share
one board and one server, and each test that needs a rate-limit budget of its own uses a user
of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pm.auth import issue_token
from pm.config import Settings, load_settings
from pm.services import comments, dependencies, sprints, time_entries
from pm.services.changes import current_seq
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.clock import now_ms
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.sprint_report import get_sprint_report
from pm.wiring import build_components
from tests.conftest import TEST_SECRET, LiveServer, start_server
from tests.services.factories import add_member, ctx_for, make_item, make_project

TENANT = "acme"
OTHER_TENANT = "globex"
CHORES = 8
APOLLO_TITLES = {  # the items below the project Apollo
    "Ship the beta",
    "Launch",
    "Sign-up flow",
    "Sign-up form",
    "Rate-limit sign-ups",
    "Write the docs",
    *(f"Chore {n}" for n in range(1, CHORES + 1)),
}


def token(user_id: str, tenant_id: str = TENANT, roles: tuple[str, ...] = (), **claims: Any) -> str:
    return issue_token(TEST_SECRET, tenant_id=tenant_id, user_id=user_id, roles=roles, **claims)


def bearer(user_id: str, tenant_id: str = TENANT, roles: tuple[str, ...] = ()) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id, tenant_id, roles)}"}


def rest_settings(root: Path, **overrides: Any) -> Settings:
    return load_settings(data_dir=root / "data", jwt_secret=TEST_SECRET, **overrides)


def seed(settings: Settings, build: Callable[[ServiceRunner], Any]) -> Any:
    """Run ``build(runner)`` with a runner on the settings' data dir, then close every tenant."""
    components = build_components(settings)

    async def run() -> Any:
        return await build(components.services)

    try:
        return asyncio.run(run())
    finally:
        components.tenants.close()


@dataclass
class Board:
    """What the seed made, by name: tests assert on these ids and titles."""

    apollo: dict[str, Any] = field(default_factory=dict)
    zeus: dict[str, Any] = field(default_factory=dict)
    globex: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    sprint_done: dict[str, Any] = field(default_factory=dict)
    sprint: Mapping[str, Any] = field(default_factory=dict)
    globex_sprint: dict[str, Any] = field(default_factory=dict)
    dependency: dict[str, Any] = field(default_factory=dict)
    comment: dict[str, Any] = field(default_factory=dict)
    time_entry: dict[str, Any] = field(default_factory=dict)
    mark_ms: int = 0  # items before it: epic..docs; after it: the chores
    seq_at_mark: int = 0
    feed_seq: int = 0  # the tenant's last seq when the seed is done

    def item(self, name: str) -> dict[str, Any]:
        return self.items[name]


async def _command(runner: ServiceRunner, ctx: RequestContext, fn: Any, **kw: Any) -> Any:
    return (await runner.command(ctx, fn, **kw)).payload


async def seed_board(runner: ServiceRunner) -> Board:
    """Tenant ``acme``: project Apollo (alice admin, bob editor, vic viewer) with a completed
    sprint (velocity 8), an active sprint, an epic > story > tasks tree, a ``blocks`` edge, a
    comment and a time entry, then ``CHORES`` backlog chores after ``mark_ms``; project Zeus
    (alice only). Tenant ``globex``: gina's project with a task and a sprint."""
    alice = ctx_for("alice")
    board = Board()
    today = date.today()
    apollo = board.apollo = await make_project(runner, alice, "Apollo")
    board.zeus = await make_project(runner, alice, "Zeus")
    await make_item(runner, alice, board.zeus, title="Zeus secret plan")
    await add_member(runner, alice, apollo, "bob", "editor")
    await add_member(runner, alice, apollo, "vic", "viewer")

    done_sprint = await _sprint(runner, alice, apollo, "Sprint 0", today - timedelta(20), today)
    board.items["beta"] = await make_item(
        runner,
        alice,
        apollo,
        title="Ship the beta",
        status="done",
        story_points=8,
        sprint_id=done_sprint["id"],
    )
    await _command(runner, alice, sprints.start_sprint, sprint_id=done_sprint["id"], **_v(1))
    board.sprint_done = (
        await _command(runner, alice, sprints.complete_sprint, sprint_id=done_sprint["id"], **_v(2))
    )["sprint"]
    board.sprint = await _sprint(
        runner, alice, apollo, "Sprint 1", today - timedelta(3), today + timedelta(10)
    )
    await _command(runner, alice, sprints.start_sprint, sprint_id=board.sprint["id"], **_v(1))
    report = await runner.query(alice, get_sprint_report, sprint_id=board.sprint["id"])
    board.sprint = report["sprint"]

    in_sprint = {"sprint_id": board.sprint["id"]}
    epic = board.items["epic"] = await make_item(runner, alice, apollo, "epic", "Launch")
    story = board.items["story"] = await make_item(runner, alice, epic, "story", "Sign-up flow")
    board.items["form"] = await make_item(
        runner,
        alice,
        story,
        title="Sign-up form",
        status="in_progress",
        priority="high",
        assignee_id="bob",
        story_points=5,
        **in_sprint,
    )
    board.items["limit"] = await make_item(
        runner,
        alice,
        story,
        title="Rate-limit sign-ups",
        description="Per email and per IP.",
        status="todo",
        assignee_id="bob",
        story_points=3,
        **in_sprint,
    )
    board.items["docs"] = await make_item(
        runner,
        alice,
        epic,
        title="Write the docs",
        status="done",
        assignee_id="alice",
        story_points=2,
        **in_sprint,
    )
    board.dependency = (
        await _command(
            runner,
            alice,
            dependencies.create_dependency,
            blocking_item_id=board.items["form"]["id"],
            blocked_item_id=board.items["limit"]["id"],
        )
    )["dependency"]
    board.comment = (
        await _command(
            runner,
            alice,
            comments.create_comment,
            work_item_id=board.items["limit"]["id"],
            content="Start with the email limit.",
        )
    )["comment"]
    now = now_ms()
    board.time_entry = (
        await _command(
            runner,
            ctx_for("bob"),
            time_entries.create_time_entry,
            work_item_id=board.items["limit"]["id"],
            started_at=now - 3_600_000,
            ended_at=now - 1_800_000,
            description="Spike",
        )
    )["time_entry"]

    await asyncio.sleep(0.005)
    board.mark_ms = now_ms()
    board.seq_at_mark = await _seq(runner, alice)
    await asyncio.sleep(0.005)
    for n in range(1, CHORES + 1):
        board.items[f"chore{n}"] = await make_item(runner, alice, apollo, title=f"Chore {n}")

    gina = ctx_for("gina", tenant_id=OTHER_TENANT)
    board.globex = await make_project(runner, gina, "Globex secret")
    board.items["globex_task"] = await make_item(
        runner, gina, board.globex, title="Globex plan", status="in_progress"
    )
    board.globex_sprint = await _sprint(
        runner, gina, board.globex, "Globex sprint", today, today + timedelta(7)
    )
    board.feed_seq = await _seq(runner, alice)
    return board


def _v(version: int) -> dict[str, int]:
    return {"expected_version": version}


async def _sprint(
    runner: ServiceRunner,
    ctx: RequestContext,
    project: dict[str, Any],
    name: str,
    start: Any,
    end: Any,
) -> dict[str, Any]:
    created = await _command(
        runner,
        ctx,
        sprints.create_sprint,
        project_id=project["id"],
        name=name,
        goal=f"{name} goal",
        start_date=start.isoformat(),
        end_date=end.isoformat(),
    )
    return created["sprint"]  # type: ignore[no-any-return]


async def _seq(runner: ServiceRunner, ctx: RequestContext) -> int:
    return await runner.query(ctx, current_seq)


@dataclass
class Served:
    server: LiveServer
    board: Board

    def client(self, user_id: str, tenant_id: str = TENANT, **kw: Any) -> httpx.Client:
        return api_client(self.server, headers=bearer(user_id, tenant_id, **kw))


def api_client(server: LiveServer, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=server.http, headers=headers, trust_env=False, timeout=30)


def serve_board(root: Path, **overrides: Any) -> Iterator[Served]:
    settings = rest_settings(root, **overrides)
    board = seed(settings, seed_board)
    server = start_server(settings)
    try:
        yield Served(server, board)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The seeded board behind a live server with the default limits."""
    yield from serve_board(tmp_path_factory.mktemp("rest"))


ClientFactory = Callable[..., httpx.Client]


@pytest.fixture(scope="module")
def as_user(served: Served) -> Iterator[ClientFactory]:
    """``as_user("vic")``: an HTTP client of the served board carrying that user's token
    (``tenant_id=``, ``roles=`` as in the claims); one client per identity, closed at the end."""
    opened: dict[tuple[str, str, tuple[str, ...]], httpx.Client] = {}

    def make(user_id: str, tenant_id: str = TENANT, roles: tuple[str, ...] = ()) -> httpx.Client:
        key = (user_id, tenant_id, roles)
        if key not in opened:
            opened[key] = served.client(user_id, tenant_id, roles=roles)
        return opened[key]

    yield make
    for client in opened.values():
        client.close()


LEAK_MARKERS = ("Traceback", 'File "', "SELECT ", "sqlite", "sqlalchemy", "pm/services")


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, status: int, code: str, field: str | None = None) -> Any:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    assert not any(marker in response.text for marker in LEAK_MARKERS), response.text
    return error
