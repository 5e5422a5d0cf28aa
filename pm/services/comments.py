"""Comments on work items, with one level of replies. Only the author edits; the author or a
project admin deletes."""

from __future__ import annotations

from pm.domain.enums import Role
from pm.domain.events import Outcome
from pm.domain.models import Comment
from pm.errors import Forbidden, NotFound, ValidationFailed
from pm.services import notifications
from pm.services.kernel import validation as v
from pm.services.kernel.access import (
    fresh_id,
    live_row,
    project_role,
    require_item_role,
    require_role,
)
from pm.services.kernel.ids import new_id
from pm.services.kernel.merge import require_current_version
from pm.services.kernel.pagination import PageRequest, page_of
from pm.services.kernel.reader import Reader
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import CommentsPage, comment_view, paged

MAX_CONTENT = 20_000


def _content(value: object) -> str:
    return v.text(value, "content", min_len=1, max_len=MAX_CONTENT, trim=False)


def _live_comment(uow: UnitOfWork, comment_id: object) -> Comment:
    """A live comment on a live item the caller can see (else NOT_FOUND)."""
    comment = live_row(uow.comments, comment_id, field="comment_id", what="comment")
    try:
        require_item_role(uow, comment.work_item_id, Role.VIEWER)
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
    item = require_item_role(uow, work_item_id, Role.EDITOR)
    comment_id = fresh_id(uow.comments, id) if id else new_id()
    if parent_comment_id:
        parent = uow.comments.get(parent_comment_id)
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
        **uow.stamps(),
    )
    uow.create(comment, entity_type="comment", project_id=item.project_id)
    event = uow.emit("comment_created", item.project_id, {"comment": comment_view(comment)})
    notifications.comment_written(uow, item, comment)
    return uow.respond(event)


def update_comment(
    uow: UnitOfWork, *, comment_id: str, content: str, expected_version: int | None = None
) -> Outcome:
    comment = _live_comment(uow, comment_id)
    if comment.created_by != uow.ctx.user_id:
        raise Forbidden("only the author edits a comment")
    require_role(uow, comment.project_id, Role.EDITOR)
    if expected_version is not None:
        require_current_version(
            comment, v.expected_version(expected_version), lambda: comment_view(comment)
        )
    old_content = comment.content
    changes = uow.apply_fields(
        comment,
        {"content": _content(content)},
        entity_type="comment",
        project_id=comment.project_id,
        action="updated",
    )
    if not changes:
        return Outcome("comment_updated", {"comment": comment_view(comment)})
    event = uow.emit("comment_updated", comment.project_id, {"comment": comment_view(comment)})
    item = uow.items.get(comment.work_item_id)
    assert item is not None  # _live_comment found it live
    notifications.comment_written(uow, item, comment, old_content=old_content)
    return uow.respond(event)


def delete_comment(uow: UnitOfWork, *, comment_id: str) -> Outcome:
    comment = _live_comment(uow, comment_id)
    is_author = comment.created_by == uow.ctx.user_id
    if project_role(uow, comment.project_id) is not Role.ADMIN:
        if not is_author:
            raise Forbidden("only the author or a project admin deletes a comment")
        require_role(uow, comment.project_id, Role.EDITOR)
    uow.soft_delete(comment, entity_type="comment", project_id=comment.project_id)
    payload = {
        "comment_id": comment.id,
        "work_item_id": comment.work_item_id,
        "project_id": comment.project_id,
    }
    return uow.respond(uow.emit("comment_deleted", comment.project_id, payload))


def get_comments(
    read: Reader, *, work_item_id: str, cursor: str | None = None, limit: int | None = None
) -> CommentsPage:
    """Live comments of a visible item, oldest first (replies carry parent_comment_id), a
    bounded page from ``cursor``."""
    item = require_item_role(read, work_item_id, Role.VIEWER)
    return comments_page(read, item.id, read.page(limit, cursor))


def comments_page(read: Reader, item_id: str, page: PageRequest) -> CommentsPage:
    after = page.after_key(int, str)
    rows = read.comments.live_on_item_from(
        item_id, None if after is None else (after[0], after[1]), limit=page.limit + 1
    )
    result = page_of(
        rows, page, key=lambda row: [row.created_at, row.id], size=lambda row: len(row.content)
    )
    return {"comments": [comment_view(row) for row in result.items], **paged(result.next_cursor)}
