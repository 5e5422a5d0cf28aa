"""Labels, custom fields and saved views on the board: cards show their labels; a label
filter saved as a view and reopened later shows exactly the matching cards; the item detail
toggles a label and sets a custom field, which another person's board shows live."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import expect

from .conftest import WAIT_MS, BoardWorld, card, seed_project
from .outside import Outside


def _stored_values(outside: Outside, project_id: str, item_id: str) -> list[Any]:
    """The item's custom field values as the server holds them, once it holds any (the page
    shows a change before the server confirms it), or none after ``WAIT_MS``."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        stored = outside.request("get_work_items", {"project_id": project_id})["work_items"]
        values = list(next(i for i in stored if i["id"] == item_id)["custom_fields"].values())
        if values or time.monotonic() > deadline:
            return values
        time.sleep(0.05)


def test_a_label_filter_saved_as_a_view_reopens_with_exactly_its_cards(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor"})
    bug = admin.request("create_label", {"project_id": project["id"], "name": "Bug"})["label"]
    admin.request("create_label", {"project_id": project["id"], "name": "Chore"})
    tagged = ["Fix login", "Fix export"]
    for title in tagged:
        admin.create("task", project["id"], title, status="todo", labels=["bug"])
    for title in ("Write docs", "Plan sprint"):
        admin.create("task", project["id"], title, status="todo", labels=["chore"])
    admin.create("task", project["id"], "Untagged", status="todo")
    page = world.sign_in(world.person("alice"), project["id"])

    expect(card(page, "Fix login").locator(".card-labels")).to_have_text("Bug")
    expect(page.locator("article.card")).to_have_count(5)
    page.get_by_label("Label", exact=True).select_option(label="Bug")
    expect(page.locator("article.card")).to_have_count(2)
    page.get_by_placeholder("Name of the view").fill("Bugs")
    page.get_by_role("button", name="Save as view").click()
    expect(page.get_by_label("View", exact=True)).to_have_value(re.compile(r"^view:"))
    expect(page.locator("article.card")).to_have_count(2)  # the saved view is now the filter
    page.get_by_role("button", name="Show every card").click()
    expect(page.locator("article.card")).to_have_count(5)

    # another session of the same person: the view is there, and opens as the filter
    again = world.sign_in(world.person("alice"), project["id"])
    expect(again.locator("article.card")).to_have_count(5)
    again.get_by_label("View", exact=True).select_option(label="Bugs")
    expect(again.locator("article.card")).to_have_count(2)
    for title in tagged:
        expect(card(again, title)).to_be_visible()
    # a card labelled elsewhere joins the open view live
    late = admin.create("task", project["id"], "Fix import", status="todo")
    admin.update(late, add_labels=[bug["id"]])
    expect(again.locator("article.card")).to_have_count(3)
    world.screenshot(again, "saved-view")
    admin.close()


def test_the_detail_toggles_labels_and_sets_fields_seen_live_elsewhere(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor", "bob": "viewer"})
    admin.request("create_label", {"project_id": project["id"], "name": "Bug"})
    admin.request(
        "create_custom_field",
        {"project_id": project["id"], "name": "Size", "field_type": "number"},
    )
    item = admin.create("task", project["id"], "Sized task", status="todo")
    alice = world.sign_in(world.person("alice"), project["id"])
    bob = world.sign_in(world.person("bob"), project["id"])

    card(alice, "Sized task").click()
    alice.get_by_role("button", name="Bug").click()
    expect(card(bob, "Sized task").locator(".card-labels")).to_have_text("Bug")
    size = alice.get_by_label("Size", exact=True)
    size.fill("5")
    size.press("Enter")
    expect(size).to_have_value("5")
    assert _stored_values(admin, project["id"], item["id"]) == [5.0]
    alice.get_by_role("button", name="Bug").click()  # off again
    expect(card(bob, "Sized task").locator(".card-labels")).to_have_count(0)
    admin.close()
