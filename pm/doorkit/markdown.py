"""The project context as compact Markdown for a prompt: headings and nested lists, no JSON.
REST (``?format=markdown``) and MCP (``get_project_context``, the context resources) render it
here, the same way.

It renders exactly the JSON context (same bounds, same truncation note), so an agent gets the
same facts whichever format it asks for. Items are named by their short keys, in backticks
(``APO-12``): every door accepts a key wherever an id goes, and a key costs a few tokens where
a UUID costs some twenty. Sprints keep their ids (they have no key).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeGuard

from pm.services.read_models.cycle_time import CycleTimeSummary, Durations
from pm.services.read_models.project_context import (
    BlockedItem,
    BlockRef,
    ContextActivity,
    ContextItem,
    ProjectContext,
    RunningSprint,
)
from pm.services.views import CustomFieldView, FieldValue, MemberView, SprintView, StateView

NONE = "- none"


def render_context(ctx: ProjectContext) -> str:
    project = ctx["project"]
    keys = {item["id"]: item["key"] for item in ctx["work_items"]} | {project["id"]: project["key"]}
    out = [f"# Project: {project['title']} `{project['key']}`", ""]
    if project["description"]:
        out += [project["description"], ""]
    if ctx["truncated"]:
        out += [f"> Truncated: {ctx['truncation_note']}", ""]
    out += _summary(ctx)
    out += _section("Sprints", _sprints(ctx["sprints"]))
    out += _section("Blocked items", _blocked(ctx["blocked_items"]))
    out += _section("Item tree", [_item(i) for i in ctx["work_items"]])
    out += _section("Members", _members(ctx["members"]))
    out += _section("Workflow states", _states(ctx["states"]))
    out += _section(
        "Board lanes", [f"- {lane['name']}: {lane['status_value']}" for lane in ctx["swim_lanes"]]
    )
    out += _section("Labels", [f"- {label['name']} ({label['colour']})" for label in ctx["labels"]])
    out += _section("Custom fields", [_field(field) for field in ctx["custom_fields"]])
    out += _section("Recent activity", [_activity(row, keys) for row in ctx["recent_activity"]])
    return "\n".join(out).rstrip() + "\n"


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"## {title}", *(lines or [NONE]), ""]


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "none"


def _summary(ctx: ProjectContext) -> list[str]:
    counts, velocity = ctx["counts"], ctx["velocity"]
    points = counts["story_points"]
    lines = [
        f"- items: {counts['items']} ({_pairs(counts['by_type'])}); blocked: {counts['blocked']}",
        f"- by status: {_pairs(counts['by_status'])}",
        f"- by category: {_pairs(counts['by_category'])}",
        f"- story points: {points['done']} of {points['total']} done",
        "- by assignee:",
    ]
    for user, statuses in counts["by_assignee"].items():
        rest = {k: v for k, v in statuses.items() if k != "total"}
        lines.append(f"  - {user}: {statuses['total']} ({_pairs(rest)})")
    if velocity["recent_average"] is not None:
        lines.append(
            f"- velocity: {velocity['recent_average']} points per sprint "
            f"(mean of the last {velocity['sprints_averaged']} completed)"
        )
    lines.extend(_flow(ctx["cycle_time"]))
    lines.append(f"- as of change seq {ctx['as_of_seq']}")
    return ["## Summary", *lines, ""]


def _flow(flow: CycleTimeSummary) -> list[str]:
    """Lead and cycle time percentiles in days, when anything was completed in the range."""
    lead, cycle = flow["lead_time"], flow["cycle_time"]
    if not lead["count"]:
        return []
    more = " (the earliest only: more were completed)" if flow["has_more"] else ""
    return [
        f"- lead time, {flow['since']} to {flow['until']}, {lead['count']} items{more}: "
        + _percentiles(lead),
        f"- cycle time, {cycle['count']} of them started first: " + _percentiles(cycle),
    ]


def _percentiles(figures: Durations) -> str:
    if not figures["count"]:
        return "none"
    p50, p85, p95 = figures["p50_ms"], figures["p85_ms"], figures["p95_ms"]
    return f"p50 {_days(p50)} d, p85 {_days(p85)} d, p95 {_days(p95)} d"


def _days(ms: int | None) -> str:
    return "?" if ms is None else f"{ms / 86_400_000:.1f}"


def _sprints(sprints: Iterable[RunningSprint | SprintView]) -> list[str]:
    lines = []
    for sprint in sprints:
        dates = f"{sprint['start_date']} to {sprint['end_date']}"
        line = f"- {sprint['name']} ({sprint['status']}, {dates})"
        if _is_running(sprint):
            line += (
                f": {sprint['points_done']} of {sprint['points_committed']} points done, "
                f"{sprint['items']} items"
            )
        elif sprint["velocity"] is not None:
            line += f": velocity {sprint['velocity']} of {sprint['committed_points']} committed"
        if sprint["goal"]:
            line += f"; goal: {sprint['goal']}"
        lines.append(line + f" `{sprint['id']}`")
        if _is_running(sprint) and sprint["burndown"]:
            series = ", ".join(
                f"{p['date'][5:]} {p['remaining_points']}" for p in sprint["burndown"]
            )
            lines.append(f"  - burndown (points left at day end): {series}")
    return lines


def _is_running(sprint: RunningSprint | SprintView) -> TypeGuard[RunningSprint]:
    """Running and planned sprints carry their live figures; finished ones do not."""
    return "points_committed" in sprint


def _ref(item: BlockRef) -> str:
    who = f", @{item['assignee_id']}" if item["assignee_id"] else ""
    return f"{item['title']} ({item['status']}{who}) `{item['key']}`"


def _blocked(items: Iterable[BlockedItem]) -> list[str]:
    lines = []
    for item in items:
        lines.append(f"- {_ref(item)}, blocked by:")
        lines += [f"  - {_ref(blocker)}" for blocker in item["blocked_by"]]
    return lines


def _item(item: ContextItem) -> str:
    bits = [item["status"]]
    if item["assignee_id"]:
        bits.append(f"@{item['assignee_id']}")
    if item["story_points"] is not None:
        bits.append(f"{item['story_points']} pts")
    if item["priority"] in ("high", "critical"):
        bits.append(item["priority"])
    if item["is_blocked"]:
        bits.append("BLOCKED")
    if item["due_date"]:
        bits.append(f"due {item['due_date']}" + (" OVERDUE" if item["is_overdue"] else ""))
    if item["labels"]:
        bits.append(" ".join(f"#{label}" for label in item["labels"]))
    bits += [f"{name}: {_value(value)}" for name, value in item["custom_fields"].items()]
    indent = "  " * item["depth"]
    return f"{indent}- [{item['item_type']}] {item['title']} ({', '.join(bits)}) `{item['key']}`"


def _states(states: Iterable[StateView]) -> list[str]:
    """In board order: the key items carry, the name people see, what it means to the rules."""
    return [f"- `{s['key']}` {s['name']} ({s['category']})" for s in states]


def _value(value: FieldValue) -> str:
    if isinstance(value, list):
        return "/".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _field(field: CustomFieldView) -> str:
    options = f": {', '.join(field['options'])}" if field["options"] else ""
    required = ", required" if field["required"] else ""
    return f"- {field['name']} ({field['field_type']}{required}){options} `{field['id']}`"


def _members(members: Iterable[MemberView]) -> list[str]:
    lines = []
    for member in members:
        named = (
            f"{member['name']} " if member["name"] and member["name"] != member["user_id"] else ""
        )
        lines.append(f"- {named}`{member['user_id']}`: {member['role']}")
    return lines


def _activity(row: ContextActivity, keys: dict[str, str]) -> str:
    change = (
        f" {row['field_name']}: {row['old_value']} -> {row['new_value']}"
        if row["field_name"]
        else ""
    )
    when = datetime.fromtimestamp(row["at"] / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"- {when} {row['user_id']} {row['action']} {row['entity_type']} "
        f"`{keys.get(row['entity_id'], row['entity_id'])}`{change}"
    )
