"""Live collaboration as people see it: two browsers on one project, changes from a client
outside the browser, and a server restart while the page is open."""

from __future__ import annotations

import re
import signal

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.ws.serve import pm_serve

from .conftest import BoardWorld, card, lane, seed_project


def _add_card(page: Page, lane_name: str, title: str) -> None:
    column = lane(page, lane_name)
    column.get_by_role("button", name="+ Add card").click()
    column.get_by_placeholder(f"New task in {lane_name}").fill(title)
    column.get_by_role("button", name="Add", exact=True).click()


def test_two_people_see_each_others_cards_created_edited_and_dragged(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor", "bob": "editor"})
    alice, bob = world.person("alice"), world.person("bob")
    a = world.sign_in(alice, project["id"])
    b = world.sign_in(bob, project["id"])

    for page in (a, b):  # presence: both are viewing, each page shows both
        presence = page.get_by_label("Viewing now")
        expect(presence.get_by_label("alice")).to_be_visible()
        expect(presence.get_by_label("bob")).to_be_visible()

    _add_card(a, "To Do", "Write the launch post")
    expect(card(b, "Write the launch post")).to_be_visible()
    expect(lane(b, "To Do").locator("article.card")).to_have_count(1)

    card(a, "Write the launch post").click()
    detail = a.get_by_label("Item detail")
    detail.get_by_label("Title").fill("Write and publish the launch post")
    detail.get_by_label("Points").fill("3")
    detail.get_by_role("button", name="Save").click()
    edited = card(b, "Write and publish the launch post")
    expect(edited).to_be_visible()
    expect(edited.get_by_title("Story points")).to_have_text("3")
    expect(edited).to_contain_text("✎ alice")  # who edited it, shown on the other board

    card(a, "Write and publish").drag_to(lane(a, "In Progress").locator(".lane-cards"))
    expect(lane(a, "In Progress").locator("article.card")).to_have_count(1)
    expect(lane(b, "In Progress")).to_contain_text("Write and publish the launch post")
    expect(lane(b, "To Do").locator("article.card")).to_have_count(0)
    world.screenshot(b, "board-two-people")
    admin.close()


def test_a_card_dragged_within_a_lane_keeps_its_place_for_everyone(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor", "bob": "editor"})
    for title in ("First", "Second", "Third"):
        admin.create("task", project["id"], title, status="todo")
    a = world.sign_in(world.person("alice"), project["id"])
    b = world.sign_in(world.person("bob"), project["id"])
    cards = lane(b, "To Do").locator("article.card .card-title")
    expect(cards).to_have_text(["First", "Second", "Third"])

    card(a, "Third").drag_to(card(a, "First"), target_position={"x": 20, "y": 2})
    expect(lane(a, "To Do").locator("article.card .card-title")).to_have_text(
        ["Third", "First", "Second"]
    )
    expect(cards).to_have_text(["Third", "First", "Second"])
    admin.close()


def test_changes_from_a_client_outside_the_browser_appear_in_the_page(world: BoardWorld) -> None:
    agent = world.outside("carol", encoding="json")
    project = seed_project(agent, members={"alice": "viewer"})
    page = world.sign_in(world.person("alice"), project["id"])

    task = agent.create("task", project["id"], "Filed by an agent", status="todo", story_points=5)
    expect(lane(page, "To Do")).to_contain_text("Filed by an agent")
    agent.update(task, status="review", title="Filed by an agent, in review")
    expect(lane(page, "Review")).to_contain_text("Filed by an agent, in review")
    expect(lane(page, "To Do").locator("article.card")).to_have_count(0)

    protobuf = world.outside("carol", encoding="protobuf")
    blocker = protobuf.create("task", project["id"], "Blocker", status="todo")
    protobuf.request(
        "create_dependency", {"blocking_item_id": blocker["id"], "blocked_item_id": task["id"]}
    )
    expect(card(page, "Filed by an agent, in review").get_by_text("Blocked")).to_be_visible()
    protobuf.request("delete_work_item", {"work_item_id": blocker["id"], "expected_version": 1})
    expect(card(page, "Blocker")).to_have_count(0)
    expect(card(page, "Filed by an agent, in review").get_by_text("Blocked")).to_have_count(0)
    agent.close()
    protobuf.close()


def test_after_a_server_restart_the_page_reconnects_and_shows_what_it_missed_once(
    world: BoardWorld,
) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor"})
    kept = admin.create("task", project["id"], "Before the restart", status="todo")
    admin.close()
    person = world.person("alice")
    gate = {"open": True}

    def through_gate(ws: WebSocketRoute) -> None:
        # While the gate is shut the page's connections are refused, so the changes below are
        # surely made while it is away (not delivered live because it happened to be back).
        if gate["open"]:
            ws.connect_to_server()
        else:
            ws.close(code=1012, reason="test: server away")

    person.page.route_web_socket(re.compile(r"/ws$"), through_gate)
    page = world.sign_in(person, project["id"])
    page.evaluate("window.__sameDocument = true")
    expect(card(page, "Before the restart")).to_be_visible()

    data_dir, port = world.server.data_dir, world.server.port
    gate["open"] = False
    world.server.process.send_signal(signal.SIGTERM)
    world.server.process.wait(timeout=30)  # drained: sockets closed with 1012, then exit
    assert "Traceback" not in world.server.log_path.read_text(encoding="utf-8")
    expect(page.get_by_role("status", name="Connection")).to_have_text(re.compile("Offline"))

    with pm_serve(data_dir, port=port) as again:
        world.server = again
        other = world.outside("carol")
        other.create("task", project["id"], "Made while away", status="review")
        other.update(kept, title="Renamed while away")
        other.close()
        gate["open"] = True
        expect(page.get_by_role("status", name="Connection")).to_have_text(
            re.compile("Live"), timeout=40_000
        )
        expect(page.get_by_text("caught up on 2 changes")).to_be_visible()
        expect(card(page, "Made while away")).to_have_count(1)
        expect(lane(page, "Review")).to_contain_text("Made while away")
        expect(card(page, "Renamed while away")).to_have_count(1)
        expect(card(page, "Before the restart")).to_have_count(0)
        assert page.evaluate("window.__sameDocument") is True  # caught up, not reloaded

        live = world.outside("carol")
        live.create("task", project["id"], "Live again", status="done")
        expect(lane(page, "Done")).to_contain_text("Live again")
        live.close()


def test_a_long_lane_draws_its_first_hundred_cards_and_the_rest_on_request(
    world: BoardWorld,
) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "viewer"})
    admin.close()
    writer = world.outside("carol")
    for n in range(120):
        writer.create("task", project["id"], f"Task {n:03}", status="todo")
    writer.close()
    page = world.sign_in(world.person("alice"), project["id"])
    todo = lane(page, "To Do")
    expect(todo.get_by_title("Cards / points")).to_have_text("120 · 0 pt")
    expect(todo.locator("article.card")).to_have_count(100)
    todo.get_by_role("button", name="Show all 120 cards").click()
    expect(todo.locator("article.card")).to_have_count(120)
