"""The inbox as people see it: Alice mentions Bob in a comment in her window, and the count in
Bob's header changes live, without a reload; opening the inbox lists it, choosing it opens
the item and marks it read; the watch toggle in the item detail."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import BoardWorld, card, seed_project


def test_a_mention_shows_in_the_other_persons_inbox_live(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor", "bob": "editor"})
    task = admin.create("task", project["id"], "Sign-up form", status="todo")
    a = world.sign_in(world.person("alice"), project["id"])
    b = world.sign_in(world.person("bob"), project["id"])
    inbox = b.get_by_role("button", name="Inbox, nothing unread")
    expect(inbox).to_be_visible()

    card(a, "Sign-up form").click()
    detail = a.get_by_label("Item detail")
    detail.get_by_placeholder("Write a comment…").fill("@bob could you review the copy?")
    detail.get_by_role("button", name="Comment").click()

    unread = b.get_by_role("button", name="Inbox, 1 unread")
    expect(unread).to_be_visible()  # live: Bob's page was never reloaded
    expect(unread).to_contain_text("1")
    unread.click()
    panel = b.get_by_role("dialog", name="Inbox")
    entry = panel.get_by_role("button", name="alice mentioned you")
    expect(entry).to_contain_text(f"{task['key']} Sign-up form")
    expect(entry).to_contain_text("@bob could you review the copy?")
    world.screenshot(b, "inbox-open")
    entry.click()
    expect(b.get_by_label("Item detail").get_by_label("Key")).to_have_text(task["key"])
    expect(b.get_by_role("button", name="Inbox, nothing unread")).to_be_visible()
    admin.close()


def test_the_watch_toggle_follows_the_person_across_windows(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor"})
    task = admin.create("task", project["id"], "Pricing page", status="todo")
    alice = world.person("alice")
    a = world.sign_in(alice, project["id"])
    second = alice.context.new_page()  # the same person in a second tab
    second.on("pageerror", lambda error: alice.errors.append(str(error)))
    second.goto(f"{world.origin}/#token={alice.token}&project={project['id']}")
    expect(second.get_by_role("list", name="Board")).to_be_visible()
    for page in (a, second):
        card(page, "Pricing page").click()
    toggle = a.get_by_label("Item detail").get_by_role("button", name="Watch", exact=True)
    toggle.click()
    watching = a.get_by_label("Item detail").get_by_role("button", name="Watching")
    expect(watching).to_have_attribute("aria-pressed", "true")
    expect(
        second.get_by_label("Item detail").get_by_role("button", name="Watching")
    ).to_be_visible()
    admin.request(
        "update_work_item",
        {"work_item_id": task["id"], "expected_version": 1, "status": "in_progress"},
    )
    expect(a.get_by_role("button", name="Inbox, 1 unread")).to_be_visible()
    admin.close()
