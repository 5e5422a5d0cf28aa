"""The REST door's bounds on a server configured small: 5 requests a minute per tenant and user
(``rest_rate_limit``), pages of at most 5 rows (``max_page_size``, left below the default page
size). Each test spends the budget of users of its own, so the tests don't depend on each
other's order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.rest.conftest import OTHER_TENANT, TENANT, Served, bearer, ok, refused, serve_board

RATE = 5
PAGE = 5


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_board(
        tmp_path_factory.mktemp("small"),
        rest_rate_limit=f"{RATE}/minute",
        max_page_size=PAGE,  # below the default page size (100)
    )


def client(small: Served, user_id: str, tenant_id: str = TENANT, **headers: str) -> httpx.Client:
    """A client with the token of ``user_id``, a tenant admin (so it sees every project)."""
    return httpx.Client(
        base_url=small.server.http,
        headers={**bearer(user_id, tenant_id, roles=("admin",)), **headers},
        trust_env=False,
        timeout=30,
    )


def spend_budget(small: Served, user_id: str, tenant_id: str = TENANT) -> None:
    with client(small, user_id, tenant_id) as c:
        for _ in range(RATE):
            ok(c.get("/api/v1/llm/context", params={"category": "sprint"}))
        refused(c.get("/api/v1/projects"), 429, "RATE_LIMITED")


def test_the_request_over_the_rate_is_refused_with_retry_after(small: Served) -> None:
    board = small.board
    endpoints: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/projects", {}),
        (f"/api/v1/projects/{board.apollo['id']}/context", {"format": "markdown"}),
        ("/api/v1/work-items", {}),
        (f"/api/v1/sprints/{board.sprint['id']}", {}),
        ("/api/v1/changes", {"since_seq": 0}),
    ]
    with client(small, "rita") as rita:
        for path, params in endpoints:
            assert rita.get(path, params=params).status_code == 200, path
        response = rita.get("/api/v1/activity")
    error = refused(response, 429, "RATE_LIMITED")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert 1000 <= error["retry_after_ms"] <= 60_000


def test_another_user_of_the_same_tenant_is_unaffected(small: Served) -> None:
    spend_budget(small, "ross")
    with client(small, "rhea") as rhea:
        for _ in range(RATE):
            ok(rhea.get("/api/v1/projects"))


def test_the_limit_is_keyed_on_tenant_and_user_not_on_the_address(small: Served) -> None:
    spend_budget(small, "remy")
    with client(small, "remy", OTHER_TENANT) as same_name_elsewhere:
        ok(same_name_elsewhere.get("/api/v1/projects"))
    with client(small, "remy", **{"X-Forwarded-For": "203.0.113.9"}) as from_elsewhere:
        refused(from_elsewhere.get("/api/v1/projects"), 429, "RATE_LIMITED")


def test_a_request_without_a_valid_token_is_refused_before_any_budget_is_spent(
    small: Served,
) -> None:
    with httpx.Client(base_url=small.server.http, trust_env=False) as anonymous:
        for _ in range(RATE + 2):
            refused(anonymous.get("/api/v1/projects"), 401, "UNAUTHENTICATED")
    with client(small, "ursula") as ursula:
        for _ in range(RATE):
            ok(ursula.get("/api/v1/projects"))


def test_a_limit_over_the_maximum_is_capped_not_refused(small: Served) -> None:
    with client(small, "cap") as cap:
        items = ok(cap.get("/api/v1/work-items", params={"limit": 10**12}))
        assert len(items["items"]) == PAGE and items["next_cursor"] is not None
        entries = ok(cap.get("/api/v1/activity", params={"limit": PAGE + 1}))
        assert len(entries["entries"]) == PAGE and entries["next_cursor"] is not None
        feed = ok(cap.get("/api/v1/changes", params={"since_seq": 0, "limit": 10**12}))
        assert [e["seq"] for e in feed["events"]] == list(range(1, PAGE + 1))
        assert feed["has_more"] is True and feed["as_of_seq"] == PAGE


def test_a_page_without_a_limit_holds_at_most_the_maximum(small: Served) -> None:
    with client(small, "dee") as dee:
        items = ok(dee.get("/api/v1/work-items"))
        assert len(items["items"]) == PAGE and items["next_cursor"] is not None
        entries = ok(dee.get("/api/v1/activity"))
        assert len(entries["entries"]) == PAGE and entries["next_cursor"] is not None
        feed = ok(dee.get("/api/v1/changes", params={"since_seq": 0}))
        assert len(feed["events"]) == PAGE and feed["has_more"] is True
