"""Every list is bounded in rows and in bytes of content, and says so (``has_more``), and its
cursor goes on from exactly where the page stopped: paging gives every live row once, in
order, whatever is deleted between them. The filtered item page filters keys, and reads the
rows it answers only."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pm.config import Settings, load_settings
from pm.services import comments, dependencies, members, search, time_entries, work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.reader import Reader
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models import projects
from pm.services.read_models.work_item_detail import work_item_detail
from tests.conftest import TEST_SECRET

from .factories import JsonDict, add_member, ctx_for, make_item, make_project

MAX_BYTES = 16 * 1024
PAGE = 3
LONG = "x" * 7_000  # two such rows fit a page's bytes, a third doesn't
ALICE = ctx_for("alice")
Fetch = Callable[[str | None], Awaitable[dict[str, Any]]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        max_response_bytes=MAX_BYTES,
        max_page_size=PAGE,
        default_page_size=PAGE,
    )


async def _every_page(fetch: Fetch, rows_of: Callable[[dict[str, Any]], list[Any]]) -> list[Any]:
    """Rows of every page from the first, following next_cursor; each page within the
    bounds, and has_more exactly when a cursor leads on."""
    rows: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        page = await fetch(cursor)
        got = rows_of(page)
        assert 1 <= len(got) <= PAGE or (not rows and not got)
        assert page["has_more"] is (page["next_cursor"] is not None)
        rows += got
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
    raise AssertionError("the cursor never ended")


async def test_comments_page_by_rows_and_bytes_past_deleted_ones(runner: ServiceRunner) -> None:
    task = await make_item(runner, ALICE, await make_project(runner, ALICE))
    made = []
    for n in range(8):
        content = LONG if n in (2, 3, 4) else f"c{n}"
        out = await runner.command(
            ALICE, comments.create_comment, work_item_id=task["id"], content=content
        )
        comment = out.payload["comment"]
        made.append((comment["created_at"], comment["id"]))
    for _at, gone in (made[1], made[5]):
        await runner.command(ALICE, comments.delete_comment, comment_id=gone)

    async def fetch(cursor: str | None) -> dict[str, Any]:
        page = await runner.query(
            ALICE, comments.get_comments, work_item_id=task["id"], cursor=cursor
        )
        assert sum(len(c["content"]) for c in page["comments"]) <= MAX_BYTES
        return dict(page)

    listed = await _every_page(fetch, lambda page: page["comments"])
    # Oldest first; two comments made in one millisecond are in the order of their ids.
    kept = sorted(made[:1] + made[2:5] + made[6:])
    assert [c["id"] for c in listed] == [comment_id for _at, comment_id in kept]


async def test_time_entries_page_and_the_totals_cover_every_entry(runner: ServiceRunner) -> None:
    task = await make_item(runner, ALICE, await make_project(runner, ALICE))
    now = int(time.time() * 1000)
    for n in range(7):
        start = now - (n + 2) * 3_600_000
        await runner.command(
            ALICE,
            time_entries.create_time_entry,
            work_item_id=task["id"],
            started_at=start,
            ended_at=start + 60_000,
            description=LONG[:2000],
        )

    async def fetch(cursor: str | None) -> dict[str, Any]:
        page = await runner.query(
            ALICE, time_entries.get_time_entries, work_item_id=task["id"], cursor=cursor
        )
        assert page["total_seconds"] == 7 * 60
        assert page["by_user"] == [{"user_id": "alice", "total_seconds": 7 * 60}]
        return dict(page)

    listed = await _every_page(fetch, lambda page: page["time_entries"])
    starts = [e["started_at"] for e in listed]
    assert len(listed) == 7 and starts == sorted(starts)


async def test_an_items_dependencies_page_both_directions_together(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    hub = await make_item(runner, ALICE, project, title="hub", description=LONG)
    others = [await make_item(runner, ALICE, project, description=LONG) for _ in range(5)]
    for n, other in enumerate(others):
        blocking, blocked = (other, hub) if n % 2 else (hub, other)
        await runner.command(
            ALICE,
            dependencies.create_dependency,
            blocking_item_id=blocking["id"],
            blocked_item_id=blocked["id"],
        )

    async def fetch(cursor: str | None) -> dict[str, Any]:
        page = await runner.query(
            ALICE, dependencies.get_dependencies, work_item_id=hub["id"], cursor=cursor
        )
        assert page["is_blocked"] is True  # over all of them, whatever the page holds
        return dict(page)

    listed = await _every_page(fetch, lambda page: page["blocking"] + page["blocked"])
    assert sorted(d["other_item"]["id"] for d in listed) == sorted(o["id"] for o in others)
    assert all(d["other_item"]["title"] == "Do it" for d in listed)


async def test_members_and_projects_page(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    for n in range(6):
        await add_member(runner, ALICE, project, f"user{n}", "viewer")
    for n in range(4):
        await make_project(runner, ALICE, title=f"P{n}")

    async def members_page(cursor: str | None) -> dict[str, Any]:
        return dict(
            await runner.query(ALICE, members.list_members, project_id=project["id"], cursor=cursor)
        )

    async def projects_page(cursor: str | None) -> dict[str, Any]:
        return dict(await runner.query(ALICE, projects.list_projects, cursor=cursor))

    listed = await _every_page(members_page, lambda page: page["members"])
    assert [m["user_id"] for m in listed] == ["alice"] + [f"user{n}" for n in range(6)]
    titles = [p["title"] for p in await _every_page(projects_page, lambda p: p["projects"])]
    assert titles == ["Apollo", "P0", "P1", "P2", "P3"]
    viewer = await _every_page(
        lambda cursor: _as(runner, ctx_for("user0"), projects.list_projects, cursor=cursor),
        lambda page: page["projects"],
    )
    assert [p["title"] for p in viewer] == ["Apollo"]


async def _as(runner: ServiceRunner, ctx: RequestContext, fn: Any, **args: Any) -> dict[str, Any]:
    return dict(await runner.query(ctx, fn, **args))


async def test_the_detail_cuts_each_list_and_its_cursor_goes_on(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    parent = await make_item(runner, ALICE, project, item_type="epic", title="parent")
    children = [await make_item(runner, ALICE, parent, item_type="story") for _ in range(5)]
    for _ in range(4):
        await runner.command(
            ALICE, comments.create_comment, work_item_id=parent["id"], content=LONG
        )
    detail = await runner.query(ALICE, work_item_detail, work_item_id=parent["id"])
    assert len(detail["children"]) == PAGE and detail["children_next_cursor"]
    assert sum(len(c["content"]) for c in detail["comments"]) <= MAX_BYTES // 4 + len(LONG)
    assert detail["comments_next_cursor"] is not None

    async def rest_of_children(cursor: str | None) -> dict[str, Any]:
        page = await runner.query(
            ALICE,
            work_items.get_children,
            work_item_id=parent["id"],
            cursor=cursor or detail["children_next_cursor"],
        )
        return {"items": page.items, "has_more": bool(page.next_cursor), **vars(page)}

    rest = await _every_page(rest_of_children, lambda page: page["items"])
    assert [c["id"] for c in detail["children"] + rest] == [c["id"] for c in children]


async def test_deleted_items_never_end_a_snapshot_page_early(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    made = [await make_item(runner, ALICE, project, title=f"t{n}") for n in range(8)]
    for gone in made[:5]:
        await runner.command(
            ALICE, work_items.delete_work_item, work_item_id=gone["id"], expected_version=1
        )
    page = await runner.query(
        ALICE, projects.project_items_as_of, project_id=project["id"], limit=2
    )
    ids = [i["id"] for i in page["work_items"]]
    while page["next_cursor"]:
        page = await runner.query(
            ALICE,
            projects.project_items_as_of,
            project_id=project["id"],
            limit=2,
            cursor=page["next_cursor"],
        )
        ids += [i["id"] for i in page["work_items"]]
    # Snapshot order: oldest first, by id among items made in the same millisecond.
    live = sorted([project, *made[5:]], key=lambda item: (item["created_at"], item["id"]))
    assert ids == [item["id"] for item in live]


def _traced(statements: list[str]) -> Callable[..., Any]:
    def query(read: Reader, **filters: Any) -> Any:
        driver = read.items._driver()
        driver.set_trace_callback(statements.append)
        try:
            return search.search_work_items(read, **filters)
        finally:
            driver.set_trace_callback(None)

    return query


async def test_a_filter_reads_descriptions_only_of_the_rows_it_answers(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    wanted: list[JsonDict] = []
    for n in range(12):
        status = "review" if n % 4 == 3 else "todo"
        made = await make_item(runner, ALICE, project, description=LONG, status=status)
        if status == "review":
            wanted.append(made)
    statements: list[str] = []
    page = await runner.query(ALICE, _traced(statements), status="review", limit=2)
    assert [hit["work_item"]["id"] for hit in page.items] == [w["id"] for w in wanted[:2]]
    reading_rows = [s for s in statements if "description" in s and "FROM work_items" in s]
    assert reading_rows, statements
    for statement in reading_rows:
        # the rows are read by the ids of the keys the filter chose, never by the filter
        assert "work_items.id IN" in statement and "status" not in statement.split("WHERE")[1]
