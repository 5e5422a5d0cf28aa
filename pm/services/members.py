"""Project members and their roles; the last admin of a project can't leave or be demoted."""

from __future__ import annotations

from pm.domain.enums import Role
from pm.domain.models import ProjectMember
from pm.services.clock import new_id
from pm.services.unit_of_work import UnitOfWork


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
