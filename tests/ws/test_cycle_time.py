"""GetCycleTime over a real server, in both encodings: the figures of the constructed history
(tests/flow_history.py) exactly as the service computes them, and refusals as Error frames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pm.auth import issue_token
from pm.config import load_settings
from tests.conftest import TEST_SECRET, LiveServer, start_server
from tests.flow_history import (
    CYCLE,
    LEAD,
    SINCE,
    UNTIL,
    History,
    as_numbers,
    expected_items,
    seed_history,
    with_absent_as_none,
)

from .client import Client, payload


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, History]]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("cycle-ws") / "data", jwt_secret=TEST_SECRET
    )
    history = seed_history(settings)
    server = start_server(settings)
    yield server, history
    server.stop()


async def _ask(server: LiveServer, user: str, encoding: str, body: dict[str, Any]) -> Any:
    client = await Client.open(
        server.ws, issue_token(TEST_SECRET, tenant_id="acme", user_id=user), encoding
    )
    try:
        return payload(await client.request("get_cycle_time", body))
    finally:
        await client.close()


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
async def test_report_over_the_socket_gives_the_history_figures(
    served: tuple[LiveServer, History], encoding: str
) -> None:
    server, history = served
    body = {"project_id": history.project_id, "since": SINCE, "until": UNTIL}
    name, report = await _ask(server, "alice", encoding, body)
    assert name == "cycle_time_report"
    report = with_absent_as_none(as_numbers(report))
    assert report == {
        "project_id": history.project_id,
        "since": SINCE,
        "until": UNTIL,
        "cycle_time": CYCLE,
        "lead_time": LEAD,
        "items": expected_items(history),
        "has_more": False,
    }


@pytest.mark.parametrize(
    ("user", "body", "code", "field"),
    [
        ("alice", {"since": "2026-03-31", "until": "2026-03-01"}, "VALIDATION_ERROR", "since"),
        ("alice", {"until": "31/03/2026"}, "VALIDATION_ERROR", "until"),
        ("alice", {"since": "2024-01-01", "until": "2026-03-01"}, "VALIDATION_ERROR", "since"),
        ("mallory", {}, "NOT_FOUND", "project_id"),
    ],
)
async def test_refusals_are_error_frames_naming_the_field(
    served: tuple[LiveServer, History], user: str, body: dict[str, str], code: str, field: str
) -> None:
    server, history = served
    name, error = await _ask(server, user, "json", {"project_id": history.project_id, **body})
    assert name == "error"
    assert (error["code"], error["field"]) == (code, field)
