"""Public shapes of the entities: the field names of DOMAIN.md and PROTOCOL.md, instants as
int64 milliseconds, enumerations as their lowercase words. Both doors and the change feed use
exactly these dicts, so a live event and its replay are the same bytes."""

from __future__ import annotations

from pm.domain.events import JsonDict
from pm.domain.models import (
    ActivityLog,
    Comment,
    Dependency,
    ProjectMember,
    Sprint,
    SwimLane,
    TimeEntry,
    User,
    WorkItem,
)

AUDIT_FIELDS = ("created_at", "created_by", "updated_at", "updated_by")


def _audit(
    row: WorkItem | Sprint | Comment | TimeEntry | Dependency | SwimLane | ProjectMember,
) -> JsonDict:
    return {name: getattr(row, name) for name in AUDIT_FIELDS}


def work_item_view(item: WorkItem, *, is_blocked: bool = False) -> JsonDict:
    return {
        "id": item.id,
        "item_type": item.item_type,
        "project_id": item.project_id,
        "parent_id": item.parent_id,
        "title": item.title,
        "description": item.description,
        "status": item.status,
        "priority": item.priority,
        "assignee_id": item.assignee_id,
        "story_points": item.story_points,
        "sprint_id": item.sprint_id,
        "position": item.position,
        "version": item.version,
        "is_blocked": is_blocked,
        **_audit(item),
    }


def sprint_view(sprint: Sprint) -> JsonDict:
    return {
        "id": sprint.id,
        "project_id": sprint.project_id,
        "name": sprint.name,
        "goal": sprint.goal,
        "start_date": sprint.start_date,
        "end_date": sprint.end_date,
        "status": sprint.status,
        "velocity": sprint.velocity,
        "committed_points": sprint.committed_points,
        "started_at": sprint.started_at,
        "completed_at": sprint.completed_at,
        "version": sprint.version,
        **_audit(sprint),
    }


def comment_view(comment: Comment) -> JsonDict:
    return {
        "id": comment.id,
        "work_item_id": comment.work_item_id,
        "project_id": comment.project_id,
        "parent_comment_id": comment.parent_comment_id,
        "content": comment.content,
        "version": comment.version,
        **_audit(comment),
    }


def time_entry_view(entry: TimeEntry) -> JsonDict:
    return {
        "id": entry.id,
        "work_item_id": entry.work_item_id,
        "project_id": entry.project_id,
        "user_id": entry.user_id,
        "started_at": entry.started_at,
        "ended_at": entry.ended_at,
        "duration_seconds": entry.duration_seconds,
        "description": entry.description,
        "version": entry.version,
        **_audit(entry),
    }


def dependency_view(dep: Dependency) -> JsonDict:
    return {
        "id": dep.id,
        "blocking_item_id": dep.blocking_item_id,
        "blocked_item_id": dep.blocked_item_id,
        "project_id": dep.project_id,
        "dependency_type": dep.dependency_type,
        **_audit(dep),
    }


def swim_lane_view(lane: SwimLane) -> JsonDict:
    return {
        "id": lane.id,
        "project_id": lane.project_id,
        "name": lane.name,
        "status_value": lane.status_value,
        "position": lane.position,
        "is_default": lane.is_default,
        "version": lane.version,
        **_audit(lane),
    }


def member_view(member: ProjectMember, user: User | None = None) -> JsonDict:
    return {
        "id": member.id,
        "project_id": member.project_id,
        "user_id": member.user_id,
        "role": member.role,
        "email": user.email if user else None,
        "name": user.name if user else None,
        "version": member.version,
        **_audit(member),
    }


def activity_view(row: ActivityLog) -> JsonDict:
    return {
        "id": row.id,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "project_id": row.project_id,
        "action": row.action,
        "field_name": row.field_name,
        "old_value": row.old_value,
        "new_value": row.new_value,
        "user_id": row.user_id,
        "version": row.version,
        "seq": row.seq,
        "at": row.at,
    }
