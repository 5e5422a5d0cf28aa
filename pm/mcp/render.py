"""What the tools answer, as compact text an agent reads cheaply: items by key, one line each,
Markdown where there is structure (an item in full, a sprint), the refusal codes of DOMAIN.md
first on the line of a refusal. Nothing here decides anything: it only writes down what a
service entry answered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pm.domain.events import Event
from pm.errors import Conflict, PmError
from pm.services.read_models.projects import ProjectOverviewPage
from pm.services.read_models.sprint_report import SprintReport
from pm.services.read_models.work_item_detail import WorkItemDetail
from pm.services.search import SearchHit
from pm.services.views import LinkedDependency, LlmContextEntry, WorkItemView

DETAIL_ACTIVITY = 10  # activity rows shown with an item


def item_line(item: Mapping[str, Any]) -> str:
    """``APO-12 [task] Title (in_progress, high, @sam, 3 pts, BLOCKED) v4``"""
    bits = [item["status"], item["priority"]]
    if item.get("assignee_id"):
        bits.append(f"@{item['assignee_id']}")
    if item.get("story_points") is not None:
        bits.append(f"{item['story_points']} pts")
    if item.get("is_blocked"):
        bits.append("BLOCKED")
    head = f"{item['key']} [{item['item_type']}] {item['title']}"
    return f"{head} ({', '.join(bits)}) v{item['version']}"


def projects(page: ProjectOverviewPage) -> str:
    lines = []
    for row in page["projects"]:
        counts = ", ".join(f"{status} {n}" for status, n in sorted(row["by_status"].items()))
        lines.append(f"- {row['key']} {row['title']}: {row['items']} items ({counts or 'none'})")
    if not lines:
        lines.append("No projects you can see.")
    return _with_more(lines, page["next_cursor"])


def search_page(hits: Sequence[SearchHit], next_cursor: str | None) -> str:
    lines = []
    for hit in hits:
        line = f"- {item_line(hit['work_item'])}"
        if hit["snippet"]:
            line += f" — {hit['snippet']}"
        lines.append(line)
    if not lines:
        lines.append("No items match.")
    return _with_more(lines, next_cursor)


def _with_more(lines: list[str], next_cursor: str | None) -> str:
    """The lines, and the cursor that goes on with the rest when the bounds left some out."""
    if next_cursor:
        lines.append(f"More: cursor={next_cursor}")
    return "\n".join(lines)


def written(verb: str, item: WorkItemView, changes: Sequence[Mapping[str, Any]] = ()) -> str:
    """``Updated APO-12 ... v5: status todo -> done``"""
    text = f"{verb} {item_line(item)}"
    if changes:
        text += ": " + "; ".join(
            f"{c['field']} {c['old_value']} -> {c['new_value']}" for c in changes
        )
    elif verb == "Updated":
        text += ": nothing changed"
    return text


def detail(found: WorkItemDetail) -> str:
    item = found["work_item"]
    out = [f"# {item['key']} {item['title']}", "", f"- {item_line(item)}"]
    out.append(f"- project `{item['project_id']}`, parent `{item['parent_id']}`")
    if item["sprint_id"]:
        out.append(f"- sprint `{item['sprint_id']}`")
    if item["start_date"] or item["due_date"]:
        overdue = " (OVERDUE)" if item["is_overdue"] else ""
        out.append(f"- start {item['start_date'] or '-'}, due {item['due_date'] or '-'}{overdue}")
    if item["labels"]:
        out.append("- labels " + ", ".join(f"`{label}`" for label in item["labels"]))
    for field_id, value in item["custom_fields"].items():
        out.append(f"- field `{field_id}` = {value}")
    if item["description"]:
        out += ["", item["description"]]
    out += _part(
        "Children",
        [f"- {item_line(child)}" for child in found["children"]],
        more=_more(found["children_next_cursor"]),
    )
    out += _part(
        "Comments",
        [
            f"- {c['created_by']} {_when(c['created_at'])} (`{c['id']}`"
            + (f", reply to `{c['parent_comment_id']}`" if c["parent_comment_id"] else "")
            + f"): {c['content']}"
            for c in found["comments"]
        ],
        more=_more(found["comments_next_cursor"]),
    )
    people = ", ".join(
        f"{u['user_id']} {_hours(u['total_seconds'])}" for u in found["time_by_user"]
    )
    out += _part(
        "Time",
        [f"- total {_hours(found['time_total_seconds'])}" + (f" ({people})" if people else "")],
    )
    deps = found["dependencies"]
    out += _part(
        "Dependencies",
        [f"- blocked by {_other(d)}" for d in deps["blocking"]]
        + [f"- blocks {_other(d)}" for d in deps["blocked"]],
        more=_more(deps["next_cursor"]),
    )
    activity = found["activity"][:DETAIL_ACTIVITY]
    older = len(found["activity"]) > DETAIL_ACTIVITY or found["activity_next_cursor"] is not None
    out += _part(
        "Recent activity",
        [
            f"- {_when(a['at'])} {a['user_id']} {a['action']}"
            + (
                f" {a['field_name']}: {a['old_value']} -> {a['new_value']}"
                if a["field_name"]
                else ""
            )
            for a in activity
        ],
        more="- older entries not shown" if older else None,
    )
    return "\n".join(out).rstrip() + "\n"


def _other(dep: LinkedDependency) -> str:
    other = dep["other_item"]
    name = f"{other['key']} {other['title']} ({other['status']})" if other else "a deleted item"
    kind = "" if dep["dependency_type"] == "blocks" else f" [{dep['dependency_type']}]"
    return name + kind


def sprint(report: SprintReport) -> str:
    s = report["sprint"]
    out = [
        f"# Sprint {s['name']} ({s['status']}, {s['start_date']} to {s['end_date']})",
        "",
        f"- points: {report['points_done']} of {report['points_committed']} done",
    ]
    if s["goal"]:
        out.append(f"- goal: {s['goal']}")
    if report["burndown"]:
        series = ", ".join(f"{p['date'][5:]} {p['remaining_points']}" for p in report["burndown"])
        out.append(f"- burndown (points left at day end): {series}")
    out += _part("Items", [f"- {item_line(item)}" for item in report["work_items"]])
    return "\n".join(out).rstrip() + "\n"


def changes(events: Sequence[Event], as_of_seq: int, has_more: bool) -> str:
    lines = [f"- {e.seq} {e.payload_name} by {e.actor_id}: {_event_subject(e)}" for e in events]
    lines.append(f"as_of_seq={as_of_seq}" + ("; has_more: call again from it" if has_more else ""))
    return "\n".join(lines)


def _event_subject(event: Event) -> str:
    payload = event.payload
    for name in (
        "work_item",
        "comment",
        "sprint",
        "time_entry",
        "dependency",
        "swim_lane",
        "member",
    ):
        entity = payload.get(name)
        if isinstance(entity, Mapping):
            if name == "work_item":
                return item_line(entity)
            label = entity.get("name") or entity.get("title") or entity.get("user_id") or ""
            return f"{name} `{entity.get('id')}` {label}".rstrip()
    ids = ", ".join(f"{k} `{v}`" for k, v in payload.items() if k.endswith("_id"))
    flips = payload.get("changes")  # blocked_changed: each item whose is_blocked changed
    if isinstance(flips, list):
        states = ", ".join(
            f"`{flip['work_item_id']}` {'blocked' if flip.get('is_blocked') else 'unblocked'}"
            for flip in flips
            if isinstance(flip, Mapping)
        )
        return f"{ids}: {states}"
    return ids


def llm_context(entries: Iterable[LlmContextEntry]) -> str:
    out = ["# How to use pm", ""]
    for entry in entries:
        out += [f"## {entry['title']} ({entry['context_type']})", "", entry["content"], ""]
    return "\n".join(out).rstrip() + "\n"


def notifications(page: Mapping[str, Any]) -> str:
    """``- [unread] APO-12 Title: mentioned by @sam "excerpt" (2026-05-01 10:00) `id```"""
    lines = [f"{page['unread_count']} unread"]
    for note in page["notifications"]:
        state = "read" if note["read_at"] else "unread"
        line = f"- [{state}] {note['work_item_key']} {note['title']}: {note['reason']}"
        line += f" by @{note['actor_id']}"
        if note["excerpt"]:
            line += f' "{note["excerpt"]}"'
        lines.append(f"{line} ({_when(note['created_at'])}) `{note['id']}`")
    if not page["notifications"]:
        lines.append("No notifications.")
    return _with_more(lines, page["next_cursor"])


def refusal(exc: PmError) -> str:
    """``CODE: message`` (DOMAIN.md codes), with what an agent needs to retry sensibly."""
    text = f"{exc.code}: {exc.message}"
    if exc.field:
        text += f" (field {exc.field})"
    if isinstance(exc, Conflict):
        text += f". Current version {exc.current_version}"
        for c in exc.conflicts:
            text += (
                f"; {c.field}: you saw {c.seen!r}, stored {c.stored!r}, you tried {c.attempted!r}"
            )
        text += ". Re-read the item, or retry with expected_version set to the current version."
    details = exc.details()
    if "retry_after_ms" in details:
        text += f". Retry after {details['retry_after_ms']} ms"
    if "path" in details:
        text += f". Cycle: {' -> '.join(details['path'])}"
    return text


def _part(title: str, lines: list[str], *, more: str | None = None) -> list[str]:
    """A section; ``more``, its last line, says that the bounds left rows of it out."""
    if more is not None:
        return ["", f"## {title}", *lines, more]
    return ["", f"## {title}", *(lines or ["- none"])]


def _more(next_cursor: str | None) -> str | None:
    """The line of a bounded list that left rows out: the cursor its own list request (REST,
    WebSocket) goes on from."""
    return None if next_cursor is None else f"- more not shown (next_cursor={next_cursor})"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _hours(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours}h {minutes:02d}m"
