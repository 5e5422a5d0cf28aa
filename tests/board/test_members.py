"""Members in the browser: an admin adds a person, changes their role and removes them; the
person's own board follows live (read-only once a viewer); the last admin can't be removed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import BoardWorld, seed_project


def test_an_admin_manages_members_and_the_member_sees_it_live(world: BoardWorld) -> None:
    owner = world.outside("olga")
    project = seed_project(owner, members={"bob": "editor"})
    admin_page = world.sign_in(world.person("adam", roles=("admin",)), project["id"])
    bob_page = world.sign_in(world.person("bob"), project["id"])
    admin_page.get_by_role("button", name="Members").click()
    members = admin_page.locator(".members")

    members.get_by_label("User id to add").fill("dora")
    members.get_by_label("Role to give").select_option("viewer")
    members.get_by_role("button", name="Add member").click()
    expect(members.get_by_role("row", name=re.compile("dora"))).to_be_visible()

    expect(bob_page.get_by_role("button", name="+ Add card").first).to_be_visible()
    members.get_by_label("Role of bob").select_option("viewer")
    expect(bob_page.get_by_text("You can view this project but not change it.")).to_be_visible()
    expect(bob_page.get_by_role("button", name="+ Add card")).to_have_count(0)

    members.get_by_role("button", name="Remove dora").click()
    expect(members.get_by_role("row", name=re.compile("dora"))).to_have_count(0)

    members.get_by_role("button", name="Remove olga").click()
    expect(admin_page.get_by_role("alert")).to_contain_text("That change isn't accepted")
    expect(members.get_by_role("row", name=re.compile("olga"))).to_be_visible()
    world.screenshot(admin_page, "members")
    owner.close()
