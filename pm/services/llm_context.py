"""LLM context: documentation an agent needs to use the read API well, seeded into every new
tenant (in the transaction that creates its file) and listed by ``GET /api/v1/llm/context``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from pm.domain.enums import ContextType
from pm.domain.models import LlmContext
from pm.repositories import Repositories
from pm.services.kernel import validation as v
from pm.services.kernel.clock import now_ms
from pm.services.kernel.ids import new_id
from pm.services.kernel.reader import Reader
from pm.services.views import LlmContextEntry


@dataclass(frozen=True)
class Entry:
    context_type: ContextType
    category: str
    title: str
    content: str
    priority: int


SEED: tuple[Entry, ...] = (
    Entry(
        ContextType.SCHEMA_DOC,
        "overview",
        "How a tenant's data is shaped",
        "A tenant is one customer organisation; everything you read belongs to the tenant named "
        "in your token. Work is a tree of work items: a `project` is the root; `epic`s sit under "
        "a project; `story`s under a project or an epic; `task`s under a project, an epic or a "
        "story. Every item carries `project_id` (its root project). Sprints, swim lanes and "
        "members belong to a project; comments, time entries and dependencies belong to items. "
        "Ids are UUID strings; instants are Unix milliseconds (UTC) in fields ending `_at`; "
        "calendar dates are `YYYY-MM-DD`. Deleted rows are hidden from every read.",
        100,
    ),
    Entry(
        ContextType.SCHEMA_DOC,
        "work_item",
        "Work item fields",
        "`item_type` project|epic|story|task (fixed at creation). `parent_id` the parent item. "
        "`title` 1-200 chars. `description` Markdown up to 50,000 chars. `status` "
        "backlog|todo|in_progress|review|done (default backlog). `priority` "
        "low|medium|high|critical (default medium). `assignee_id` a user id or null. "
        "`story_points` 0-1000 or null. `sprint_id` the sprint it is planned in, or null "
        "(backlog). `position` an order key: sort siblings by it as a plain string. `version` "
        "increases by one on every change. `is_blocked` true while any item blocking it is not "
        "done. `created_at/created_by/updated_at/updated_by` audit fields.",
        95,
    ),
    Entry(
        ContextType.SCHEMA_DOC,
        "sprint",
        "Sprint fields",
        "`name`, `goal`, `start_date`, `end_date`, `status` planned -> active -> completed (or "
        "cancelled). At most one sprint per project is active. When a sprint completes, "
        "`velocity` holds the story points of its done items and `committed_points` the points "
        "it held at completion; its unfinished items go back to the backlog or into the next "
        "sprint named at completion.",
        90,
    ),
    Entry(
        ContextType.SCHEMA_DOC,
        "collaboration",
        "Comments, time entries, dependencies, lanes, members, activity",
        "Comments: `content` Markdown, optional `parent_comment_id` (one level of replies). "
        "Time entries: `user_id`, `started_at`, `ended_at` (null while the timer runs), "
        "`duration_seconds`; each user has at most one running timer. Dependencies: "
        "`blocking_item_id` blocks `blocked_item_id` when `dependency_type` is `blocks`; "
        "`relates_to` is informational. Swim lanes map a board column to a `status_value`. "
        "Members have a `role` viewer < editor < admin. The activity log has one row per field "
        "change or action (`created`, `updated`, `moved`, `deleted`, `member_added`, ...) with "
        "`field_name`, `old_value`, `new_value`, `user_id` and `at`.",
        85,
    ),
    Entry(
        ContextType.BUSINESS_RULE,
        "work_item",
        "Tree and change rules",
        "A parent must be live and in the same project. An item can't move under itself or its "
        "descendants. An item with live children can't be deleted (DELETE_BLOCKED). Updates "
        "carry `expected_version`: if someone changed the same field since, the update is "
        "refused with CONFLICT listing seen/stored/attempted values; changes to other fields "
        "merge. An update that changes nothing does not bump the version.",
        80,
    ),
    Entry(
        ContextType.BUSINESS_RULE,
        "access",
        "Who can see and do what",
        "Reading a project needs the viewer role in it; editing items, sprints, comments, own "
        "time entries and dependencies needs editor; members, swim lanes, deleting a project "
        "and deleting others' comments or time entries need admin. A token whose `roles` claim "
        "contains `admin` is admin of every project in its tenant. A project you are not a "
        "member of answers NOT_FOUND, exactly as if it did not exist.",
        75,
    ),
    Entry(
        ContextType.BUSINESS_RULE,
        "dependency",
        "Blocking and cycles",
        "A `blocks` dependency can never close a cycle (CYCLE_DETECTED names the path). An item "
        "is blocked while any live item blocking it has a status other than done; reads report "
        "this as `is_blocked`. Deleting an item removes its dependencies.",
        70,
    ),
    Entry(
        ContextType.QUERY_PATTERN,
        "status_report",
        "Answer 'what is the state of project X?' in one call",
        "Call `GET /api/v1/projects` to find the project id, then "
        "`GET /api/v1/projects/{id}/context?format=markdown`. It holds the item tree, counts by "
        "status and assignee, the sprints with velocity and burndown, blocked items with what "
        "blocks them, members, lanes and recent activity. If it says it was truncated, page "
        "through `GET /api/v1/work-items?project_id=...&cursor=...` for the rest.",
        65,
    ),
    Entry(
        ContextType.QUERY_PATTERN,
        "filters",
        "Finding items",
        "`GET /api/v1/work-items` filters by `project_id`, `status`, `assignee_id`, `sprint_id`, "
        "`item_type` and a text `q` over title and description; results are paginated: pass "
        "the `next_cursor` of one page as `cursor` to get the next, until it is null. "
        "`GET /api/v1/work-items/{id}` gives one item with its children, comments, time "
        "totals, dependencies and activity.",
        60,
    ),
    Entry(
        ContextType.QUERY_PATTERN,
        "changes",
        "Keeping up with a project",
        "Remember the largest `seq` you have seen and poll `GET /api/v1/changes?since_seq=N`: "
        "you get exactly the changes after it, in order, deletions included, with `has_more` "
        "when there are more pages. RESYNC_REQUIRED means your seq is older than the retention "
        "window: reload the project context and continue from its seq.",
        55,
    ),
    Entry(
        ContextType.EXAMPLE,
        "sprint",
        "Example: how is the sprint going?",
        "From the context: find the sprint with status `active`; compare `points_done` with "
        "`points_committed`; read the burndown (remaining points per day) against the days left "
        "until `end_date`; list its items that are blocked or still in backlog/todo near the "
        "end date. Answer: 'Sprint 12 has 21 of 34 points done with 3 days left; 2 items are "
        "blocked by the API migration epic.'",
        50,
    ),
    Entry(
        ContextType.EXAMPLE,
        "workload",
        "Example: who is working on what?",
        "Group the items with status `in_progress` or `review` by `assignee_id`, and join the "
        "member list for names. Running timers (time entries with `ended_at` null) show who is "
        "working on an item right now. Unassigned in-progress items are worth flagging.",
        45,
    ),
)


def seed_llm_context(session: Session) -> None:
    """Write the seed entries into a brand-new tenant file (the manager's ``on_create`` hook)."""
    now = now_ms()
    repos = Repositories(session)
    for entry in SEED:
        repos.llm_context.add(
            LlmContext(
                id=new_id(),
                context_type=entry.context_type.value,
                category=entry.category,
                title=entry.title,
                content=entry.content,
                priority=entry.priority,
                created_at=now,
                updated_at=now,
            )
        )


def list_llm_context(
    read: Reader, *, context_type: str | None = None, category: str | None = None
) -> list[LlmContextEntry]:
    """The tenant's context entries, most important first. Any user of the tenant may read them."""
    if context_type is not None:
        context_type = v.choice(context_type, ContextType, "context_type").value
    return [
        {
            "id": row.id,
            "context_type": row.context_type,
            "category": row.category,
            "title": row.title,
            "content": row.content,
            "priority": row.priority,
        }
        for row in read.llm_context.listed(context_type=context_type, category=category)
    ]
