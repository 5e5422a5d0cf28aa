"""pm serves the board itself: the page at `/` and its hashed assets, with a policy that lets
the page load nothing from anywhere else; the bundle stays small. No browser needed here."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pm.board import STATIC_DIR, install_board
from tests.conftest import LiveServer

BUNDLE_GZIP_LIMIT = 250 * 1024


@pytest.fixture(autouse=True)
def _built() -> None:
    if not (STATIC_DIR / "index.html").is_file():
        pytest.fail("the board is not built: run `make web` (make test builds it first)")


def _asset_paths(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_page_is_served_at_the_root_with_a_strict_policy(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.http}/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assets = [p for p in _asset_paths(response.text) if not p.startswith("data:")]
    assert assets and all(p.startswith("/assets/") for p in assets), assets


def test_everything_the_page_loads_comes_from_pm_and_is_small(live_server: LiveServer) -> None:
    """Every file of the build counts (the charts are loaded later, with the Sprints view)."""
    page = httpx.get(f"{live_server.http}/").text
    total = len(gzip.compress(page.encode()))
    built = sorted(p.name for p in (STATIC_DIR / "assets").iterdir())
    assert {
        p.removeprefix("/assets/") for p in _asset_paths(page) if p.startswith("/assets/")
    } <= set(built)
    for name in built:
        asset = httpx.get(f"{live_server.http}/assets/{name}")
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert not re.search(rb"""(?:src|href|import)\s*[=(]\s*["']https?://""", asset.content)
        total += len(gzip.compress(asset.content))
    print(f"board bundle: {total / 1024:.1f} KB gzip (limit {BUNDLE_GZIP_LIMIT // 1024} KB)")
    assert total < BUNDLE_GZIP_LIMIT


def test_paths_outside_the_board_keep_their_own_answers(live_server: LiveServer) -> None:
    missing = httpx.get(f"{live_server.http}/assets/nothing-here.js")
    assert missing.status_code == 404
    assert httpx.get(f"{live_server.http}/api/v1/nope").json()["error"]["code"] == "NOT_FOUND"
    escape = httpx.get(f"{live_server.http}/assets/%2e%2e/%2e%2e/app.py")
    assert escape.status_code == 404
    assert "import" not in escape.text


async def test_an_unbuilt_board_says_how_to_build_it(tmp_path: Path) -> None:
    app = FastAPI()
    install_board(app, static_dir=tmp_path / "no-build-here")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pm") as client:
        response = await client.get("/")
    assert response.status_code == 503
    assert "make web" in response.text
