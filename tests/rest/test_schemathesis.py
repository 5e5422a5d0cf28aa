"""The REST door against its own OpenAPI document, with every schemathesis check.

Schemathesis reads ``/openapi.json`` from a live server over a seeded board and sends generated
requests (its examples, coverage and fuzzing phases; schema-valid and deliberately invalid data)
with a valid bearer token. Every built-in check runs: no 5xx, status codes, content types,
headers and bodies as documented, valid data accepted, invalid data refused, a request without
its token refused. ``EXAMPLES`` bounds the fuzzing per operation so the file runs in seconds.
The server's rate limit is raised so the generator's bursts measure the API, not the limiter
(tests/rest/test_limits.py tests the limiter). Nothing is written to ``.schemathesis/`` (only
its command line records crashes there) nor to Hypothesis' example database (``database=None``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from pm.config import Settings
from tests.rest.conftest import Served, api_client, serve_board, token

EXAMPLES = 30
# Label and field conditions of one search, together (a setting the server refuses past with
# VALIDATION_ERROR; tests/services/test_views_and_sorting.py tests that refusal).
MAX_CONDITIONS = Settings.model_fields["views_max_conditions"].default
# Invalid data may be refused before any route reads it: a request line (a query of many
# drawn values) past http_max_header_bytes is answered 431, which is documented and counts as
# a refusal. (The rest is schemathesis' default list.)
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [*REFUSALS, "431"]}}}
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_board(tmp_path_factory.mktemp("fuzz"), rest_rate_limit="100000/minute")


class AliceToken:
    """A valid bearer token, given the way schemathesis knows about: a case whose point is a
    missing or broken Authorization header is sent without it."""

    def get(self, case: Any, context: Any) -> str:
        return token("alice")

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def api_schema(fuzzed: Served) -> Any:
    loaded = schemathesis.openapi.from_url(f"{fuzzed.server.http}/openapi.json", config=CONFIG)
    loaded.auth()(AliceToken)
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32's fixture-loaded schema reads ``request.node._nodeid`` (to name each
    operation's subtest), an attribute pytest 9.2 no longer sets; give it the node's id. This
    touches only the report's naming: generation, requests and checks are schemathesis' own."""
    request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_its_schema(case: Any, fuzzed: Served) -> None:
    if case.meta is not None and case.meta.generation.mode.is_positive and case.query:
        only_values_the_server_issues(case.query, fuzzed.board.feed_seq)
        within_the_condition_bound(case.query)
    case.call_and_validate()


def only_values_the_server_issues(query: dict[str, Any], feed_seq: int) -> None:
    """A valid ``cursor`` is one the server issued and a valid ``since_seq`` one it has reached;
    no schema can say so, so a schema-valid draw of either is not valid data. A positive case
    goes without a drawn cursor (the pagination tests walk real ones) and with ``since_seq``
    lowered to the feed's end; every other drawn value is sent as drawn."""
    query.pop("cursor", None)
    since = str(query.get("since_seq", ""))
    if since.isdigit() and int(since) > feed_seq:
        query["since_seq"] = feed_seq


def within_the_condition_bound(query: dict[str, Any]) -> None:
    """Past ``views_max_conditions`` label and field conditions together a search is refused:
    a server setting, so the schema can't say it (each list alone may be long), and a positive
    draw over it is not valid data. It keeps that many, labels first."""
    labels, fields = _listed(query.get("label")), _listed(query.get("field"))
    if len(labels) + len(fields) <= MAX_CONDITIONS:
        return
    query["label"] = labels[:MAX_CONDITIONS]
    query["field"] = fields[: MAX_CONDITIONS - len(query["label"])]


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def test_every_operation_refuses_a_missing_token(fuzzed: Served) -> None:
    document = httpx.get(f"{fuzzed.server.http}/openapi.json", trust_env=False).json()
    operations = [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if path.startswith("/api/v1/")
    ]
    assert len(operations) == 16
    board = fuzzed.board
    ids = {
        "project_id": board.apollo["id"],
        "work_item_id": board.item("limit")["id"],
        "sprint_id": board.sprint["id"],
    }
    with api_client(fuzzed.server) as anonymous:
        for method, path in operations:
            response = anonymous.request(
                method.upper(), path.format(**ids), params={"since_seq": 0}
            )
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "UNAUTHENTICATED"
            assert response.headers["www-authenticate"] == "Bearer"
