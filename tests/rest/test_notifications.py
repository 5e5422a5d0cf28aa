"""GET /api/v1/notifications on the seeded board: each user's own, and refusals by name."""

from __future__ import annotations

from tests.rest.conftest import OTHER_TENANT, ClientFactory, ok, refused


def test_each_user_reads_their_own_notifications(as_user: ClientFactory) -> None:
    bobs = ok(as_user("bob").get("/api/v1/notifications"))
    assigned = {n["title"] for n in bobs["notifications"] if n["reason"] == "assigned"}
    assert assigned == {"Sign-up form", "Rate-limit sign-ups"}  # alice assigned him both
    assert bobs["unread_count"] == len(bobs["notifications"]) and not bobs["has_more"]
    assert all(n["actor_id"] != "bob" for n in bobs["notifications"])
    ids = {n["id"] for n in bobs["notifications"]}
    for other in (as_user("vic"), as_user("alice"), as_user("bob", OTHER_TENANT)):
        theirs = ok(other.get("/api/v1/notifications"))
        assert not ids & {n["id"] for n in theirs["notifications"]}
    page = ok(as_user("bob").get("/api/v1/notifications", params={"limit": 1, "unread_only": True}))
    assert len(page["notifications"]) == 1 and page["has_more"] and page["next_cursor"]


def test_the_change_feed_carries_the_callers_own_notifications_only(
    as_user: ClientFactory,
) -> None:
    def told(user: str) -> list[str]:
        feed = ok(as_user(user).get("/api/v1/changes", params={"since_seq": 0, "limit": 500}))
        return [
            e["payload"]["notification"]["id"]
            for e in feed["events"]
            if e["payload_name"] == "notification_created"
        ]

    bobs = {n["id"] for n in ok(as_user("bob").get("/api/v1/notifications"))["notifications"]}
    assert set(told("bob")) == bobs
    assert not set(told("vic")) & bobs


def test_bad_parameters_are_refused_by_name(as_user: ClientFactory) -> None:
    client = as_user("bob")
    refused(
        client.get("/api/v1/notifications", params={"unread_only": "perhaps"}),
        422,
        "VALIDATION_ERROR",
        "unread_only",
    )
    refused(
        client.get("/api/v1/notifications", params={"cursor": "bm9wZQ"}),
        422,
        "VALIDATION_ERROR",
        "cursor",
    )
    refused(
        client.get("/api/v1/notifications", params={"user_id": "alice"}),
        422,
        "VALIDATION_ERROR",
        "user_id",
    )
