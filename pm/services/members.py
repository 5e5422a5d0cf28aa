"""Project members and their roles; the last admin of a project can't leave or be demoted."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from pm.domain.enums import Role
from pm.domain.events import JsonDict, Outcome
from pm.domain.models import ProjectMember, User
from pm.errors import NotFound, ValidationFailed
from pm.services import validation as v
from pm.services.access import require_role
from pm.services.clock import new_id
from pm.services.context import RequestContext
from pm.services.merge import apply_fields
from pm.services.unit_of_work import UnitOfWork
from pm.services.users import ensure_user_row
from pm.services.views import member_view


def add_project_creator(uow: UnitOfWork, project_id: str) -> ProjectMember:
    """The creator of a project becomes its admin, in the creating transaction."""
    member = ProjectMember(
        id=new_id(),
        project_id=project_id,
        user_id=uow.ctx.user_id,
        role=Role.ADMIN.value,
        created_at=uow.now,
        created_by=uow.ctx.user_id,
        updated_at=uow.now,
        updated_by=uow.ctx.user_id,
    )
    uow.session.add(member)
    uow.activity(
        entity_type="project_member",
        entity_id=member.id,
        project_id=project_id,
        action="member_added",
        field="role",
        new=Role.ADMIN.value,
        version=1,
    )
    return member


def _membership(session: Session, project_id: str, user_id: object) -> ProjectMember | None:
    if not isinstance(user_id, str) or not 0 < len(user_id) <= 255:
        raise ValidationFailed("user_id is required", field="user_id")
    return session.exec(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    ).first()


def _live_member(uow: UnitOfWork, project_id: str, user_id: object) -> ProjectMember:
    member = _membership(uow.session, project_id, user_id)
    if member is None or member.deleted_at is not None:
        raise NotFound("not a member of this project", field="user_id")
    return member


def _admins(session: Session, project_id: str) -> int:
    return session.exec(
        select(func.count()).where(
            ProjectMember.project_id == project_id,
            ProjectMember.role == Role.ADMIN.value,
            col(ProjectMember.deleted_at).is_(None),
        )
    ).one()


def _refuse_losing_last_admin(session: Session, member: ProjectMember, field: str) -> None:
    if member.role == Role.ADMIN and _admins(session, member.project_id) <= 1:
        raise ValidationFailed("a project must keep at least one admin", field=field)


def _member_payload(session: Session, member: ProjectMember) -> JsonDict:
    return member_view(member, session.get(User, member.user_id))


def add_member(uow: UnitOfWork, *, project_id: str, user_id: str, role: str) -> Outcome:
    """Add a user (an id never seen in the tenant is invited: a user row is made for it).
    A removed member is revived on the same row: one row per user and project."""
    session = uow.session
    require_role(session, uow.ctx, project_id, Role.ADMIN)
    wanted = v.choice(role, Role, "role")
    member = _membership(session, project_id, user_id)
    if member is not None and member.deleted_at is None:
        raise ValidationFailed("the user is already a member", field="user_id")
    ensure_user_row(session, user_id, uow.now)
    if member is None:
        member = ProjectMember(
            id=new_id(),
            project_id=project_id,
            user_id=user_id,
            role=wanted.value,
            created_at=uow.now,
            created_by=uow.ctx.user_id,
            updated_at=uow.now,
            updated_by=uow.ctx.user_id,
        )
    else:
        member.deleted_at = None
        member.role = wanted.value
        member.version += 1
        member.updated_at = uow.now
        member.updated_by = uow.ctx.user_id
    session.add(member)
    uow.activity(
        entity_type="project_member",
        entity_id=member.id,
        project_id=project_id,
        action="member_added",
        field="role",
        new=wanted.value,
        version=member.version,
    )
    session.flush()
    return uow.respond(
        uow.emit("member_added", project_id, {"member": _member_payload(session, member)})
    )


def update_member_role(uow: UnitOfWork, *, project_id: str, user_id: str, role: str) -> Outcome:
    session = uow.session
    require_role(session, uow.ctx, project_id, Role.ADMIN)
    wanted = v.choice(role, Role, "role")
    member = _live_member(uow, project_id, user_id)
    if wanted is not Role.ADMIN:
        _refuse_losing_last_admin(session, member, "role")
    changes = apply_fields(
        uow,
        member,
        {"role": wanted.value},
        entity_type="project_member",
        project_id=project_id,
        action="role_changed",
    )
    payload = {"member": _member_payload(session, member), "changes": changes}
    if not changes:
        return Outcome("member_updated", payload)
    return uow.respond(uow.emit("member_updated", project_id, payload))


def remove_member(uow: UnitOfWork, *, project_id: str, user_id: str) -> Outcome:
    """Admins remove anyone; a member may leave; never the last admin."""
    session = uow.session
    leaving = user_id == uow.ctx.user_id
    require_role(session, uow.ctx, project_id, Role.VIEWER if leaving else Role.ADMIN)
    member = _live_member(uow, project_id, user_id)
    _refuse_losing_last_admin(session, member, "user_id")
    member.deleted_at = uow.now
    member.version += 1
    member.updated_at = uow.now
    member.updated_by = uow.ctx.user_id
    session.add(member)
    uow.activity(
        entity_type="project_member",
        entity_id=member.id,
        project_id=project_id,
        action="member_removed",
        field="role",
        old=member.role,
        version=member.version,
    )
    payload = {"project_id": project_id, "user_id": user_id}
    return uow.respond(uow.emit("member_removed", project_id, payload))


def list_members(session: Session, ctx: RequestContext, *, project_id: str) -> list[JsonDict]:
    require_role(session, ctx, project_id, Role.VIEWER)
    rows = session.exec(
        select(ProjectMember, User)
        .join(User, col(User.id) == col(ProjectMember.user_id))
        .where(ProjectMember.project_id == project_id, col(ProjectMember.deleted_at).is_(None))
        .order_by(col(ProjectMember.created_at), col(ProjectMember.id))
    ).all()
    return [member_view(member, user) for member, user in rows]
