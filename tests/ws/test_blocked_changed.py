"""Derived state pushed: every cause of an item's ``is_blocked`` changing reaches viewers as a
``blocked_changed`` event, live, in GetChanges and in ``/api/v1/changes``, exactly alike (one
per project of the affected items, so a blocker in one project reaches viewers of the other)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer, TokenFactory

from .client import Client, payload

Report = tuple[str, tuple[tuple[str, bool], ...]]  # (project, ((item, is_blocked), ...))


def _report(body: dict[str, Any]) -> Report:
    changes = [(c["work_item_id"], bool(c.get("is_blocked", False))) for c in body["changes"]]
    return body["project_id"], tuple(changes)


def _count(steps: list[set[Report]]) -> int:
    return sum(len(step) for step in steps)


def _by_step(reports: list[Report], steps: list[set[Report]]) -> list[set[Report]]:
    """The reports in order, cut into the sizes of the expected steps."""
    grouped, start = [], 0
    for step in steps:
        grouped.append(set(reports[start : start + len(step)]))
        start += len(step)
    assert start == len(reports), reports
    return grouped


async def _ok(client: Client, name: str, body: dict[str, Any]) -> Any:
    name_back, answer = payload(await client.request(name, body))
    assert name_back != "error", answer
    return answer


async def _item(client: Client, parent: str, title: str) -> dict[str, Any]:
    body = {"item_type": "task", "parent_id": parent, "title": title}
    return (await _ok(client, "create_work_item", body))["work_item"]  # type: ignore[no-any-return]


async def _live_reports(viewer: Client, count: int) -> list[Report]:
    reports: list[Report] = []
    while len(reports) < count:
        name, body = payload(await viewer.event())
        if name == "blocked_changed":
            reports.append(_report(body))
    return reports


async def test_every_cause_is_pushed_live_and_in_both_feeds(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    token = make_token("alice", roles=("admin",))
    alice = await Client.open(live_server.ws, token)
    bob = await Client.open(live_server.ws, make_token("bob", roles=("admin",)))
    try:
        p = await _ok(alice, "create_work_item", {"item_type": "project", "title": "P"})
        q = await _ok(alice, "create_work_item", {"item_type": "project", "title": "Q"})
        p_id, q_id = p["work_item"]["id"], q["work_item"]["id"]
        a, b = await _item(alice, p_id, "A"), await _item(alice, p_id, "B")
        c = await _item(alice, q_id, "C")
        start = int((await _ok(bob, "subscribe", {"project_ids": [p_id, q_id]}))["current_seq"])
        await _ok(alice, "subscribe", {"project_ids": [p_id, q_id]})

        def dep(blocking: dict[str, Any], blocked: dict[str, Any], kind: str = "blocks") -> Any:
            body = {"blocking_item_id": blocking["id"], "blocked_item_id": blocked["id"]}
            return _ok(alice, "create_dependency", {**body, "dependency_type": kind})

        a_blocks_b = (await dep(a, b))["dependency"]
        await dep(a, c)  # across projects: C's viewers hear of it
        await dep(b, c, "relates_to")  # relates_to blocks nothing: no report
        await _ok(
            alice,
            "update_work_item",
            {"work_item_id": a["id"], "expected_version": 1, "status": "done"},
        )
        await _ok(
            alice,
            "move_work_item",
            {"work_item_id": a["id"], "expected_version": 2, "status": "todo"},
        )
        await _ok(
            alice,
            "update_work_item",
            {"work_item_id": a["id"], "expected_version": 3, "title": "A, renamed"},
        )  # no status: no report
        await _ok(alice, "delete_dependency", {"dependency_id": a_blocks_b["id"]})
        await _ok(alice, "delete_work_item", {"work_item_id": a["id"], "expected_version": 4})

        # One report per project of the affected items; a step that touches two projects
        # sends two, in either order.
        steps: list[set[Report]] = [
            {(p_id, ((b["id"], True),))},  # A blocks B
            {(q_id, ((c["id"], True),))},  # A blocks C
            {(p_id, ((b["id"], False),)), (q_id, ((c["id"], False),))},  # A done
            {(p_id, ((b["id"], True),)), (q_id, ((c["id"], True),))},  # A reopened
            {(p_id, ((b["id"], False),))},  # A -> B deleted
            {(q_id, ((c["id"], False),))},  # A deleted, with its dependency on C
        ]
        assert _by_step(await _live_reports(bob, _count(steps)), steps) == steps
        # The author's own socket hears of them too: they are not its command's answer.
        assert _by_step(await _live_reports(alice, _count(steps)), steps) == steps

        changes = await _ok(alice, "get_changes", {"since_seq": start})
        replayed = [
            _report(e["blocked_changed"]) for e in changes["events"] if "blocked_changed" in e
        ]
        assert _by_step(replayed, steps) == steps

        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=live_server.http, headers=headers) as rest:
            feed = (await rest.get("/api/v1/changes", params={"since_seq": start})).json()
        polled = [
            _report(e["payload"]) for e in feed["events"] if e["payload_name"] == "blocked_changed"
        ]
        assert _by_step(polled, steps) == steps
    finally:
        await alice.close()
        await bob.close()
