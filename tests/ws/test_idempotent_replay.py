"""A retried message id over a real socket: the first answer again, byte for byte, whether its
record holds the answer or points at the change-feed event that carries it; the record of a
create is a few dozen bytes however long the description; once swept, the id is new again."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from pm.services.kernel.clock import now_ms
from pm.services.kernel.housekeeping import sweep_tenant
from tests.conftest import LiveServer, TokenFactory

from .client import Client, payload

DESCRIPTION = "d" * 20_000


async def _answer(client: Client, message_id: str, name: str, body: dict[str, Any]) -> Any:
    """The raw answer frame to this request sent with this message id (events put aside)."""
    await client.send_raw({"message_id": message_id, name: body})
    while True:
        frame = await client.recv()
        if frame.get("message_id") == message_id:
            return frame
        client.events.append(frame)


def _sent(frame: dict[str, Any]) -> dict[str, Any]:
    """The answer without its envelope's send time (each frame has its own)."""
    assert frame.pop("sent_at_ms") > 0
    return frame


def _records(server: LiveServer) -> dict[str, tuple[int, dict[str, Any]]]:
    """Every stored record of acme: message id -> (bytes stored, the record's response)."""

    def read(session: Session) -> dict[str, tuple[int, dict[str, Any]]]:
        rows = session.execute(text("SELECT message_id, response FROM idempotency_keys"))
        return {row[0]: (len(row[1].encode()), json.loads(row[1])) for row in rows}

    return server.components.tenants.open_sync("acme").read_sync(read)


def _count(server: LiveServer, sql: str) -> int:
    def read(session: Session) -> int:
        return int(session.execute(text(sql)).scalar_one())

    return server.components.tenants.open_sync("acme").read_sync(read)


async def test_a_replay_answers_the_first_answer_from_a_record_that_points_at_its_event(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice"))
    try:
        project = await _answer(
            alice, "p", "create_work_item", {"item_type": "project", "title": "P"}
        )
        project_id = payload(project)[1]["work_item"]["id"]
        create = {
            "item_type": "task",
            "parent_id": project_id,
            "title": "long",
            "description": DESCRIPTION,
        }
        first = await _answer(alice, "create", "create_work_item", create)
        item = payload(first)[1]["work_item"]
        # A no-op update has no event: its answer is kept in its record.
        same = {"work_item_id": item["id"], "expected_version": item["version"], "title": "long"}
        noop = await _answer(alice, "noop", "update_work_item", same)
        assert payload(noop)[0] == "work_item_updated" and not payload(noop)[1]["changes"]

        records = _records(live_server)
        size, stored = records["create"]
        assert "payload" not in stored and stored["seq"] == first["seq"]
        assert size < 100 < len(DESCRIPTION)
        assert "payload" in records["noop"][1]
        items = _count(live_server, "SELECT count(*) FROM work_items")

        assert _sent(await _answer(alice, "create", "create_work_item", create)) == _sent(first)
        assert _sent(await _answer(alice, "noop", "update_work_item", same)) == _sent(noop)
        assert _count(live_server, "SELECT count(*) FROM work_items") == items
    finally:
        await alice.close()


async def test_a_record_goes_with_the_feed_and_the_retried_id_is_then_a_new_request(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice"))
    try:
        project = await _answer(
            alice, "p", "create_work_item", {"item_type": "project", "title": "P"}
        )
        project_id = payload(project)[1]["work_item"]["id"]
        create = {"item_type": "task", "parent_id": project_id, "title": "t"}
        first = await _answer(alice, "retried", "create_work_item", create)
        await _answer(alice, "last", "create_work_item", {**create, "title": "newest"})

        # A feed kept one day under a week-long TTL: the sweep two days on takes the events
        # (all but the newest) and every record with them, however long their TTL.
        swept = live_server.components.tenants.open_sync("acme").write_sync(
            lambda session: sweep_tenant(
                session,
                now=now_ms() + 2 * 86_400_000,
                idempotency_ttl_seconds=7 * 86_400,
                change_retention_days=1,
            )
        )
        assert swept.idempotency_keys == 3 and swept.change_events >= 2
        assert _records(live_server) == {}

        again = await _answer(alice, "retried", "create_work_item", create)
        assert payload(again)[0] == "work_item_created"
        assert payload(again)[1]["work_item"]["id"] != payload(first)[1]["work_item"]["id"]
        assert again["seq"] > first["seq"]
        assert "retried" in _records(live_server)
    finally:
        await alice.close()
