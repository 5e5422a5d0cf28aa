"""Comments on work items, with one level of replies. Only the author edits; the author or a
project admin deletes."""

from __future__ import annotations

from sqlmodel import Session, col, select

from pm.domain.enums import Role
from pm.domain.events import JsonDict, Outcome
from pm.domain.models import Comment
from pm.errors import Forbidden, NotFound, ValidationFailed
from pm.services import validation as v
from pm.services.access import project_role, require_item_role, require_role
from pm.services.clock import new_id
from pm.services.context import RequestContext
from pm.services.merge import apply_fields, require_current_version
from pm.services.unit_of_work import UnitOfWork
from pm.services.views import comment_view

MAX_CONTENT = 20_000


def _content(value: object) -> str:
    return v.text(value, "content", min_len=1, max_len=MAX_CONTENT, trim=False)


def _live_comment(uow: UnitOfWork, comment_id: object) -> Comment:
    """A live comment on a live item the caller can see (else NOT_FOUND)."""
    if not isinstance(comment_id, str) or not comment_id:
        raise ValidationFailed("comment_id is required", field="comment_id")
    comment = uow.session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound("comment not found", field="comment_id")
    try:
        require_item_role(uow.session, uow.ctx, comment.work_item_id, Role.VIEWER)
    except NotFound:
        raise NotFound("comment not found", field="comment_id") from None
    return comment


def create_comment(
    uow: UnitOfWork,
    *,
    work_item_id: str,
    content: str,
    parent_comment_id: str | None = None,
    id: str | None = None,
) -> Outcome:
    session = uow.session
    item = require_item_role(session, uow.ctx, work_item_id, Role.EDITOR)
    comment_id = v.entity_id(id, "id") if id else new_id()
    if session.get(Comment, comment_id) is not None:
        raise ValidationFailed("an entity with this id already exists", field="id")
    if parent_comment_id:
        parent = session.get(Comment, parent_comment_id)
        if parent is None or parent.deleted_at is not None or parent.work_item_id != item.id:
            raise NotFound("no such comment on this item", field="parent_comment_id")
        if parent.parent_comment_id is not None:
            raise ValidationFailed(
                "replies are one level deep: reply to the top comment", field="parent_comment_id"
            )
    comment = Comment(
        id=comment_id,
        work_item_id=item.id,
        project_id=item.project_id,
        parent_comment_id=parent_comment_id or None,
        content=_content(content),
        created_at=uow.now,
        created_by=uow.ctx.user_id,
        updated_at=uow.now,
        updated_by=uow.ctx.user_id,
    )
    session.add(comment)
    uow.activity(
        entity_type="comment",
        entity_id=comment.id,
        project_id=item.project_id,
        action="created",
        version=1,
    )
    return uow.respond(
        uow.emit("comment_created", item.project_id, {"comment": comment_view(comment)})
    )


def update_comment(
    uow: UnitOfWork, *, comment_id: str, content: str, expected_version: int | None = None
) -> Outcome:
    comment = _live_comment(uow, comment_id)
    if comment.created_by != uow.ctx.user_id:
        raise Forbidden("only the author edits a comment")
    require_role(uow.session, uow.ctx, comment.project_id, Role.EDITOR)
    if expected_version is not None:
        require_current_version(
            comment, v.expected_version(expected_version), lambda: comment_view(comment)
        )
    changes = apply_fields(
        uow,
        comment,
        {"content": _content(content)},
        entity_type="comment",
        project_id=comment.project_id,
        action="updated",
    )
    if not changes:
        return Outcome("comment_updated", {"comment": comment_view(comment)})
    return uow.respond(
        uow.emit("comment_updated", comment.project_id, {"comment": comment_view(comment)})
    )


def delete_comment(uow: UnitOfWork, *, comment_id: str) -> Outcome:
    comment = _live_comment(uow, comment_id)
    is_author = comment.created_by == uow.ctx.user_id
    if project_role(uow.session, uow.ctx, comment.project_id) is not Role.ADMIN:
        if not is_author:
            raise Forbidden("only the author or a project admin deletes a comment")
        require_role(uow.session, uow.ctx, comment.project_id, Role.EDITOR)
    comment.deleted_at = uow.now
    comment.version += 1
    comment.updated_at = uow.now
    comment.updated_by = uow.ctx.user_id
    uow.session.add(comment)
    uow.activity(
        entity_type="comment",
        entity_id=comment.id,
        project_id=comment.project_id,
        action="deleted",
        version=comment.version,
    )
    payload = {
        "comment_id": comment.id,
        "work_item_id": comment.work_item_id,
        "project_id": comment.project_id,
    }
    return uow.respond(uow.emit("comment_deleted", comment.project_id, payload))


def get_comments(session: Session, ctx: RequestContext, *, work_item_id: str) -> list[JsonDict]:
    """Live comments of a visible item, oldest first (replies carry parent_comment_id)."""
    item = require_item_role(session, ctx, work_item_id, Role.VIEWER)
    rows = session.exec(
        select(Comment)
        .where(Comment.work_item_id == item.id, col(Comment.deleted_at).is_(None))
        .order_by(col(Comment.created_at), col(Comment.id))
    ).all()
    return [comment_view(row) for row in rows]
