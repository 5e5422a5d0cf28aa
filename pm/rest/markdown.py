"""The project context as compact Markdown for a prompt: headings and nested lists, no JSON."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def _item_line(item: dict[str, Any]) -> str:
    bits = [item["status"]]
    if item.get("assignee_id"):
        bits.append(f"@{item['assignee_id']}")
    if item.get("story_points") is not None:
        bits.append(f"{item['story_points']} pts")
    if item.get("priority") in ("high", "critical"):
        bits.append(item["priority"])
    if item.get("is_blocked"):
        bits.append("BLOCKED")
    return f"- [{item['item_type']}] {item['title']} ({', '.join(bits)}) `{item['id']}`"


def _tree(items: list[dict[str, Any]], root: str) -> list[str]:
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    known = {i["id"] for i in items}
    for item in items:
        parent = item["parent_id"] if item["parent_id"] in known else root
        children[parent].append(item)
    lines: list[str] = []
    stack = [(child, 0) for child in reversed(sorted(children[root], key=lambda i: i["position"]))]
    while stack:
        item, depth = stack.pop()
        lines.append("  " * depth + _item_line(item))
        for child in reversed(sorted(children[item["id"]], key=lambda i: i["position"])):
            stack.append((child, depth + 1))
    return lines


def render_context(ctx: dict[str, Any]) -> str:
    project, counts = ctx["project"], ctx["counts"]
    out = [f"# Project: {project['title']}", ""]
    if project["description"]:
        out += [project["description"], ""]
    out += [
        f"Items: {counts['items']}; blocked: {counts['blocked']}; "
        f"as of change seq {ctx['as_of_seq']}.",
        "",
        "## Counts",
        "- by status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["by_status"].items())),
        "- by type: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["by_type"].items())),
        "- by assignee: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["by_assignee"].items())),
        "",
        "## Sprints",
    ]
    for sprint in ctx["sprints"] or []:
        dates = f"{sprint['start_date']} to {sprint['end_date']}"
        line = f"- {sprint['name']} ({sprint['status']}, {dates})"
        if sprint.get("points_committed") is not None:
            line += f": {sprint['points_done']} of {sprint['points_committed']} points done"
        if sprint.get("velocity") is not None:
            line += f"; velocity {sprint['velocity']}"
        out.append(line)
        if sprint.get("burndown"):
            out.append(
                "  - burndown: "
                + ", ".join(f"{p['date']} {p['remaining_points']}" for p in sprint["burndown"])
            )
    if not ctx["sprints"]:
        out.append("- none")
    out += ["", "## Blocked items"]
    for item in ctx["blocked_items"]:
        blockers = ", ".join(b["title"] or b["id"] for b in item["blocked_by"])
        out.append(f"- {item['title']} ({item['status']}) blocked by: {blockers}")
    if not ctx["blocked_items"]:
        out.append("- none")
    out += ["", "## Members"]
    out += [
        f"- {m['name'] or m['user_id']} (`{m['user_id']}`): {m['role']}" for m in ctx["members"]
    ]
    out += ["", "## Board lanes"]
    out += [f"- {lane['name']} -> {lane['status_value']}" for lane in ctx["swim_lanes"]]
    out += ["", "## Item tree"]
    out += _tree(ctx["work_items"], project["id"])
    if ctx["truncated"]:
        out += ["", f"_Truncated: {ctx['truncation_note']}._"]
    out += ["", "## Recent activity"]
    for row in ctx["recent_activity"]:
        change = (
            f" {row['field_name']}: {row['old_value']} -> {row['new_value']}"
            if row["field_name"]
            else ""
        )
        out.append(f"- {row['at']} {row['user_id']} {row['action']} {row['entity_type']}{change}")
    return "\n".join(out) + "\n"
