"""Due dates on the board's cards: shown, marked overdue as the server derives it, and changed
live when someone else sets or clears them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from .conftest import BoardWorld, card, seed_project


def test_cards_show_due_dates_and_overdue_live(world: BoardWorld) -> None:
    admin = world.outside("carol")
    project = seed_project(admin, members={"alice": "viewer"})
    today = datetime.now(UTC).date()
    late = admin.create(
        "task", project["id"], "Late task", status="todo", due_date=str(today - timedelta(days=2))
    )
    later = admin.create("task", project["id"], "Later task", status="todo")
    page = world.sign_in(world.person("alice"), project["id"])

    overdue = card(page, "Late task").locator(".badge.due")
    expect(overdue).to_have_text(f"Overdue · {str(today - timedelta(days=2))[5:]}")
    expect(card(page, "Later task").locator(".badge.due")).to_have_count(0)

    due = str(today + timedelta(days=5))
    admin.update(later, due_date=due)
    expect(card(page, "Later task").locator(".badge.due")).to_have_text(f"Due {due[5:]}")
    admin.update(late, status="done")  # finished work is never overdue
    expect(overdue).to_have_text(f"Due {str(today - timedelta(days=2))[5:]}")
    world.screenshot(page, "due-dates")
    admin.close()
