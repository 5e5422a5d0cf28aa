"""What a person may not do: a viewer gets a read-only board; a move the server refuses is put
back where it was, with the reason in words."""

from __future__ import annotations

import contextlib
import re

from google.protobuf.message import DecodeError
from playwright.sync_api import WebSocketRoute, expect

from pm.ws.pm_pb2 import Envelope

from .conftest import BoardWorld, card, lane, seed_project


def test_a_viewer_can_neither_drag_nor_edit(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"vera": "viewer"})
    admin.create("task", project["id"], "Look, don't touch", status="todo")
    page = world.sign_in(world.person("vera"), project["id"])

    expect(page.get_by_text("You can view this project but not change it.")).to_be_visible()
    target = card(page, "Look, don't touch")
    expect(target).to_have_attribute("draggable", "false")
    expect(page.get_by_role("button", name="+ Add card")).to_have_count(0)

    target.drag_to(lane(page, "Done").locator(".lane-cards"))
    # Whatever the drag did, it is over once a later change has arrived: the card stayed.
    admin.create("task", project["id"], "Arrives after the drag", status="review")
    expect(lane(page, "Review")).to_contain_text("Arrives after the drag")
    expect(lane(page, "To Do")).to_contain_text("Look, don't touch")
    expect(lane(page, "Done").locator("article.card")).to_have_count(0)

    target.click()
    detail = page.get_by_label("Item detail")
    expect(detail.get_by_label("Title")).to_be_disabled()
    expect(detail.get_by_label("Status")).to_be_disabled()
    expect(detail.get_by_role("button", name="Save")).to_have_count(0)
    expect(detail.get_by_role("button", name="Start timer")).to_have_count(0)
    expect(detail.get_by_placeholder("Write a comment…")).to_have_count(0)
    admin.close()


def test_a_refused_move_goes_back_and_says_why(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"bob": "editor"})
    admin.create("task", project["id"], "Contested card", status="todo")
    person = world.person("bob")

    def without_carols_changes(ws: WebSocketRoute) -> None:
        # The page doesn't hear that carol made bob a viewer, so it still offers the drag,
        # and the server is the one to refuse it.
        server = ws.connect_to_server()
        ws.on_message(server.send)

        def to_page(message: str | bytes) -> None:
            envelope = Envelope()
            with contextlib.suppress(DecodeError):
                envelope.ParseFromString(message if isinstance(message, bytes) else b"")
            if envelope.actor_id != "carol":
                ws.send(message)

        server.on_message(to_page)

    person.page.route_web_socket(re.compile(r"/ws$"), without_carols_changes)
    page = world.sign_in(person, project["id"])
    expect(card(page, "Contested card")).to_have_attribute("draggable", "true")
    admin.request(
        "update_member_role", {"project_id": project["id"], "user_id": "bob", "role": "viewer"}
    )

    card(page, "Contested card").drag_to(lane(page, "Done").locator(".lane-cards"))
    expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"The move was undone\. You don't have permission to do that")
    )
    expect(lane(page, "To Do")).to_contain_text("Contested card")
    expect(lane(page, "Done").locator("article.card")).to_have_count(0)
    world.screenshot(page, "board-refused-move")
    admin.close()
