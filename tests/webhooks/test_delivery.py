"""Webhooks end to end: a real ``pm serve``, subscriptions made over /ws by an admin, receivers
on 127.0.0.1 started by the test. Every event once, in seq order, exactly the envelope
GetChanges returns, signed so that the Standard Webhooks verifier accepts it with the secret;
retries that end in order, a hanging receiver that holds up nobody else, private targets
refused by default, a webhook turned off after its run of failures, and a restart in the
middle that skips nothing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.conftest import TokenFactory
from tests.webhooks.receiver import HANG, Receiver, receiver
from tests.ws.client import Client, payload
from tests.ws.serve import ServeProcess, pm_serve

FAST_RETRIES = {
    "webhook_allowed_networks": "127.0.0.1/32",
    "webhook_retry_base_seconds": "0.05",
    "webhook_retry_max_seconds": "0.2",
    "ws_rate_limit": "100000/10seconds",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@contextlib.contextmanager
def served(data_dir: Path, port: int | None = None, **settings: str) -> Iterator[ServeProcess]:
    with pm_serve(data_dir, port=port, **{**FAST_RETRIES, **settings}) as server:
        yield server


@contextlib.asynccontextmanager
async def board(server: ServeProcess, token: str) -> AsyncIterator[Client]:
    client = await Client.open(server.ws, token)
    try:
        yield client
    finally:
        await client.close()


async def answer(client: Client, name: str, body: dict[str, Any]) -> tuple[str, Any]:
    return payload(await client.request(name, body))


async def project_with_webhook(
    client: Client, url: str, **filters: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A project, then a webhook to ``url``; (project, webhook_created answer)."""
    name, made = await answer(
        client, "create_work_item", {"item_type": "project", "title": "Hooks"}
    )
    assert name == "work_item_created", made
    name, hook = await answer(client, "create_webhook", {"url": url, **filters})
    assert name == "webhook_created", hook
    return made["work_item"], hook


async def changes_of(client: Client, since_seq: int, project_id: str) -> list[dict[str, Any]]:
    name, body = await answer(
        client, "get_changes", {"since_seq": since_seq, "project_ids": [project_id], "limit": 500}
    )
    assert name == "changes", body
    return list(body["events"])


async def make_changes(client: Client, project: dict[str, Any], count: int) -> None:
    for n in range(count):
        name, made = await answer(
            client,
            "create_work_item",
            {"item_type": "task", "parent_id": project["id"], "title": f"Task {n}"},
        )
        assert name == "work_item_created", made
        if n % 2:
            await answer(
                client,
                "update_work_item",
                {"work_item_id": made["work_item"]["key"], "expected_version": 1, "status": "done"},
            )


def normalised(envelope: dict[str, Any]) -> dict[str, Any]:
    """An envelope with int64 fields as numbers (the JSON mapping may send them as strings)."""
    return {k: int(v) if k in ("seq", "sent_at_ms") else v for k, v in envelope.items()}


def delivered_envelopes(hook: Receiver) -> list[dict[str, Any]]:
    return [normalised(request.envelope) for request in hook.delivered()]


async def test_every_event_arrives_once_in_seq_order_signed(
    data_dir: Path, make_token: TokenFactory
) -> None:
    async with receiver() as hook:
        with served(data_dir) as server:
            async with board(server, make_token("alice")) as alice:
                project, created = await project_with_webhook(alice, hook.url)
                start = created["webhook"]["cursor_seq"]
                await make_changes(alice, project, 12)
                expected = [normalised(e) for e in await changes_of(alice, start, project["id"])]
                await hook.wait_for(lambda h: len(h.delivered()) >= len(expected))
    assert len(expected) == 18
    assert delivered_envelopes(hook) == expected
    verifier = Webhook(created["secret"])
    for request in hook.got:
        assert verifier.verify(request.body, request.headers) == request.envelope
        assert request.headers["webhook-id"] == request.envelope["message_id"]
        assert request.headers["webhook-signature"].startswith("v1,")
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43).verify(request.body, request.headers)


async def test_derived_blocked_changed_events_are_delivered_like_any_other(
    data_dir: Path, make_token: TokenFactory
) -> None:
    async with receiver() as hook:
        with served(data_dir) as server:
            async with board(server, make_token("alice")) as alice:
                project, created = await project_with_webhook(alice, hook.url)
                tasks = []
                for title in ("Blocker", "Blocked"):
                    body = {"item_type": "task", "parent_id": project["id"], "title": title}
                    tasks.append((await answer(alice, "create_work_item", body))[1]["work_item"])
                name, _ = await answer(
                    alice,
                    "create_dependency",
                    {
                        "blocking_item_id": tasks[0]["key"],
                        "blocked_item_id": tasks[1]["key"],
                        "dependency_type": "blocks",
                    },
                )
                assert name == "dependency_created"
                expected = await changes_of(alice, created["webhook"]["cursor_seq"], project["id"])
                await hook.wait_for(lambda h: len(h.delivered()) >= len(expected))
    assert delivered_envelopes(hook) == [normalised(e) for e in expected]
    (blocked,) = [e["blocked_changed"] for e in expected if "blocked_changed" in e]
    assert blocked["project_id"] == project["id"]
    assert blocked["changes"] == [{"work_item_id": tasks[1]["id"], "is_blocked": True}]


async def test_a_receiver_that_fails_three_times_then_recovers_gets_everything_in_order(
    data_dir: Path, make_token: TokenFactory
) -> None:
    async with receiver(lambda n: 503 if n <= 3 else 200) as hook:
        with served(data_dir) as server:
            async with board(server, make_token("alice")) as alice:
                project, created = await project_with_webhook(alice, hook.url)
                await make_changes(alice, project, 5)
                expected = await changes_of(alice, created["webhook"]["cursor_seq"], project["id"])
                await hook.wait_for(lambda h: len(h.delivered()) >= len(expected))
                webhook_id = created["webhook"]["id"]
                _, log = await answer(alice, "get_webhook_deliveries", {"webhook_id": webhook_id})
                _, listed = await answer(alice, "list_webhooks", {})
    assert delivered_envelopes(hook) == [normalised(e) for e in expected]
    first = expected[0]["message_id"]
    assert [r.headers["webhook-id"] for r in hook.got[:4]] == [first] * 4
    attempts = sorted(log["deliveries"], key=lambda d: int(d["id"]))
    assert [(d["outcome"], int(d["attempt"])) for d in attempts[:4]] == [
        ("failed", 1),
        ("failed", 2),
        ("failed", 3),
        ("delivered", 4),
    ]
    assert attempts[0]["status_code"] == 503 and attempts[0]["error"] == "answered 503"
    (hook_state,) = listed["webhooks"]
    assert hook_state["active"] is True and int(hook_state.get("consecutive_failures", 0)) == 0


async def test_a_hanging_receiver_delays_neither_another_webhook_nor_any_commit(
    data_dir: Path, make_token: TokenFactory
) -> None:
    async with receiver(lambda _n: HANG) as stuck, receiver() as healthy:
        with served(data_dir, webhook_timeout_seconds="300") as server:
            async with board(server, make_token("alice")) as alice:
                project, _created = await project_with_webhook(alice, stuck.url)
                _, other = await answer(alice, "create_webhook", {"url": healthy.url})
                await make_changes(alice, project, 1)
                await stuck.wait_for(lambda h: len(h.got) >= 1)
                await make_changes(alice, project, 10)  # every command answered meanwhile
                expected = await changes_of(alice, other["webhook"]["cursor_seq"], project["id"])
                await healthy.wait_for(lambda h: len(h.delivered()) >= len(expected))
                assert len(stuck.got) == 1  # still waiting for its first answer
    assert delivered_envelopes(healthy) == [normalised(e) for e in expected]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost:9/hook",
        "http://100.100.100.200/",
        "ftp://example.com/",
        "http://user:pass@example.com/",
    ],
)
async def test_a_private_or_odd_target_is_refused_by_default_and_writes_nothing(
    data_dir: Path, make_token: TokenFactory, url: str
) -> None:
    with pm_serve(data_dir) as server:  # no network allowed
        async with board(server, make_token("alice")) as alice:
            await answer(alice, "create_work_item", {"item_type": "project", "title": "P"})
            name, refused = await answer(alice, "create_webhook", {"url": url})
            _, listed = await answer(alice, "list_webhooks", {})
    assert name == "error" and refused["code"] == "VALIDATION_ERROR" and refused["field"] == "url"
    assert listed.get("webhooks", []) == []


async def test_only_project_admins_manage_webhooks(
    data_dir: Path, make_token: TokenFactory
) -> None:
    async with receiver() as hook:
        with served(data_dir) as server:
            async with (
                board(server, make_token("alice")) as alice,
                board(server, make_token("eddie")) as eddie,
            ):
                project, created = await project_with_webhook(alice, hook.url)
                await answer(
                    alice,
                    "add_member",
                    {"project_id": project["id"], "user_id": "eddie", "role": "editor"},
                )
                named, refused = await answer(
                    eddie, "create_webhook", {"url": hook.url, "project_ids": [project["id"]]}
                )
                bare, bare_refused = await answer(eddie, "create_webhook", {"url": hook.url})
                _, seen = await answer(eddie, "list_webhooks", {})
                gone, _ = await answer(
                    eddie, "delete_webhook", {"webhook_id": created["webhook"]["id"]}
                )
    assert (named, refused["code"]) == ("error", "FORBIDDEN")
    assert (bare, bare_refused["code"]) == ("error", "FORBIDDEN")
    assert seen.get("webhooks", []) == []
    assert gone == "error"


async def test_a_webhook_is_turned_off_after_its_run_of_failures_and_back_on_resumes(
    data_dir: Path, make_token: TokenFactory
) -> None:
    healthy = {"now": False}
    async with receiver(lambda _n: 200 if healthy["now"] else 500) as hook:
        with served(data_dir, webhook_disable_after_failures="3") as server:
            async with board(server, make_token("alice")) as alice:
                project, created = await project_with_webhook(alice, hook.url)
                webhook = created["webhook"]
                await make_changes(alice, project, 2)
                await hook.wait_for(lambda h: len(h.got) >= 3)
                listed = await _wait_until_off(alice)
                healthy["now"] = True
                _, back = await answer(
                    alice,
                    "update_webhook",
                    {"webhook_id": webhook["id"], "url": hook.url, "active": True},
                )
                expected = await changes_of(alice, webhook["cursor_seq"], project["id"])
                await hook.wait_for(lambda h: len(h.delivered()) >= len(expected))
    assert listed["active"] is False
    assert listed["disabled_reason"].startswith("turned off after 3 failed attempts in a row")
    assert back["webhook"]["active"] is True
    assert delivered_envelopes(hook) == [normalised(e) for e in expected]


async def _wait_until_off(client: Client) -> dict[str, Any]:
    """The webhook as listed once the deliverer has turned it off (polled: nothing is pushed
    to the admin about it)."""
    for _ in range(600):
        _, listed = await answer(client, "list_webhooks", {})
        (hook,) = listed["webhooks"]
        if not hook.get("active", False):
            return dict(hook)
        await client.request("list_projects", {})  # a round trip of time, not a fixed sleep
    raise AssertionError("the webhook was never turned off")


async def test_deliveries_survive_a_restart_of_pm(data_dir: Path, make_token: TokenFactory) -> None:
    up = {"now": False}
    async with receiver(lambda _n: 200 if up["now"] else 500) as hook:
        with served(data_dir) as server:
            port = server.port
            async with board(server, make_token("alice")) as alice:
                project, created = await project_with_webhook(alice, hook.url)
                await make_changes(alice, project, 6)
                await hook.wait_for(lambda h: len(h.got) >= 2)  # failing, retrying
        up["now"] = True  # the receiver recovers while pm is down
        with served(data_dir, port) as server:
            async with board(server, make_token("alice")) as alice:
                await make_changes(alice, project, 2)
                expected = await changes_of(alice, created["webhook"]["cursor_seq"], project["id"])
                await hook.wait_for(lambda h: len(h.delivered()) >= len(expected))
    received = delivered_envelopes(hook)
    assert received == [normalised(e) for e in expected], "each event once, in seq order"
    assert len({e["message_id"] for e in received}) == len(expected) == 9 + 3
