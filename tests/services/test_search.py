"""Full-text search (pm.services.search over FTS5): ranked, with snippets, comments found, the
index exact under deletes and rollbacks in the same transaction, every typed character
literal, and paging through 10,000 items with filters, every item once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import insert

from pm.domain.models import WorkItem
from pm.errors import ValidationFailed
from pm.services import comments, search, work_items
from pm.services.kernel.runner import ServiceRunner
from pm.services.kernel.unit_of_work import UnitOfWork

from .factories import Refusal, ctx_for, make_item, make_project

ALICE = ctx_for("alice")


async def found(runner: ServiceRunner, query: str, **filters: Any) -> list[str]:
    """Titles of every hit, best first, over every page."""
    titles: list[str] = []
    cursor = None
    while True:
        page = await runner.query(
            ALICE, search.search_work_items, query=query, cursor=cursor, **filters
        )
        titles += [hit["work_item"]["title"] for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return titles


async def test_a_title_match_ranks_before_description_and_comment_matches(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    in_comment = await make_item(runner, ALICE, project, title="Third")
    await make_item(runner, ALICE, project, title="Second", description="fix the telescope mount")
    await make_item(runner, ALICE, project, title="Telescope alignment")
    await runner.command(
        ALICE, comments.create_comment, work_item_id=in_comment["id"], content="telescope again"
    )
    page = await runner.query(ALICE, search.search_work_items, query="telescope")
    assert [hit["work_item"]["title"] for hit in page.items] == [
        "Telescope alignment",
        "Second",
        "Third",
    ]
    ranks = [hit["rank"] or 0.0 for hit in page.items]
    assert all(hit["rank"] is not None for hit in page.items)
    assert ranks == sorted(ranks, reverse=True)  # higher is better, best first
    assert page.items[0]["snippet"] == "**Telescope** alignment"
    assert page.items[2]["snippet"] == "**telescope** again"


async def test_the_last_word_matches_as_a_prefix_and_every_word_must_match(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    await make_item(runner, ALICE, project, title="Deploy the parachute")
    await make_item(runner, ALICE, project, title="Parachute test")
    assert await found(runner, "para") == ["Parachute test", "Deploy the parachute"]
    assert await found(runner, "deploy para") == ["Deploy the parachute"]
    assert await found(runner, "para deploy") == []  # only the last word is a prefix


async def test_comments_are_found_and_a_deleted_comment_is_gone_at_once(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    item = await make_item(runner, ALICE, project, title="Quiet item")
    made = await runner.command(
        ALICE, comments.create_comment, work_item_id=item["id"], content="mention of zeppelin"
    )
    assert await found(runner, "zeppelin") == ["Quiet item"]
    comment_id = made.payload["comment"]["id"]
    await runner.command(
        ALICE, comments.update_comment, comment_id=comment_id, content="now about blimps"
    )
    assert await found(runner, "zeppelin") == []
    assert await found(runner, "blimps") == ["Quiet item"]
    await runner.command(ALICE, comments.delete_comment, comment_id=comment_id)
    assert await found(runner, "blimps") == []


async def test_a_deleted_item_disappears_with_its_comments(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    item = await make_item(runner, ALICE, project, title="Doomed rocket")
    await runner.command(
        ALICE, comments.create_comment, work_item_id=item["id"], content="rocket fuel"
    )
    await runner.command(
        ALICE, work_items.delete_work_item, work_item_id=item["id"], expected_version=1
    )
    assert await found(runner, "rocket") == []


async def test_an_edited_title_is_found_by_its_new_words_only(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    item = await make_item(runner, ALICE, project, title="Old name")
    await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=item["id"],
        expected_version=1,
        fields={"title": "Fresh label"},
    )
    assert await found(runner, "old") == []
    assert await found(runner, "fresh") == ["Fresh label"]


@pytest.mark.parametrize(
    ("typed", "title", "other"),
    [
        ("a_b", "the a_b switch", "the axb switch"),
        ("100%", "100% coverage", "half coverage"),
        ('"quoted', 'a "quoted word', "plain word"),
        ("AND", "this AND that", "this or that"),
        ("OR", "this OR that", "this and that"),
        ("NOT", "NOT now", "later"),
        ("NEAR(", "NEAR(the end", "far away"),
        ("title:", "title: sub", "heading"),
        ("^start", "^start here", "end here"),
    ],
)
async def test_typed_characters_are_text_never_syntax(
    runner: ServiceRunner, typed: str, title: str, other: str
) -> None:
    project = await make_project(runner, ALICE)
    await make_item(runner, ALICE, project, title=title)
    await make_item(runner, ALICE, project, title=other)
    assert await found(runner, typed) == [title]


@pytest.mark.parametrize("typed", ['"', "*", "%", "()", "-", ":"])
async def test_text_of_punctuation_alone_matches_nothing_and_is_no_error(
    runner: ServiceRunner, typed: str
) -> None:
    project = await make_project(runner, ALICE)
    await make_item(runner, ALICE, project, title=f"odd {typed} title")
    assert await found(runner, typed) == []


async def test_a_rolled_back_command_leaves_the_index_as_it_was(
    runner: ServiceRunner, published: list[Any]
) -> None:
    project = await make_project(runner, ALICE)
    item = await make_item(runner, ALICE, project, title="Steady state")

    def rename_then_fail(uow: UnitOfWork) -> Any:
        work_items.update_work_item(
            uow, work_item_id=item["id"], expected_version=1, fields={"title": "Volatile"}
        )
        comments.create_comment(uow, work_item_id=item["id"], content="volatile comment")
        raise ValidationFailed("refused after writing", field="title")

    rename_then_fail.__name__ = "rename_then_fail"
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(ALICE, rename_then_fail)
    assert await found(runner, "volatile") == []
    assert await found(runner, "steady") == ["Steady state"]


async def test_only_projects_the_caller_can_see_are_searched(runner: ServiceRunner) -> None:
    mine = await make_project(runner, ALICE, "Mine")
    await make_item(runner, ALICE, mine, title="Shared word here")
    bob = ctx_for("bob")
    theirs = await make_project(runner, bob, "Theirs")
    await make_item(runner, bob, theirs, title="Shared word there")
    assert await found(runner, "shared") == ["Shared word here"]
    with pytest.raises(Exception) as refused:
        await found(runner, "shared", project_id=theirs["id"])
    assert getattr(refused.value, "code", None) == "NOT_FOUND"


async def test_ten_thousand_items_page_to_the_end_with_filters_each_once(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    rows = [_row(project, n) for n in range(10_000)]
    tenant = await runner.tenants.get(ALICE.tenant_id)
    await tenant.write(lambda session: session.execute(insert(WorkItem), rows))
    wanted = {r["id"] for r in rows if r["status"] == "todo" and r["priority"] == "high"}
    seen: list[str] = []
    cursor = None
    while True:
        page = await runner.query(
            ALICE,
            search.search_work_items,
            query="widget",
            project_id=project["key"],
            status="todo",
            priority="high",
            limit=500,
            cursor=cursor,
        )
        seen += [hit["work_item"]["id"] for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(wanted)
    assert set(seen) == wanted
    every = await found(runner, "widg", project_id=project["id"])
    assert len(every) == 10_000


def _row(project: dict[str, Any], n: int) -> dict[str, Any]:
    now = 1_760_000_000_000 + n
    return {
        "id": str(uuid.uuid4()),
        "key": f"{project['key']}-{n + 1}",
        "number": n + 1,
        "item_type": "task",
        "project_id": project["id"],
        "parent_id": project["id"],
        "title": f"Widget {n} of the batch",
        "description": "word " * (n % 7),
        "status": ("backlog", "todo", "in_progress", "review", "done")[n % 5],
        "priority": ("low", "medium", "high", "critical")[n % 4],
        "position": f"a{n:06d}",
        "version": 1,
        "created_at": now,
        "created_by": ALICE.user_id,
        "updated_at": now,
        "updated_by": ALICE.user_id,
    }
