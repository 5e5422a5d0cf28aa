"""Cycle and lead time over REST, on a real server seeded with the constructed history
(tests/flow_history.py): the report, its refusals, and the project context (JSON and Markdown)
an agent reads."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pm.config import load_settings
from tests.conftest import TEST_SECRET, LiveServer, start_server
from tests.flow_history import (
    CYCLE,
    LEAD,
    SINCE,
    UNTIL,
    History,
    expected_items,
    seed_history,
)
from tests.rest.conftest import bearer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, History]]:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("cycle-rest") / "data", jwt_secret=TEST_SECRET
    )
    history = seed_history(settings)
    server = start_server(settings)
    yield server, history
    server.stop()


def _get(server: LiveServer, path: str, user: str = "alice", **params: str) -> httpx.Response:
    return httpx.get(server.http + path, params=params, headers=bearer(user), timeout=30)


def test_report_gives_the_history_figures(served: tuple[LiveServer, History]) -> None:
    server, history = served
    path = f"/api/v1/projects/{history.project_id}/cycle-time"
    response = _get(server, path, since=SINCE, until=UNTIL)
    assert response.status_code == 200
    assert response.json() == {
        "project_id": history.project_id,
        "since": SINCE,
        "until": UNTIL,
        "cycle_time": CYCLE,
        "lead_time": LEAD,
        "items": expected_items(history),
        "has_more": False,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": UNTIL, "until": SINCE}, "since"),
        ({"since": "2024-01-01", "until": UNTIL}, "since"),
        ({"until": "tomorrow"}, "until"),
    ],
)
def test_bad_range_is_422_naming_the_field(
    served: tuple[LiveServer, History], params: dict[str, str], field: str
) -> None:
    server, history = served
    response = _get(server, f"/api/v1/projects/{history.project_id}/cycle-time", **params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["field"] == field


def test_non_member_gets_404(served: tuple[LiveServer, History]) -> None:
    server, history = served
    response = _get(server, f"/api/v1/projects/{history.project_id}/cycle-time", "mallory")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_context_carries_the_figures_of_the_last_30_days(
    served: tuple[LiveServer, History],
) -> None:
    server, history = served
    context = _get(server, f"/api/v1/projects/{history.project_id}/context").json()
    flow = context["cycle_time"]
    assert (flow["lead_time"], flow["cycle_time"], flow["has_more"]) == (LEAD, CYCLE, False)
    assert "items" not in flow


def test_markdown_context_says_the_percentiles_in_days(
    served: tuple[LiveServer, History],
) -> None:
    server, history = served
    path = f"/api/v1/projects/{history.project_id}/context"
    markdown = _get(server, path, format="markdown").text
    # leads [5, 12, 20, 30, 48, 72] h, cycles [10, 24, 48, 48] h
    assert ", 6 items: p50 0.8 d, p85 3.0 d, p95 3.0 d" in markdown
    assert "- cycle time, 4 of them started first: p50 1.0 d, p85 2.0 d, p95 2.0 d" in markdown


def test_bystander_project_context_has_its_own_figures(
    served: tuple[LiveServer, History],
) -> None:
    server, history = served
    context = _get(server, f"/api/v1/projects/{history.other_project_id}/context").json()
    assert context["cycle_time"]["lead_time"]["count"] == 1
    assert context["cycle_time"]["cycle_time"]["count"] == 0
