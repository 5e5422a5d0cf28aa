"""Workflow states on the board, as people see them: a state an admin adds in one window is a
column in another at once, cards drag into it, and the admin renames, reorders and deletes
states from the States view (a delete asks where the items go)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from .conftest import BoardWorld, card, lane, seed_project


def _columns(page: Page) -> Any:
    return page.get_by_role("list", name="Board").locator("section.lane h2")


def _open_states(page: Page) -> None:
    page.get_by_role("navigation", name="Views").get_by_role("button", name="States").click()
    expect(page.get_by_role("heading", name="Workflow states")).to_be_visible()


def _open_board(page: Page) -> None:
    page.get_by_role("navigation", name="Views").get_by_role("button", name="Board").click()
    expect(page.get_by_role("list", name="Board")).to_be_visible()


def test_a_state_added_in_one_window_is_a_column_in_another(world: BoardWorld) -> None:
    outside = world.outside("carol")
    project = seed_project(outside, members={"alice": "admin", "bob": "editor"})
    outside.request(
        "create_work_item",
        {
            "item_type": "task",
            "parent_id": project["id"],
            "title": "Ship the app",
            "status": "todo",
        },
    )
    alice, bob = world.person("alice"), world.person("bob")
    a = world.sign_in(alice, project["id"])
    b = world.sign_in(bob, project["id"])
    expect(_columns(b)).to_have_text(["To Do", "In Progress", "Review", "Done"])

    _open_states(a)
    a.get_by_label("New state name").fill("QA")
    a.get_by_label("New state category").select_option("review")
    a.get_by_role("button", name="Add state").click()
    expect(_columns(b)).to_have_text(["To Do", "In Progress", "Review", "Done", "QA"])

    # bob drags a card into the new state; alice's board shows it there
    card(b, "Ship the app").drag_to(lane(b, "QA").locator(".lane-cards"))
    expect(lane(b, "QA").locator("article.card")).to_have_count(1)
    _open_board(a)
    expect(lane(a, "QA")).to_contain_text("Ship the app")
    stored = outside.request("get_work_items", {"project_id": project["id"]})["work_items"]
    assert {item["title"]: item["status"] for item in stored}["Ship the app"] == "qa"
    world.screenshot(b, "board-custom-state")

    # alice renames it and moves it before Done: bob's column follows
    _open_states(a)
    a.get_by_label("Name of QA").fill("Testing")
    a.get_by_label("Name of QA").press("Enter")
    expect(_columns(b)).to_have_text(["To Do", "In Progress", "Review", "Done", "Testing"])
    a.get_by_role("button", name="Move Testing up").click()
    expect(_columns(b)).to_have_text(["To Do", "In Progress", "Review", "Testing", "Done"])
    outside.close()


def test_deleting_a_state_asks_where_its_items_go(world: BoardWorld) -> None:
    outside = world.outside("carol")
    project = seed_project(outside, members={"alice": "admin", "bob": "viewer"})
    outside.request(
        "create_work_item",
        {
            "item_type": "task",
            "parent_id": project["id"],
            "title": "Under review",
            "status": "review",
        },
    )
    alice, bob = world.person("alice"), world.person("bob")
    a = world.sign_in(alice, project["id"])
    b = world.sign_in(bob, project["id"])
    _open_states(a)
    a.get_by_role("button", name="Delete Review").click()
    dialog = a.get_by_role("dialog")
    expect(dialog).to_contain_text("1 item is in it.")
    dialog.get_by_label("Move its items to").select_option("in_progress")
    dialog.get_by_role("button", name="Delete state").click()
    expect(_columns(b)).to_have_text(["To Do", "In Progress", "Done"])
    expect(lane(b, "In Progress")).to_contain_text("Under review")

    # the last completed state stays: the refusal is said in words, nothing changes
    a.get_by_role("button", name="Delete Done").click()
    a.get_by_role("dialog").get_by_role("button", name="Delete state").click()
    expect(a.get_by_role("alert").first).to_contain_text("This can't be deleted yet")
    expect(_columns(b)).to_have_text(["To Do", "In Progress", "Done"])

    # a viewer reads the states and can't change them
    _open_states(b)
    expect(b.get_by_role("button", name="Add state")).to_have_count(0)
    expect(b.get_by_role("button", name="Delete Done")).to_have_count(0)
    outside.close()
