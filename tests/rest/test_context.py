"""GET /api/v1/projects/{id}/context: everything about one project in one bounded answer, as
JSON or as Markdown, on the seeded board and on a 10,000-item project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from bench.large_project import LargeProject, seed_large_project
from pm.rest.routes import get_project_context
from tests.conftest import LiveServer, start_server
from tests.rest.conftest import (
    APOLLO_TITLES,
    CHORES,
    ClientFactory,
    Served,
    api_client,
    bearer,
    ok,
    rest_settings,
    seed,
)
from tests.services.factories import ctx_for

LARGE_ITEMS = 10_000
# get_project_context's docstring: "About 0.5 KB of JSON or 0.13 KB of Markdown per item kept".
# The bound below allows those figures plus a tenth for the parts that are not items (counts,
# sprints, members, lanes, blocked items, dependencies, 50 activity rows).
JSON_BYTES_PER_ITEM = 500
MARKDOWN_BYTES_PER_ITEM = 130
NOT_ITEMS_SHARE = 1.10


def context(client: Any, project_id: str, **params: Any) -> Any:
    return ok(client.get(f"/api/v1/projects/{project_id}/context", params=params))


@pytest.fixture(scope="module")
def apollo(served: Served, as_user: ClientFactory) -> dict[str, Any]:
    """The seeded project's JSON context, as alice (its admin) reads it."""
    return context(as_user("alice"), served.board.apollo["id"])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def apollo_markdown(served: Served, as_user: ClientFactory) -> Any:
    response = as_user("alice").get(
        f"/api/v1/projects/{served.board.apollo['id']}/context", params={"format": "markdown"}
    )
    assert response.status_code == 200, response.text
    return response


# -- the seeded board ------------------------------------------------------------------------


def test_context_holds_the_project_and_its_item_tree(served: Served, apollo: Any) -> None:
    assert apollo["project"]["id"] == served.board.apollo["id"]
    assert apollo["project"]["title"] == "Apollo"
    items = apollo["work_items"]
    assert {i["title"] for i in items} == APOLLO_TITLES
    by_title = {i["title"]: i for i in items}
    depth = {title: item["depth"] for title, item in by_title.items()}
    assert (depth["Launch"], depth["Sign-up flow"], depth["Sign-up form"]) == (0, 1, 2)
    order = [i["title"] for i in items]
    assert order.index("Launch") < order.index("Sign-up flow") < order.index("Sign-up form")
    assert by_title["Rate-limit sign-ups"]["description"] == "Per email and per IP."
    assert apollo["truncated"] is False and apollo["truncation_note"] is None
    assert apollo["as_of_seq"] == served.board.feed_seq


def test_context_names_blocked_items_and_what_blocks_them(served: Served, apollo: Any) -> None:
    form, limit = served.board.item("form"), served.board.item("limit")
    assert apollo["blocked_items"] == [
        {
            "id": limit["id"],
            "key": limit["key"],
            "title": "Rate-limit sign-ups",
            "status": "todo",
            "assignee_id": "bob",
            "blocked_by": [
                {
                    "id": form["id"],
                    "key": form["key"],
                    "title": "Sign-up form",
                    "status": "in_progress",
                    "assignee_id": "bob",
                }
            ],
        }
    ]
    blocked = {i["title"] for i in apollo["work_items"] if i["is_blocked"]}
    assert blocked == {"Rate-limit sign-ups"}
    assert [(d["blocking_item_id"], d["blocked_item_id"]) for d in apollo["dependencies"]] == [
        (form["id"], limit["id"])
    ]


def test_context_has_sprint_figures_and_velocity(served: Served, apollo: Any) -> None:
    running, finished = apollo["sprints"]
    assert running["id"] == served.board.sprint["id"] and running["status"] == "active"
    assert (running["points_committed"], running["points_done"], running["items"]) == (10, 2, 3)
    assert running["burndown"][0] == {"date": running["start_date"], "remaining_points": 10}
    assert running["burndown"][-1]["remaining_points"] == 8
    assert finished["status"] == "completed"
    assert (finished["velocity"], finished["committed_points"]) == (8, 8)
    assert apollo["velocity"] == {"recent_average": 8.0, "sprints_averaged": 1}


def test_context_has_members_and_board_lanes(apollo: Any) -> None:
    assert {(m["user_id"], m["role"]) for m in apollo["members"]} == {
        ("alice", "admin"),
        ("bob", "editor"),
        ("vic", "viewer"),
    }
    lanes = sorted(apollo["swim_lanes"], key=lambda lane: lane["position"])
    assert [(lane["name"], lane["status_value"]) for lane in lanes] == [
        ("To Do", "todo"),
        ("In Progress", "in_progress"),
        ("Review", "review"),
        ("Done", "done"),
    ]


def test_context_counts_items_by_status_type_and_assignee(apollo: Any) -> None:
    counts = apollo["counts"]
    assert counts["items"] == len(APOLLO_TITLES) and counts["blocked"] == 1
    assert counts["by_status"] == {"backlog": CHORES + 2, "todo": 1, "in_progress": 1, "done": 2}
    assert counts["by_type"] == {"epic": 1, "story": 1, "task": CHORES + 4}
    assert counts["by_assignee"]["bob"] == {"total": 2, "in_progress": 1, "todo": 1}
    assert counts["story_points"] == {"total": 18, "done": 10}


def test_context_recent_activity_is_newest_first(served: Served, apollo: Any) -> None:
    activity = apollo["recent_activity"]
    assert activity[0]["entity_id"] == served.board.item(f"chore{CHORES}")["id"]
    seqs = [row["seq"] for row in activity]
    assert seqs == sorted(seqs, reverse=True)
    assert len(activity) <= apollo["limits"]["recent_activity"]


def test_markdown_context_is_text_with_titles_blocked_items_and_sprint_figures(
    apollo_markdown: Any,
) -> None:
    assert apollo_markdown.headers["content-type"].startswith("text/markdown")
    text = apollo_markdown.text
    assert text.startswith("# Project: Apollo")
    assert all(title in text for title in APOLLO_TITLES)
    blocked = text.split("## Blocked items\n", 1)[1].split("\n## ", 1)[0]
    assert "Rate-limit sign-ups" in blocked and "blocked by" in blocked
    assert "Sign-up form (in_progress, @bob)" in blocked
    assert "2 of 10 points done, 3 items" in text
    assert "velocity 8 of 8 committed" in text
    assert "- velocity: 8 points per sprint (mean of the last 1 completed)" in text
    assert "burndown (points left at day end)" in text
    assert "- by status: backlog 10, done 2, in_progress 1, todo 1" in text


def test_markdown_context_holds_no_json(apollo_markdown: Any) -> None:
    text = apollo_markdown.text
    assert "{" not in text and "}" not in text and '":' not in text


def test_max_items_keeps_the_most_relevant_items_with_their_ancestors(
    served: Served, as_user: ClientFactory
) -> None:
    hits = REGISTRY.get_sample_value("pm_bound_hits_total", {"bound": "context_items"}) or 0
    cut = context(as_user("alice"), served.board.apollo["id"], max_items=3)
    assert REGISTRY.get_sample_value("pm_bound_hits_total", {"bound": "context_items"}) == hits + 1
    assert [(i["title"], i["depth"]) for i in cut["work_items"]] == [
        ("Launch", 0),
        ("Sign-up flow", 1),
        ("Sign-up form", 2),
    ]
    assert cut["truncated"] is True and cut["limits"]["max_items"] == 3
    assert f"3 of {len(APOLLO_TITLES)} work items" in cut["truncation_note"]
    assert cut["counts"]["items"] == len(APOLLO_TITLES)


def test_a_viewer_reads_the_context_as_json_and_markdown(
    served: Served, as_user: ClientFactory
) -> None:
    vic, project = as_user("vic"), served.board.apollo["id"]
    assert {i["title"] for i in context(vic, project)["work_items"]} == APOLLO_TITLES
    markdown = vic.get(f"/api/v1/projects/{project}/context", params={"format": "markdown"})
    assert markdown.status_code == 200 and "Rate-limit sign-ups" in markdown.text


# -- a 10,000-item project -------------------------------------------------------------------


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LargeProject]]:
    settings = rest_settings(Path(tmp_path_factory.mktemp("large")))
    project = seed(
        settings, lambda runner: seed_large_project(runner, ctx_for("alice"), items=LARGE_ITEMS)
    )
    server = start_server(settings)
    yield server, project
    server.stop()


def test_the_bound_figures_are_the_ones_the_endpoint_documents() -> None:
    assert "About 0.5 KB of JSON or 0.13 KB of Markdown per item kept" in (
        get_project_context.__doc__ or ""
    )


def test_a_large_projects_context_keeps_at_most_the_bound_of_items(
    large: tuple[LiveServer, LargeProject],
) -> None:
    server, project = large
    bound = server.settings.context_max_items
    with api_client(server, bearer("alice")) as alice:
        response = alice.get(f"/api/v1/projects/{project.project_id}/context")
    body = response.json()
    assert response.status_code == 200
    assert len(body["work_items"]) <= bound and body["limits"]["max_items"] == bound
    assert body["counts"]["items"] == LARGE_ITEMS
    assert body["truncated"] is True
    assert f"{len(body['work_items'])} of {LARGE_ITEMS} work items" in body["truncation_note"]
    assert f"/api/v1/work-items?project_id={project.project_id}" in body["truncation_note"]
    assert len(response.content) <= bound * JSON_BYTES_PER_ITEM * NOT_ITEMS_SHARE


def test_a_large_projects_kept_items_are_the_most_relevant_and_connected(
    large: tuple[LiveServer, LargeProject],
) -> None:
    server, project = large
    with api_client(server, bearer("alice")) as alice:
        items = context(alice, project.project_id)["work_items"]
    kept = {i["id"] for i in items}
    parents = {i["parent_id"] for i in items}
    assert all(i["parent_id"] in kept | {project.project_id} for i in items)
    assert all(i["status"] == "in_progress" or i["id"] in parents for i in items)
    assert all(len(i["description"] or "") <= 280 for i in items)


def test_a_large_projects_markdown_context_stays_within_its_bound(
    large: tuple[LiveServer, LargeProject],
) -> None:
    server, project = large
    bound = server.settings.context_max_items
    with api_client(server, bearer("alice")) as alice:
        response = alice.get(
            f"/api/v1/projects/{project.project_id}/context", params={"format": "markdown"}
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert "> Truncated: bounded answer" in response.text
    assert response.text.count("\n    - [task]") <= bound
    assert len(response.content) <= bound * MARKDOWN_BYTES_PER_ITEM * NOT_ITEMS_SHARE


def test_a_larger_max_items_cannot_raise_the_servers_bound(
    large: tuple[LiveServer, LargeProject],
) -> None:
    server, project = large
    bound = server.settings.context_max_items
    with api_client(server, bearer("alice")) as alice:
        body = context(alice, project.project_id, max_items=100_000)
    assert len(body["work_items"]) <= bound and body["limits"]["max_items"] == bound
