"""Browser tests of the board: Debian's Chromium (/usr/bin/chromium, installed by `make test`)
driven by Playwright against a real `pm serve` on 127.0.0.1. Each test has its own data, its own
browser contexts (one per person) and its own screenshots, written under the test's temporary
folder and listed at the end of the run."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from pm.board import STATIC_DIR
from tests.conftest import TokenFactory
from tests.ws.serve import ServeProcess, pm_serve

from .outside import Frame, Outside

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# From the machine notes: without the background-networking flags Chromium keeps trying
# Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
WAIT_MS = 15_000  # web-first assertions retry until this; nothing waits a fixed time
SCREENSHOTS: list[Path] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SCREENSHOTS:
        terminalreporter.write_sep("-", "board screenshots")
        for path in SCREENSHOTS:
            terminalreporter.write_line(str(path))


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (make test installs Debian's chromium package)")
    if not (STATIC_DIR / "index.html").is_file():
        pytest.fail("the board is not built: run `make web` (make test builds it first)")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Person:
    user_id: str
    token: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)


@dataclass
class BoardWorld:
    """One test's world: a pm serve, people with their browser contexts, an admin outside."""

    server: ServeProcess
    browser: Browser
    make_token: TokenFactory
    shots: Path
    people: list[Person] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def outside(self, user_id: str = "carol", encoding: str = "json", **kw: Any) -> Outside:
        return Outside.open(self.server.ws, self.make_token(user_id, **kw), encoding)

    def person(self, user_id: str, **token_kw: Any) -> Person:
        context = self.browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        person = Person(user_id, self.make_token(user_id, **token_kw), context, page)
        page.on("pageerror", lambda error: person.errors.append(str(error)))
        self.people.append(person)
        return person

    def sign_in(self, person: Person, project_id: str | None = None) -> Page:
        page = person.page
        route = f"&project={project_id}" if project_id else ""
        page.goto(f"{self.origin}/#token={person.token}{route}")
        if project_id is not None:
            expect(page.get_by_role("list", name="Board")).to_be_visible()
        expect(page.get_by_role("status", name="Connection")).to_have_text(re.compile("Live"))
        return page

    def screenshot(self, page: Page, name: str) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        SCREENSHOTS.append(path)
        print(f"screenshot: {path}")
        return path


@pytest.fixture
def world(tmp_path: Path, browser: Browser, make_token: TokenFactory) -> Iterator[BoardWorld]:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    # Seeding writes faster than a person: the per-user budget is every connection's together.
    with pm_serve(tmp_path / "data", ws_rate_limit="1000/10seconds") as server:
        world = BoardWorld(server, browser, make_token, shots)
        yield world
        for person in world.people:
            person.context.close()
        errors = [e for p in world.people for e in p.errors]
        assert not errors, f"the page threw: {errors}"


def lane(page: Page, name: str) -> Any:
    return page.get_by_role("listitem", name=name)


def card(page: Page, title: str) -> Any:
    return page.locator("article.card", has_text=title)


def stored_titles(outside: Outside, project_id: str, expected: list[str]) -> list[str]:
    """The titles the server holds for a project, sorted, once they equal ``expected`` (or
    whatever they are after ``WAIT_MS``): the page shows a change before the server confirms
    it, so what is stored is read until it settles, never at one instant."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        titles = _titles(outside, project_id)
        if titles == expected or time.monotonic() > deadline:
            return titles
        time.sleep(0.05)


def _titles(outside: Outside, project_id: str) -> list[str]:
    stored = outside.request("get_work_items", {"project_id": project_id})["work_items"]
    return sorted(str(item["title"]) for item in stored)


def seed_project(
    outside: Outside, title: str = "Launch", members: dict[str, str] | None = None
) -> Frame:
    project: Frame = outside.request("create_work_item", {"item_type": "project", "title": title})[
        "work_item"
    ]
    for user_id, role in (members or {}).items():
        outside.request(
            "add_member", {"project_id": project["id"], "user_id": user_id, "role": role}
        )
    return project
