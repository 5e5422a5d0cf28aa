"""Every endpoint of /api/v1 over a real server: content, filters, pagination, authentication,
tenant isolation, project visibility and refusals of bad input.

The board (tests/rest/conftest.py::seed_board) is read-only here, so one server serves the
module; ``as_user(...)`` gives a client with a real token of any identity.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from pm.auth import issue_token
from pm.rest.schemas import EVENT_PAYLOADS
from tests.conftest import TEST_SECRET
from tests.rest.conftest import (
    APOLLO_TITLES,
    CHORES,
    LEAK_MARKERS,
    OTHER_TENANT,
    TENANT,
    ClientFactory,
    Served,
    api_client,
    ok,
    refused,
)

# Every /api/v1 endpoint; {apollo}, {item} and {sprint} are filled with the board's ids.
ENDPOINTS = [
    ("/api/v1/projects", {}),
    ("/api/v1/projects/{apollo}/context", {}),
    ("/api/v1/work-items", {}),
    ("/api/v1/work-items/{item}", {}),
    ("/api/v1/sprints/{sprint}", {}),
    ("/api/v1/activity", {}),
    ("/api/v1/changes", {"since_seq": 0}),
    ("/api/v1/llm/context", {}),
]


def titles(rows: list[dict[str, Any]]) -> set[str]:
    return {row["title"] for row in rows}


def fill(path: str, served: Served) -> str:
    board = served.board
    return path.format(
        apollo=board.apollo["id"], item=board.item("limit")["id"], sprint=board.sprint["id"]
    )


def walk(client: httpx.Client, path: str, key: str, **params: Any) -> tuple[list[Any], int]:
    """Every row of a cursor-paginated list, following ``next_cursor`` until it is null."""
    rows: list[Any] = []
    pages, cursor = 0, None
    while True:
        body = ok(client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}))
        pages += 1
        assert len(body[key]) <= params["limit"]
        rows += body[key]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows, pages
        assert pages < 100, "the cursor never ends"


def forge(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# -- happy paths -----------------------------------------------------------------------------


def test_projects_are_the_ones_the_caller_is_a_member_of(
    served: Served, as_user: ClientFactory
) -> None:
    projects = ok(as_user("alice").get("/api/v1/projects"))["projects"]
    assert [p["title"] for p in projects] == ["Apollo", "Zeus"]
    assert projects[0]["id"] == served.board.apollo["id"]
    assert all(p["item_type"] == "project" and p["parent_id"] is None for p in projects)


def test_work_items_lists_every_visible_item_oldest_first(
    served: Served, as_user: ClientFactory
) -> None:
    body = ok(as_user("alice").get("/api/v1/work-items"))
    items = body["items"]
    assert body["next_cursor"] is None
    assert titles(items) == APOLLO_TITLES | {"Apollo", "Zeus", "Zeus secret plan"}
    assert len(items) == len(APOLLO_TITLES) + 3
    keys = [(i["created_at"], i["id"]) for i in items]
    assert keys == sorted(keys)
    limit = next(i for i in items if i["id"] == served.board.item("limit")["id"])
    assert limit["is_blocked"] is True and limit["assignee_id"] == "bob"


def test_work_item_detail_has_comments_time_dependencies_and_activity(
    served: Served, as_user: ClientFactory
) -> None:
    board = served.board
    limit = board.item("limit")["id"]
    detail = ok(as_user("alice").get(f"/api/v1/work-items/{limit}"))
    assert detail["work_item"]["title"] == "Rate-limit sign-ups"
    assert detail["work_item"]["description"] == "Per email and per IP."
    assert [c["content"] for c in detail["comments"]] == ["Start with the email limit."]
    assert detail["time_total_seconds"] == 1800
    assert detail["time_by_user"] == [{"user_id": "bob", "total_seconds": 1800}]
    blocking = detail["dependencies"]["blocking"]
    assert [d["other_item"]["title"] for d in blocking] == ["Sign-up form"]
    assert detail["dependencies"]["is_blocked"] is True
    assert detail["activity"] and {a["entity_id"] for a in detail["activity"]} == {limit}
    assert "created" in {a["action"] for a in detail["activity"]}


def test_work_item_detail_lists_children_in_board_order(
    served: Served, as_user: ClientFactory
) -> None:
    story = served.board.item("story")["id"]
    detail = ok(as_user("alice").get(f"/api/v1/work-items/{story}"))
    assert [c["title"] for c in detail["children"]] == ["Sign-up form", "Rate-limit sign-ups"]
    assert [c["is_blocked"] for c in detail["children"]] == [False, True]


def test_sprint_report_has_items_points_and_a_daily_burndown(
    served: Served, as_user: ClientFactory
) -> None:
    sprint = served.board.sprint
    report = ok(as_user("alice").get(f"/api/v1/sprints/{sprint['id']}"))
    assert report["sprint"]["name"] == "Sprint 1" and report["sprint"]["status"] == "active"
    assert titles(report["work_items"]) == {"Sign-up form", "Rate-limit sign-ups", "Write the docs"}
    assert (report["points_committed"], report["points_done"]) == (10, 2)
    burndown = report["burndown"]
    assert burndown[0] == {"date": sprint["start_date"], "remaining_points": 10}
    assert len(burndown) == 4  # the start three days ago through today
    assert burndown[-1]["remaining_points"] == 8  # "Write the docs" (2 points) is done today


def test_completed_sprint_report_has_its_recorded_velocity(
    served: Served, as_user: ClientFactory
) -> None:
    done = served.board.sprint_done
    report = ok(as_user("alice").get(f"/api/v1/sprints/{done['id']}"))
    assert report["sprint"]["status"] == "completed"
    assert (report["sprint"]["velocity"], report["sprint"]["committed_points"]) == (8, 8)
    assert titles(report["work_items"]) == {"Ship the beta"}


def test_activity_lists_changes_newest_first(served: Served, as_user: ClientFactory) -> None:
    body = ok(as_user("alice").get("/api/v1/activity", params={"limit": 500}))
    entries = body["entries"]
    assert body["next_cursor"] is None
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert entries[0]["entity_id"] == served.board.item(f"chore{CHORES}")["id"]
    assert entries[0]["action"] == "created" and entries[0]["user_id"] == "alice"
    assert entries[-1]["entity_id"] == served.board.apollo["id"]


def _others_own_events(as_user: ClientFactory) -> set[int]:
    """The seqs of the events of bob's and vic's own streams (their notifications): in the
    tenant's feed, in nobody else's."""
    return {
        e["seq"]
        for user in ("bob", "vic")
        for e in ok(as_user(user).get("/api/v1/changes", params={"since_seq": 0, "limit": 500}))[
            "events"
        ]
        if e["payload_name"] == "notification_created"
    }


def test_changes_returns_every_event_in_seq_order(served: Served, as_user: ClientFactory) -> None:
    body = ok(as_user("alice").get("/api/v1/changes", params={"since_seq": 0, "limit": 500}))
    seqs = [e["seq"] for e in body["events"]]
    others = _others_own_events(as_user)
    assert others and not others & set(seqs)  # bob was assigned work: his, not alice's
    assert sorted({*seqs, *others}) == list(range(1, served.board.feed_seq + 1))
    assert seqs == sorted(seqs)
    assert body["as_of_seq"] == served.board.feed_seq and body["has_more"] is False
    first = body["events"][0]
    assert first["payload_name"] == "work_item_created" and first["actor_id"] == "alice"
    assert first["payload"]["work_item"]["title"] == "Apollo"


def test_llm_context_lists_the_seeded_entries_most_important_first(
    as_user: ClientFactory,
) -> None:
    entries = ok(as_user("alice").get("/api/v1/llm/context"))["entries"]
    assert {e["context_type"] for e in entries} == {
        "schema_doc",
        "business_rule",
        "query_pattern",
        "example",
    }
    priorities = [e["priority"] for e in entries]
    assert priorities == sorted(priorities, reverse=True)
    assert all(e["title"] and e["content"] for e in entries)


# -- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "in_progress"}, {"Sign-up form"}),
        ({"assignee_id": "bob"}, {"Sign-up form", "Rate-limit sign-ups"}),
        ({"item_type": "epic"}, {"Launch"}),
        ({"q": "sign"}, {"Sign-up flow", "Sign-up form", "Rate-limit sign-ups"}),
        ({"q": "per IP"}, {"Rate-limit sign-ups"}),
        ({"status": "done", "item_type": "task"}, {"Ship the beta", "Write the docs"}),
    ],
)
def test_work_items_filters_narrow_the_result(
    as_user: ClientFactory, filters: dict[str, str], expected: set[str]
) -> None:
    items = ok(as_user("alice").get("/api/v1/work-items", params=filters))["items"]
    assert titles(items) == expected


def test_work_items_filter_by_project(served: Served, as_user: ClientFactory) -> None:
    zeus = served.board.zeus["id"]
    items = ok(as_user("alice").get("/api/v1/work-items", params={"project_id": zeus}))["items"]
    assert titles(items) == {"Zeus", "Zeus secret plan"}
    assert {i["project_id"] for i in items} == {zeus}


def test_work_items_filter_by_sprint(served: Served, as_user: ClientFactory) -> None:
    sprint = served.board.sprint["id"]
    items = ok(as_user("alice").get("/api/v1/work-items", params={"sprint_id": sprint}))["items"]
    assert titles(items) == {"Sign-up form", "Rate-limit sign-ups", "Write the docs"}
    assert {i["sprint_id"] for i in items} == {sprint}


def test_activity_filter_by_project(served: Served, as_user: ClientFactory) -> None:
    zeus = served.board.zeus["id"]
    entries = ok(as_user("alice").get("/api/v1/activity", params={"project_id": zeus}))["entries"]
    assert entries and {e["project_id"] for e in entries} == {zeus}
    assert served.board.item("limit")["id"] not in {e["entity_id"] for e in entries}


def test_activity_filter_by_entity(served: Served, as_user: ClientFactory) -> None:
    comment = served.board.comment["id"]
    entries = ok(as_user("alice").get("/api/v1/activity", params={"entity_id": comment}))["entries"]
    assert [(e["entity_type"], e["action"]) for e in entries] == [("comment", "created")]


def test_activity_filter_by_user(served: Served, as_user: ClientFactory) -> None:
    entries = ok(as_user("alice").get("/api/v1/activity", params={"user_id": "bob"}))["entries"]
    assert [(e["entity_type"], e["entity_id"]) for e in entries] == [
        ("time_entry", served.board.time_entry["id"])
    ]


def test_activity_since_is_inclusive_and_until_exclusive(
    served: Served, as_user: ClientFactory
) -> None:
    board, alice = served.board, as_user("alice")
    chores = {board.item(f"chore{n}")["id"] for n in range(1, CHORES + 1)}
    since = ok(alice.get("/api/v1/activity", params={"since": board.mark_ms, "limit": 500}))
    until = ok(alice.get("/api/v1/activity", params={"until": board.mark_ms, "limit": 500}))
    assert {e["entity_id"] for e in since["entries"]} == chores
    assert all(e["at"] >= board.mark_ms for e in since["entries"])
    assert all(e["at"] < board.mark_ms for e in until["entries"])
    assert not chores & {e["entity_id"] for e in until["entries"]}
    everything = ok(alice.get("/api/v1/activity", params={"limit": 500}))["entries"]
    assert len(since["entries"]) + len(until["entries"]) == len(everything)


def test_changes_since_seq_returns_only_later_events(
    served: Served, as_user: ClientFactory
) -> None:
    board = served.board
    body = ok(as_user("alice").get("/api/v1/changes", params={"since_seq": board.seq_at_mark}))
    events = body["events"]
    assert [e["seq"] for e in events] == list(range(board.seq_at_mark + 1, board.feed_seq + 1))
    created = [e["payload"]["work_item"]["title"] for e in events]
    assert created == [f"Chore {n}" for n in range(1, CHORES + 1)]


def test_changes_filter_by_project(served: Served, as_user: ClientFactory) -> None:
    board, alice = served.board, as_user("alice")
    zeus = ok(alice.get("/api/v1/changes", params={"since_seq": 0, "project_id": board.zeus["id"]}))
    assert zeus["events"] and {e["project_id"] for e in zeus["events"]} == {board.zeus["id"]}
    both = ok(
        alice.get(
            "/api/v1/changes",
            params={"since_seq": 0, "project_id": [board.apollo["id"], board.zeus["id"]]},
        )
    )
    everything = ok(alice.get("/api/v1/changes", params={"since_seq": 0}))
    assert both["events"] == everything["events"]


def test_llm_context_filter_by_type(as_user: ClientFactory) -> None:
    entries = ok(as_user("alice").get("/api/v1/llm/context", params={"context_type": "example"}))[
        "entries"
    ]
    assert len(entries) == 2 and {e["context_type"] for e in entries} == {"example"}


def test_llm_context_filter_by_category(as_user: ClientFactory) -> None:
    entries = ok(as_user("alice").get("/api/v1/llm/context", params={"category": "sprint"}))[
        "entries"
    ]
    assert {(e["context_type"], e["category"]) for e in entries} == {
        ("schema_doc", "sprint"),
        ("example", "sprint"),
    }


# -- pagination ------------------------------------------------------------------------------


def test_work_items_pages_cover_every_item_once_in_order(as_user: ClientFactory) -> None:
    alice = as_user("alice")
    everything = ok(alice.get("/api/v1/work-items", params={"limit": 500}))["items"]
    rows, pages = walk(alice, "/api/v1/work-items", "items", limit=4)
    assert [r["id"] for r in rows] == [r["id"] for r in everything]
    assert pages == -(-len(everything) // 4)


def test_filtered_work_items_pages_keep_the_filter(served: Served, as_user: ClientFactory) -> None:
    rows, pages = walk(
        as_user("alice"),
        "/api/v1/work-items",
        "items",
        limit=3,
        project_id=served.board.apollo["id"],
        status="backlog",
        item_type="task",
    )
    chores = [served.board.item(f"chore{n}") for n in range(1, CHORES + 1)]
    oldest_first = sorted(chores, key=lambda item: (item["created_at"], item["id"]))
    assert [r["title"] for r in rows] == [item["title"] for item in oldest_first]
    assert pages == 3


def test_activity_pages_cover_every_entry_once_in_order(as_user: ClientFactory) -> None:
    alice = as_user("alice")
    everything = ok(alice.get("/api/v1/activity", params={"limit": 500}))["entries"]
    rows, pages = walk(alice, "/api/v1/activity", "entries", limit=5)
    assert [r["id"] for r in rows] == [r["id"] for r in everything]
    assert pages == -(-len(everything) // 5)


def test_changes_polled_from_as_of_seq_cover_every_event_once_in_order(
    served: Served, as_user: ClientFactory
) -> None:
    alice, seqs, since, polls = as_user("alice"), [], 0, 0
    while True:
        body = ok(alice.get("/api/v1/changes", params={"since_seq": since, "limit": 4}))
        polls += 1
        assert len(body["events"]) <= 4
        seqs += [e["seq"] for e in body["events"]]
        since = body["as_of_seq"]
        if not body["has_more"]:
            break
    assert seqs == [
        seq for seq in range(1, served.board.feed_seq + 1) if seq not in _others_own_events(as_user)
    ]
    assert polls == -(-len(seqs) // 4)
    again = ok(alice.get("/api/v1/changes", params={"since_seq": since}))
    assert again["events"] == [] and again["as_of_seq"] == served.board.feed_seq


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
def test_a_request_without_a_token_is_unauthenticated(
    served: Served, path: str, params: dict[str, Any]
) -> None:
    with api_client(served.server) as anonymous:
        response = anonymous.get(fill(path, served), params=params)
    refused(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "bad_token",
    [
        "not-a-jwt",
        issue_token(
            "another-secret-that-is-long-enough-for-hs256-000", tenant_id=TENANT, user_id="alice"
        ),
        issue_token(TEST_SECRET, tenant_id=TENANT, user_id="alice", ttl_seconds=-3600),
    ],
    ids=["garbage", "foreign-signature", "expired"],
)
def test_a_request_with_a_bad_token_is_unauthenticated(served: Served, bad_token: str) -> None:
    headers = {"Authorization": f"Bearer {bad_token}"}
    with api_client(served.server, headers) as client:
        response = client.get(f"/api/v1/work-items/{served.board.item('limit')['id']}")
    refused(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Rate-limit" not in response.text


# -- tenants and project visibility ----------------------------------------------------------


def _by_id(served: Served, client: httpx.Client, ids: dict[str, str]) -> list[httpx.Response]:
    return [
        client.get(f"/api/v1/projects/{ids['project']}/context"),
        client.get(f"/api/v1/projects/{ids['project']}/context", params={"format": "markdown"}),
        client.get(f"/api/v1/work-items/{ids['project']}"),
        client.get(f"/api/v1/work-items/{ids['item']}"),
        client.get(f"/api/v1/sprints/{ids['sprint']}"),
        client.get("/api/v1/work-items", params={"project_id": ids["project"]}),
        client.get("/api/v1/activity", params={"project_id": ids["project"]}),
        client.get("/api/v1/changes", params={"since_seq": 0, "project_id": ids["project"]}),
    ]


def _acme_ids(served: Served) -> dict[str, str]:
    board = served.board
    return {
        "project": board.apollo["id"],
        "item": board.item("limit")["id"],
        "sprint": board.sprint["id"],
    }


def _globex_ids(served: Served) -> dict[str, str]:
    board = served.board
    return {
        "project": board.globex["id"],
        "item": board.item("globex_task")["id"],
        "sprint": board.globex_sprint["id"],
    }


def test_another_tenants_ids_are_not_found(served: Served, as_user: ClientFactory) -> None:
    admin_of_acme = as_user("alice", roles=("admin",))
    for response in _by_id(served, admin_of_acme, _globex_ids(served)):
        refused(response, 404, "NOT_FOUND")
        assert "Globex" not in response.text


def test_the_same_ids_are_found_by_their_own_tenant(served: Served, as_user: ClientFactory) -> None:
    gina = as_user("gina", tenant_id=OTHER_TENANT)
    for response in _by_id(served, gina, _globex_ids(served)):
        assert response.status_code == 200, response.text


def test_a_tenant_sees_nothing_of_another_in_its_lists(
    served: Served, as_user: ClientFactory
) -> None:
    gina = as_user("gina", tenant_id=OTHER_TENANT, roles=("admin",))
    acme_ids = {served.board.apollo["id"], served.board.zeus["id"], served.board.sprint["id"]}
    acme_ids |= {item["id"] for name, item in served.board.items.items() if name != "globex_task"}
    bodies = [
        ok(gina.get("/api/v1/projects")),
        ok(gina.get("/api/v1/work-items", params={"limit": 500})),
        ok(gina.get("/api/v1/activity", params={"limit": 500})),
        ok(gina.get("/api/v1/changes", params={"since_seq": 0, "limit": 500})),
    ]
    assert [p["title"] for p in bodies[0]["projects"]] == ["Globex secret"]
    assert titles(bodies[1]["items"]) == {"Globex secret", "Globex plan"}
    text = json.dumps(bodies)
    assert not [i for i in acme_ids if i in text]
    assert "Apollo" not in text and "alice" not in text


def test_acme_ids_are_not_found_for_another_tenant(served: Served, as_user: ClientFactory) -> None:
    gina = as_user("gina", tenant_id=OTHER_TENANT, roles=("admin",))
    for response in _by_id(served, gina, _acme_ids(served)):
        refused(response, 404, "NOT_FOUND")
        assert "Apollo" not in response.text and "Rate-limit" not in response.text


def test_a_viewer_member_reads_the_project(served: Served, as_user: ClientFactory) -> None:
    vic = as_user("vic")
    assert [p["title"] for p in ok(vic.get("/api/v1/projects"))["projects"]] == ["Apollo"]
    for response in _by_id(served, vic, _acme_ids(served)):
        assert response.status_code == 200, response.text
    items = ok(vic.get("/api/v1/work-items", params={"limit": 500}))["items"]
    assert titles(items) == APOLLO_TITLES | {"Apollo"}


def test_a_non_member_gets_not_found_for_the_projects_ids(
    served: Served, as_user: ClientFactory
) -> None:
    eve = as_user("eve")
    assert ok(eve.get("/api/v1/projects")) == {
        "projects": [],
        "has_more": False,
        "next_cursor": None,
    }
    for response in _by_id(served, eve, _acme_ids(served)):
        refused(response, 404, "NOT_FOUND")
        assert "Rate-limit" not in response.text
    assert ok(eve.get("/api/v1/work-items"))["items"] == []
    assert ok(eve.get("/api/v1/activity"))["entries"] == []
    assert ok(eve.get("/api/v1/changes", params={"since_seq": 0}))["events"] == []


def test_a_viewer_of_one_project_gets_not_found_for_another(
    served: Served, as_user: ClientFactory
) -> None:
    vic, zeus = as_user("vic"), served.board.zeus["id"]
    refused(vic.get(f"/api/v1/projects/{zeus}/context"), 404, "NOT_FOUND", "project_id")
    refused(vic.get("/api/v1/work-items", params={"project_id": zeus}), 404, "NOT_FOUND")
    items = ok(vic.get("/api/v1/work-items", params={"q": "Zeus"}))["items"]
    assert items == []


def test_a_tenant_admin_claim_sees_every_project(served: Served, as_user: ClientFactory) -> None:
    root = as_user("root", roles=("admin",))
    projects = ok(root.get("/api/v1/projects"))["projects"]
    assert [p["title"] for p in projects] == ["Apollo", "Zeus"]
    context = ok(root.get(f"/api/v1/projects/{served.board.zeus['id']}/context"))
    assert [i["title"] for i in context["work_items"]] == ["Zeus secret plan"]


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/work-items", {"status": "Doing!"}, "status"),  # not a state's key
        ("/api/v1/work-items", {"item_type": "bug"}, "item_type"),
        ("/api/v1/llm/context", {"context_type": "faq"}, "context_type"),
        ("/api/v1/projects/{apollo}/context", {"format": "xml"}, "format"),
    ],
)
def test_an_invalid_enum_filter_is_a_validation_error_naming_it(
    served: Served, as_user: ClientFactory, path: str, params: dict[str, str], field: str
) -> None:
    error = refused(
        as_user("alice").get(fill(path, served), params=params), 422, "VALIDATION_ERROR", field
    )
    assert field in error["message"]


@pytest.mark.parametrize("path", ["/api/v1/work-items", "/api/v1/activity"])
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
        forge({"after": 1}),
        forge("x"),
        forge([1, 2, 3]),
    ],
)
def test_a_cursor_the_server_did_not_issue_is_refused(
    as_user: ClientFactory, path: str, cursor: str
) -> None:
    refused(
        as_user("alice").get(path, params={"cursor": cursor}), 422, "VALIDATION_ERROR", "cursor"
    )


@pytest.mark.parametrize(
    "cursor",
    [
        forge([{"a": 1}, "x"]),
        forge([[1], "x"]),
        forge(["1760000000000", 2]),
        forge([2**70, "x"]),
        forge([True, "x"]),
    ],
    ids=["object-in-key", "list-in-key", "text-timestamp", "huge-int", "bool-timestamp"],
)
def test_a_forged_work_items_cursor_is_refused(as_user: ClientFactory, cursor: str) -> None:
    response = as_user("alice").get("/api/v1/work-items", params={"cursor": cursor})
    refused(response, 422, "VALIDATION_ERROR", "cursor")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/work-items", {"limit": 0}),
        ("/api/v1/activity", {"limit": 0}),
        ("/api/v1/changes", {"since_seq": 0, "limit": 0}),
        ("/api/v1/work-items", {"limit": -1}),
        ("/api/v1/work-items", {"limit": "ten"}),
    ],
)
def test_a_limit_below_one_is_refused(
    as_user: ClientFactory, path: str, params: dict[str, Any]
) -> None:
    refused(as_user("alice").get(path, params=params), 422, "VALIDATION_ERROR", "limit")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/work-items", {"stauts": "done"}, "stauts"),
        ("/api/v1/projects", {"page": 2}, "page"),
        ("/api/v1/changes", {"since_seq": 0, "project": "x"}, "project"),
        ("/api/v1/work-items/{item}", {"expand": "all"}, "expand"),
    ],
)
def test_an_unknown_query_parameter_is_refused_not_ignored(
    served: Served, as_user: ClientFactory, path: str, params: dict[str, Any], field: str
) -> None:
    refused(as_user("alice").get(fill(path, served), params=params), 422, "VALIDATION_ERROR", field)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/work-items", {"q": "   "}, "q"),
        ("/api/v1/work-items", {"q": "x" * 201}, "q"),
        ("/api/v1/changes", {}, "since_seq"),
        ("/api/v1/changes", {"since_seq": -1}, "since_seq"),
        ("/api/v1/activity", {"since": -5}, "since"),
        ("/api/v1/projects/{apollo}/context", {"max_items": 0}, "max_items"),
    ],
    ids=["blank-q", "long-q", "no-since-seq", "negative-seq", "since", "max"],
)
def test_an_out_of_range_parameter_is_a_validation_error_naming_it(
    served: Served, as_user: ClientFactory, path: str, params: dict[str, Any], field: str
) -> None:
    refused(as_user("alice").get(fill(path, served), params=params), 422, "VALIDATION_ERROR", field)


def test_a_seq_past_the_feed_is_resync_required_not_a_validation_error(
    as_user: ClientFactory,
) -> None:
    """A seq the feed never issued means the client's history is not this one (the file went
    back in time): it must reload, not fix its parameters."""
    refused(
        as_user("alice").get("/api/v1/changes", params={"since_seq": 10**6}), 410, "RESYNC_REQUIRED"
    )


def test_unknown_ids_are_not_found_without_detail(as_user: ClientFactory) -> None:
    alice = as_user("alice")
    missing = "00000000-0000-4000-8000-000000000000"
    refused(alice.get(f"/api/v1/work-items/{missing}"), 404, "NOT_FOUND", "work_item_id")
    refused(alice.get(f"/api/v1/sprints/{missing}"), 404, "NOT_FOUND", "sprint_id")
    refused(alice.get(f"/api/v1/projects/{missing}/context"), 404, "NOT_FOUND", "project_id")
    refused(alice.get(f"/api/v1/projects/{'x' * 300}/context"), 404, "NOT_FOUND")
    refused(alice.get("/api/v1/no-such-endpoint"), 404, "NOT_FOUND")


def test_a_method_the_path_does_not_serve_is_method_not_allowed(as_user: ClientFactory) -> None:
    """The path exists, so not NOT_FOUND, and nothing was wrong with a message: 405 with its
    own code and the methods the path does serve. Nothing is written."""
    alice = as_user("alice")
    for response in (
        alice.post("/api/v1/work-items", json={"title": "x"}),
        alice.delete("/api/v1/projects"),
        alice.put("/api/v1/changes"),
    ):
        refused(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == "GET"
    titles = [i["title"] for i in alice.get("/api/v1/work-items").json()["items"]]
    assert "x" not in titles


def test_no_refusal_carries_a_stack_trace_or_sql(served: Served, as_user: ClientFactory) -> None:
    """Every kind of refusal, including the forged cursor that today reaches SQL and fails
    inside the service (500): each answers the one error shape and says nothing of the code."""
    alice = as_user("alice")
    responses = [
        alice.get("/api/v1/work-items", params={"cursor": forge([{"a": 1}, "x"])}),
        alice.get("/api/v1/work-items", params={"status": "doing", "limit": 0}),
        alice.get("/api/v1/work-items", params={"q": "' OR 1=1 --"}),
        alice.get("/api/v1/activity", params={"cursor": forge(["x"])}),
        alice.get("/api/v1/changes", params={"since_seq": 10**6}),
        alice.get("/api/v1/projects/%00/context"),
        alice.post("/api/v1/work-items", json={"title": "x"}),
        alice.get(f"/api/v1/sprints/{served.board.globex_sprint['id']}"),
        httpx.get(f"{served.server.http}/api/v1/projects", trust_env=False),
    ]
    for response in responses:
        if response.status_code == 200:
            assert response.json() == {"items": [], "next_cursor": None}  # the injection: text
            continue
        error = response.json()["error"]
        assert set(error) >= {"code", "message", "field"} and error["message"]
        assert not any(marker in response.text for marker in LEAK_MARKERS), response.text
        assert "work_items" not in error["message"] and "Error binding" not in response.text


# -- the OpenAPI document --------------------------------------------------------------------


def test_openapi_names_each_operation_after_its_function(served: Served) -> None:
    document = ok(httpx.get(f"{served.server.http}/openapi.json", trust_env=False))
    operations = {
        path: item["get"]["operationId"]
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/")
    }
    assert operations == {
        "/api/v1/projects": "list_projects",
        "/api/v1/projects/{project_id}/members": "list_members",
        "/api/v1/projects/{project_id}/context": "get_project_context",
        "/api/v1/projects/{project_id}/cycle-time": "get_project_cycle_time",
        "/api/v1/projects/{project_id}/states": "get_project_states",
        "/api/v1/work-items": "list_work_items",
        "/api/v1/work-items/{work_item_id}": "get_work_item",
        "/api/v1/work-items/{work_item_id}/children": "get_children",
        "/api/v1/work-items/{work_item_id}/comments": "get_comments",
        "/api/v1/work-items/{work_item_id}/time-entries": "get_time_entries",
        "/api/v1/work-items/{work_item_id}/dependencies": "get_dependencies",
        "/api/v1/sprints/{sprint_id}": "get_sprint",
        "/api/v1/activity": "get_activity",
        "/api/v1/changes": "get_changes",
        "/api/v1/llm/context": "get_llm_context",
        "/api/v1/notifications": "list_notifications",
    }


def test_openapi_documents_every_refusal_and_the_bearer_scheme(served: Served) -> None:
    document = ok(httpx.get(f"{served.server.http}/openapi.json", trust_env=False))
    for path, item in document["paths"].items():
        if path.startswith("/api/v1/"):
            responses = item["get"]["responses"]
            assert {"200", "401", "404", "422", "429"} <= set(responses), path
            assert item["get"]["security"] == [{"HTTPBearer": []}], path
    assert "410" in document["paths"]["/api/v1/changes"]["get"]["responses"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {**schemes["HTTPBearer"], "type": "http", "scheme": "bearer"}


def test_openapi_types_every_change_event_and_describes_the_api(served: Served) -> None:
    """An agent reading /openapi.json learns each event's payload, chosen by payload_name, not
    a free-form object; and the document says what the API is."""
    document = ok(httpx.get(f"{served.server.http}/openapi.json", trust_env=False))
    schemas = document["components"]["schemas"]
    events = schemas["Changes"]["properties"]["events"]["items"]
    mapping = events["discriminator"]["mapping"]
    assert events["discriminator"]["propertyName"] == "payload_name"
    assert set(mapping) == set(EVENT_PAYLOADS) and len(events["oneOf"]) == len(EVENT_PAYLOADS)
    for name, reference in mapping.items():
        event = schemas[reference.removeprefix("#/components/schemas/")]
        assert event["properties"]["payload_name"]["const"] == name
        payload = event["properties"]["payload"]["$ref"].removeprefix("#/components/schemas/")
        assert payload == EVENT_PAYLOADS[name].__name__ and schemas[payload]["properties"]
    description = document["info"]["description"]
    assert "Bearer" in description and "RESYNC_REQUIRED" in description
