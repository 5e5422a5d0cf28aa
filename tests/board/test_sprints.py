"""Sprints in the browser: create, plan, start and complete a sprint; the burndown (from the
sprint report, over REST), the velocity of completed sprints, and the cycle and lead time of
items completed (from the cycle time report, over REST, read again when an item is done) are
drawn."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from .conftest import BoardWorld, seed_project


def test_plan_start_and_complete_a_sprint_with_its_charts(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "editor"})
    today = date.today()
    done = admin.create("task", project["id"], "Sign-up form", status="done", story_points=3)
    email = admin.create(
        "task", project["id"], "Verification email", status="in_progress", story_points=5
    )
    admin.create("task", project["id"], "Rate limit", status="todo", story_points=2)
    page = world.sign_in(world.person("alice"), project["id"])
    page.get_by_role("button", name="Sprints").click()
    flow = page.locator("section", has=page.get_by_role("heading", name="Cycle and lead time"))
    # "Sign-up form" was created done: no item moved into done yet.
    expect(flow.get_by_text("Nothing completed in the last 30 days.")).to_be_visible()

    page.get_by_label("Sprint name").fill("Sprint 1")
    page.get_by_label("Start date").fill((today - timedelta(days=3)).isoformat())
    page.get_by_label("End date").fill((today + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Create sprint").click()
    panel = page.locator(".sprint-panel")
    expect(panel.get_by_role("heading", name="Sprint 1")).to_be_visible()
    for title in ("Verification email", "Rate limit"):
        panel.get_by_role("button", name=f"Add {title} to the sprint").click()
        expect(panel.get_by_role("button", name=f"Remove {title} from the sprint")).to_be_visible()
    admin.update(done, status="done", sprint_id=_sprint_id(admin, project["id"], "Sprint 1"))
    expect(panel.get_by_text(re.compile(r"In this sprint \(3 · 10 pt\)"))).to_be_visible()

    panel.get_by_role("button", name="Start sprint").click()
    expect(panel.locator(".sprint-status")).to_have_text("Active")
    expect(panel.get_by_role("img", name="Burndown chart")).to_be_visible()
    expect(panel.get_by_text("3 of 10 points done")).to_be_visible()
    world.screenshot(page, "sprint-burndown")

    panel.get_by_role("button", name="Complete sprint").click()
    expect(panel.locator(".sprint-status")).to_have_text("Completed")
    velocity = page.get_by_role("img", name="Velocity chart")
    expect(velocity).to_be_visible()
    # Unfinished items went back to the backlog, as the rules say.
    expect(panel.get_by_text(re.compile(r"In this sprint \(1 · 3 pt\)"))).to_be_visible()
    sprint = admin.request("get_project", {"project_id": project["id"]})["sprints"][0]
    assert (sprint["velocity"], sprint["committed_points"]) == (3, 10)
    world.screenshot(page, "sprint-charts")

    # Someone else finishes the started item: the report is read again and charted.
    admin.update(email, status="done")
    expect(
        flow.get_by_text(re.compile(r"^1 item completed .* · cycle p50 [0-9.]+ h \(1 started\)$"))
    ).to_be_visible()
    expect(flow.get_by_role("img", name="Cycle and lead time chart")).to_be_visible()
    world.screenshot(page, "cycle-time")
    admin.close()


def _sprint_id(admin: object, project_id: str, name: str) -> str:
    snapshot = admin.request("get_project", {"project_id": project_id})  # type: ignore[attr-defined]
    return str(next(s["id"] for s in snapshot["sprints"] if s["name"] == name))
