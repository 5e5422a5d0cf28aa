"""``/docs``: Swagger UI over pm's OpenAPI document, from pm's own files. The page names only
this origin, every file it names is served with a policy that allows nothing else, and in
Chromium (on a network that reaches nothing but pm) it draws pm's operations: no CDN."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from tests.conftest import LiveServer
from tests.ws.serve import pm_serve

from .conftest import WAIT_MS


def test_docs_is_served_from_pms_own_files_with_a_strict_policy(live_server: LiveServer) -> None:
    page = httpx.get(f"{live_server.http}/docs", trust_env=False)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    named = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert named and all(path.startswith("/api-docs/") for path in named), named
    assert "<script>" not in page.text  # no inline script: the policy would refuse it
    for path in named:
        served = httpx.get(f"{live_server.http}{path}", trust_env=False)
        assert served.status_code == 200, path
        assert not re.search(rb"""(?:src|href)\s*=\s*["']https?://""", served.content), path
    assert httpx.get(f"{live_server.http}/redoc", trust_env=False).status_code == 404


def test_docs_draws_the_api_offline(tmp_path: Path, browser: Browser) -> None:
    with pm_serve(tmp_path / "data") as server:
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        elsewhere: list[str] = []
        page.on(
            "request",
            lambda r: (
                elsewhere.append(r.url)
                if not r.url.startswith(f"http://127.0.0.1:{server.port}/")
                else None
            ),
        )
        page.goto(f"http://127.0.0.1:{server.port}/docs")
        expect(page.get_by_text("Projects you can see")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_role("heading", name=re.compile("^pm"))).to_be_visible()
        context.close()
    assert elsewhere == [] and errors == []
