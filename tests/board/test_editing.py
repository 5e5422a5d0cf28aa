"""Editing in the item detail: a stale edit shows the conflict with its three values and the
person's choice is saved; the tree refuses to delete a parent with the server's words; the
detail's comments, timer and dependencies work live."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import BoardWorld, card, seed_project, stored_titles


def test_a_stale_edit_shows_the_conflict_with_its_values(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor"})
    task = admin.create("task", project["id"], "Original title", status="todo")
    page = world.sign_in(world.person("alice"), project["id"])
    card(page, "Original title").click()
    detail = page.get_by_label("Item detail")
    detail.get_by_label("Title").fill("Alice's title")

    admin.update(task, title="Carol's title")
    expect(detail.get_by_text("Changed by carol while you were editing.")).to_be_visible()
    detail.get_by_role("button", name="Save").click()

    dialog = page.get_by_role("dialog", name="Someone changed this while you were editing")
    expect(dialog).to_be_visible()
    row = dialog.get_by_role("row", name=re.compile("^Title"))
    expect(row.locator(".seen")).to_have_text("Original title")
    expect(row.locator(".stored")).to_have_text("Carol's title")
    expect(row.locator(".attempted")).to_have_text("Alice's title")
    world.screenshot(page, "item-conflict")
    dialog.get_by_role("button", name="Save my choice").click()
    expect(dialog).to_have_count(0)
    expect(card(page, "Alice's title")).to_be_visible()
    expect(detail.get_by_text("v3", exact=True)).to_be_visible()  # confirmed, on top of carol's
    stored = admin.request("get_work_items", {"project_id": project["id"]})["work_items"]
    assert [i["title"] for i in stored if i["item_type"] == "task"] == ["Alice's title"]
    expect(detail.get_by_text("while you were editing")).to_have_count(0)
    expect(detail.get_by_role("button", name="Save")).to_be_disabled()

    # Again, and this time the person drops their edit: the form shows what is stored.
    detail.get_by_label("Title").fill("Alice, again")
    admin.update(next(i for i in stored if i["item_type"] == "task"), title="Carol, again")
    expect(detail.get_by_text("Changed by carol while you were editing.")).to_be_visible()
    detail.get_by_role("button", name="Save").click()
    dialog.get_by_role("button", name="Discard my edit").click()
    expect(detail.get_by_label("Title")).to_have_value("Carol, again")
    expect(detail.get_by_role("button", name="Save")).to_be_disabled()
    admin.close()


def test_the_item_detail_comments_times_and_links_live(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor", "bob": "editor"})
    task = admin.create("task", project["id"], "Sign-up form", status="in_progress", story_points=3)
    other = admin.create("task", project["id"], "Email provider", status="todo")
    admin.request(
        "create_dependency", {"blocking_item_id": task["id"], "blocked_item_id": other["id"]}
    )
    a = world.sign_in(world.person("alice"), project["id"])
    b = world.sign_in(world.person("bob"), project["id"])
    expect(card(a, "Sign-up form")).to_contain_text(task["key"])  # LAU-1: the short key
    card(a, "Sign-up form").click()
    card(b, "Sign-up form").click()
    da, db = a.get_by_label("Item detail"), b.get_by_label("Item detail")
    expect(da.get_by_label("Key")).to_have_text(task["key"])

    da.get_by_placeholder("Write a comment…").fill("Shall we add a captcha?")
    da.get_by_role("button", name="Comment").click()
    expect(db.get_by_text("Shall we add a captcha?")).to_be_visible()
    db.get_by_role("button", name="Reply").click()
    db.get_by_placeholder("Reply…").fill("Only after the rate limit.")
    db.get_by_role("button", name="Reply", exact=True).click()
    expect(da.locator(".replies")).to_contain_text("Only after the rate limit.")

    da.get_by_role("button", name="Start timer").click()
    expect(da.get_by_role("timer")).to_contain_text("Your timer is running")
    expect(db.get_by_role("timer")).to_contain_text("alice's timer is running")
    expect(card(b, "Sign-up form")).to_contain_text("◷ alice")

    # Email provider waits for the sign-up form; making the form wait for it closes a loop.
    da.get_by_label("Dependency direction").select_option("blocked-by")
    da.get_by_label("Other item").select_option(label="Email provider")
    da.get_by_role("button", name="Add", exact=True).click()
    refusal = da.get_by_role("alert").filter(has_text="That dependency would make a loop")
    expect(refusal).to_be_visible()
    expect(refusal.locator("ol.cycle li")).to_have_count(3)
    expect(refusal.locator("ol.cycle")).to_contain_text("Email provider")

    da.get_by_label("Status").select_option("review")
    da.get_by_role("button", name="Save").click()
    # the activity names the states as the project calls them
    expect(db.locator(".activity")).to_contain_text(re.compile("Status: In Progress → Review"))
    world.screenshot(a, "item-detail")
    da.get_by_role("button", name="Stop timer").click()
    expect(db.get_by_role("timer")).to_have_count(0)
    admin.close()


def test_the_tree_creates_renames_and_refuses_to_delete_a_parent(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor"})
    epic = admin.create("epic", project["id"], "Accounts")
    admin.create("story", epic["id"], "Sign up with email")
    page = world.sign_in(world.person("alice"), project["id"])
    page.get_by_role("button", name="Backlog").click()
    tree = page.get_by_role("tree", name="Backlog")
    expect(tree.get_by_role("treeitem", name="Sign up with email")).to_be_visible()

    tree.get_by_role("button", name="Delete Accounts").click()
    expect(page.get_by_role("alert")).to_have_text(
        re.compile("This can't be deleted yet: the item has 1 live child")
    )
    expect(tree.get_by_role("treeitem", name="Accounts")).to_be_visible()

    tree.get_by_role("button", name="Add a child to Sign up with email").click()
    tree.get_by_role("button", name="+ Task").click()
    tree.get_by_placeholder("New task under Sign up with email").fill("Verification email")
    tree.get_by_role("button", name="Add", exact=True).click()
    expect(tree.get_by_role("treeitem", name="Verification email")).to_be_visible()

    tree.get_by_role("button", name="Collapse Accounts").click()
    expect(tree.get_by_role("treeitem", name="Verification email")).to_have_count(0)
    tree.get_by_role("button", name="Expand Accounts").click()
    row = tree.get_by_role("treeitem", name="Verification email")
    row.hover()
    row.get_by_role("button", name="Rename").click()
    row.get_by_label("New title").fill("Send the verification email")
    row.get_by_role("button", name="Save").click()
    renamed = tree.get_by_role("treeitem", name="Send the verification email")
    expect(renamed).to_be_visible()
    world.screenshot(page, "backlog-tree")

    # Re-parent in the item's detail: from the story up to the epic.
    renamed.get_by_role("button", name="Send the verification email", exact=True).click()
    page.get_by_label("Item detail").get_by_label("Parent").select_option(label="Accounts")
    story = tree.get_by_role("treeitem", name="Sign up with email")
    expect(story.get_by_role("treeitem")).to_have_count(0)
    expect(tree.get_by_role("treeitem", name="Accounts").locator("> ul > li")).to_have_count(2)

    tree.get_by_role("button", name="Delete Send the verification email").click()
    expect(tree.get_by_role("treeitem", name="Send the verification email")).to_have_count(0)
    expected = ["Accounts", "Launch", "Sign up with email"]
    assert stored_titles(admin, project["id"], expected) == expected
    admin.close()


def test_one_running_timer_per_person_across_tabs(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor"})
    admin.create("task", project["id"], "Write tests", status="in_progress")
    admin.create("task", project["id"], "Fix the bug", status="todo")
    first = world.sign_in(world.person("alice"), project["id"])
    second = world.sign_in(world.person("alice"), project["id"])  # another tab, same person

    card(first, "Write tests").click()
    first.get_by_label("Item detail").get_by_role("button", name="Start timer").click()
    expect(second.get_by_role("timer", name="Your running timer")).to_contain_text("Write tests")

    card(second, "Fix the bug").click()
    second.get_by_label("Item detail").get_by_role("button", name="Start timer").click()
    # Starting one stops the other, in both tabs.
    expect(first.get_by_role("timer", name="Your running timer")).to_contain_text("Fix the bug")
    expect(
        first.get_by_label("Item detail").get_by_role("button", name="Start timer")
    ).to_be_visible()

    first.get_by_role("timer", name="Your running timer").get_by_role("button", name="Stop").click()
    expect(second.get_by_role("timer", name="Your running timer")).to_have_count(0)
    expect(
        second.get_by_label("Item detail").get_by_role("button", name="Start timer")
    ).to_be_visible()
    admin.close()
