"""Sign-in from the URL fragment: the token is kept for the tab and leaves the address bar at
once; a missing, expired or refused token gets a page that says how to get a new one."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import TEST_SECRET

from .conftest import BoardWorld


def test_sign_in_from_the_fragment_removes_the_token_from_the_address_bar(
    world: BoardWorld,
) -> None:
    person = world.person("alice")
    page = world.sign_in(person)
    assert "token" not in page.url
    assert person.token not in page.url
    assert page.evaluate("sessionStorage.getItem('pm.token')") == person.token
    page.get_by_role("button", name="+ New project").click()
    page.get_by_placeholder("Project name").fill("Made in the browser")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("list", name="Board")).to_be_visible()
    expect(page.get_by_role("list", name="Board").get_by_role("listitem")).to_have_count(4)

    page.reload()  # the tab keeps its sign-in (and its place) without the token in the URL
    expect(page.get_by_role("status", name="Connection")).to_have_text(re.compile("Live"))
    expect(page.locator(".project-name")).to_have_text("Made in the browser")
    assert "token" not in page.url


def test_an_expired_token_gets_the_explanation_page(world: BoardWorld) -> None:
    person = world.person("alice", ttl_seconds=-120)
    page = person.page
    page.goto(f"{world.origin}/#token={person.token}")
    expect(page.get_by_role("heading", name="Sign in to the board")).to_be_visible()
    expect(page.get_by_text("Your sign-in link has expired")).to_be_visible()
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('pm.token')") is None


def test_no_token_gets_the_explanation_page(world: BoardWorld) -> None:
    page = world.person("alice").page
    page.goto(world.origin + "/")
    expect(page.get_by_role("heading", name="Sign in to the board")).to_be_visible()
    expect(page.get_by_text("This page needs a sign-in link")).to_be_visible()
    world.screenshot(page, "sign-in-needed")


def test_a_token_the_server_refuses_gets_the_explanation_page(world: BoardWorld) -> None:
    forged = world.person("alice")
    # Same claims, another key: it reads as valid to the page, the server refuses it.
    forged.token = world.make_token("alice").rsplit(".", 1)[0] + ".c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ"
    assert TEST_SECRET not in forged.token
    page = forged.page
    page.goto(f"{world.origin}/#token={forged.token}")
    expect(page.get_by_text("The server did not accept this sign-in link")).to_be_visible()
