"""Project members and their roles; the last admin of a project can't leave or be demoted.

Who may view a project changes with some of its events (``access_change``): a live door that
holds subscriptions checks them again when one of those passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pm.domain.enums import Role
from pm.domain.events import Event, Outcome
from pm.domain.models import ProjectMember
from pm.errors import NotFound, ValidationFailed
from pm.services.kernel import validation as v
from pm.services.kernel.access import require_project
from pm.services.kernel.ids import new_id
from pm.services.kernel.reader import Reader
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import MemberView, member_view


def add_project_creator(uow: UnitOfWork, project_id: str) -> ProjectMember:
    """The creator of a project becomes its admin, in the creating transaction."""
    member = ProjectMember(
        id=new_id(),
        project_id=project_id,
        user_id=uow.ctx.user_id,
        role=Role.ADMIN.value,
        **uow.stamps(),
    )
    uow.create(
        member,
        entity_type="project_member",
        project_id=project_id,
        action="member_added",
        field="role",
        new=Role.ADMIN.value,
    )
    return member


def _membership(scope: Scope, project_id: str, user_id: object) -> ProjectMember | None:
    if not isinstance(user_id, str) or not 0 < len(user_id) <= 255:
        raise ValidationFailed("user_id is required", field="user_id")
    return scope.members.find(project_id, user_id)


def _live_member(uow: UnitOfWork, project_id: str, user_id: object) -> ProjectMember:
    member = _membership(uow, project_id, user_id)
    if member is None or member.deleted_at is not None:
        raise NotFound("not a member of this project", field="user_id")
    return member


def _refuse_losing_last_admin(uow: UnitOfWork, member: ProjectMember, field: str) -> None:
    if member.role == Role.ADMIN and uow.members.count_admins(member.project_id) <= 1:
        raise ValidationFailed("a project must keep at least one admin", field=field)


def _member_payload(uow: UnitOfWork, member: ProjectMember) -> MemberView:
    return member_view(member, uow.users.get(member.user_id))


def add_member(uow: UnitOfWork, *, project_id: str, user_id: str, role: str) -> Outcome:
    """Add a user (an id never seen in the tenant is invited: a user row is made for it).
    A removed member is revived on the same row: one row per user and project."""
    project_id = require_project(uow, project_id, Role.ADMIN)
    wanted = v.choice(role, Role, "role")
    member = _membership(uow, project_id, user_id)
    if member is not None and member.deleted_at is None:
        raise ValidationFailed("the user is already a member", field="user_id")
    uow.users.ensure(user_id, now=uow.now)
    if member is None:
        member = ProjectMember(
            id=new_id(),
            project_id=project_id,
            user_id=user_id,
            role=wanted.value,
            **uow.stamps(),
        )
    else:
        member.deleted_at = None
        member.role = wanted.value
        member.version += 1
        member.updated_at = uow.now
        member.updated_by = uow.ctx.user_id
    uow.members.add(member)
    uow.activity(
        entity_type="project_member",
        entity_id=member.id,
        project_id=project_id,
        action="member_added",
        field="role",
        new=wanted.value,
        version=member.version,
    )
    uow.flush()
    return uow.respond(
        uow.emit("member_added", project_id, {"member": _member_payload(uow, member)})
    )


def update_member_role(uow: UnitOfWork, *, project_id: str, user_id: str, role: str) -> Outcome:
    project_id = require_project(uow, project_id, Role.ADMIN)
    wanted = v.choice(role, Role, "role")
    member = _live_member(uow, project_id, user_id)
    if wanted is not Role.ADMIN:
        _refuse_losing_last_admin(uow, member, "role")
    changes = uow.apply_fields(
        member,
        {"role": wanted.value},
        entity_type="project_member",
        project_id=project_id,
        action="role_changed",
    )
    payload = {"member": _member_payload(uow, member), "changes": changes}
    if not changes:
        return Outcome("member_updated", payload)
    return uow.respond(uow.emit("member_updated", project_id, payload))


def remove_member(uow: UnitOfWork, *, project_id: str, user_id: str) -> Outcome:
    """Admins remove anyone; a member may leave; never the last admin."""
    leaving = user_id == uow.ctx.user_id
    project_id = require_project(uow, project_id, Role.VIEWER if leaving else Role.ADMIN)
    member = _live_member(uow, project_id, user_id)
    _refuse_losing_last_admin(uow, member, "user_id")
    uow.soft_delete(
        member,
        entity_type="project_member",
        project_id=project_id,
        action="member_removed",
        field="role",
        old=member.role,
    )
    payload = {"project_id": project_id, "user_id": user_id}
    return uow.respond(uow.emit("member_removed", project_id, payload))


def members_of(read: Reader, project_id: str) -> list[MemberView]:
    """Live members of a project the caller may view, with their names."""
    return [member_view(member, user) for member, user in read.members.live_with_users(project_id)]


def list_members(read: Reader, *, project_id: str) -> list[MemberView]:
    project_id = require_project(read, project_id, Role.VIEWER)
    return members_of(read, project_id)


@dataclass(frozen=True)
class AccessChange:
    """Whose view of the event's project may have ended: one user, or everyone (None)."""

    user_id: str | None

    def concerns(self, user_id: str) -> bool:
        return self.user_id is None or self.user_id == user_id


def access_change(event: Event) -> AccessChange | None:
    """The access an event may have taken away: a member removed or given another role, a
    project deleted; None for every other event."""
    payload = event.payload
    if event.payload_name == "member_removed":
        return AccessChange(str(payload["user_id"]))
    if event.payload_name == "member_updated":
        return AccessChange(str(payload["member"]["user_id"]))
    if event.payload_name == "work_item_deleted" and payload["work_item_id"] == event.project_id:
        return AccessChange(None)
    return None
