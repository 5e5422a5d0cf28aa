"""/metrics behind a token and the API documentation switched off, as operators configure them
(README, configuration), over a real server."""

from __future__ import annotations

from pathlib import Path

import httpx

from pm.config import load_settings
from tests.conftest import TEST_SECRET, start_server


def test_metrics_answer_only_the_metrics_token_and_docs_can_be_switched_off(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        metrics_token="scrape-token-0123456789",
        api_docs=False,
    )
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.http) as http:
            assert http.get("/metrics").status_code == 401
            wrong = {"Authorization": "Bearer scrape-token-wrong"}
            assert http.get("/metrics", headers=wrong).status_code == 401
            right = {"Authorization": "Bearer scrape-token-0123456789"}
            scraped = http.get("/metrics", headers=right)
            assert scraped.status_code == 200 and "pm_ws_connections" in scraped.text
            for path in ("/docs", "/openapi.json", "/redoc"):
                assert http.get(path).status_code == 404, path
            assert http.get("/health").status_code == 200
    finally:
        live.stop()


def test_by_default_metrics_and_docs_are_served(tmp_path: Path) -> None:
    live = start_server(load_settings(data_dir=tmp_path / "data", jwt_secret=TEST_SECRET))
    try:
        with httpx.Client(base_url=live.http) as http:
            assert http.get("/metrics").status_code == 200
            assert http.get("/openapi.json").status_code == 200
    finally:
        live.stop()
