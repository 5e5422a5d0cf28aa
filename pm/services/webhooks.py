"""Webhooks (DOMAIN.md "Webhook"): admin-managed subscriptions of outside receivers to the change
feed, and the records the deliverer (pm.webhooks) keeps of its work.

    commands    create_webhook, update_webhook, delete_webhook     (over /ws, by admins)
    queries     list_webhooks, get_webhook_deliveries
    background  due_deliveries, record_attempts (the deliverer's, through ServiceRunner's
                background entries: work of the process itself, no caller)

Who manages a webhook: a tenant admin, or an admin of every project it names; one naming no
project covers every project its creator administers (all of them for a tenant admin) and is
managed by its creator or a tenant admin. What it covers is worked out at each delivery, so a
creator who loses a project's admin role stops receiving that project's events.

Targets on loopback, private, link-local, metadata or otherwise non-public addresses are refused
unless a network of ``webhook_allowed_networks`` holds them: here for an address written in the
URL (or ``localhost``), by the deliverer for every address a host name resolves to, at every
attempt. Changes to webhooks are events of the whole tenant (project id ``TENANT_WIDE``): no
project's subscriber or feed reader sees them, and the deliverer learns of them at once.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import urlsplit

from pm.domain.enums import Role
from pm.domain.events import Event, Outcome
from pm.domain.models import Webhook, WebhookDelivery
from pm.errors import Forbidden, NotFound, ValidationFailed
from pm.repositories import Repositories
from pm.services.changes import to_event
from pm.services.kernel import validation as v
from pm.services.kernel.access import project_role, require_project
from pm.services.kernel.ids import new_id
from pm.services.kernel.reader import Reader
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import UnitOfWork

TENANT_WIDE = ""  # the project id of events about the tenant itself
DELIVERY_LOG = 50  # attempts kept per webhook
MAX_URL = 2048
MAX_FILTER_ENTRIES = 100
_EVENT_NAME = frozenset("abcdefghijklmnopqrstuvwxyz_")
# Cloud metadata endpoints that are not link-local (169.254.169.254 and fe80::/10 are).
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}
)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookView(TypedDict):
    id: str
    url: str
    project_ids: list[str]
    event_types: list[str]
    active: bool
    disabled_reason: str | None
    consecutive_failures: int
    cursor_seq: int
    version: int
    created_at: int
    created_by: str
    updated_at: int
    updated_by: str


class DeliveryView(TypedDict):
    id: int
    event_id: str
    seq: int
    attempt: int
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int
    at: int


class WebhookDeliveries(TypedDict):
    webhook_id: str
    deliveries: list[DeliveryView]


def webhook_view(hook: Webhook) -> WebhookView:
    return {
        "id": hook.id,
        "url": hook.url,
        "project_ids": json.loads(hook.project_ids),
        "event_types": json.loads(hook.event_types),
        "active": hook.active,
        "disabled_reason": hook.disabled_reason,
        "consecutive_failures": hook.consecutive_failures,
        "cursor_seq": hook.cursor_seq,
        "version": hook.version,
        "created_at": hook.created_at,
        "created_by": hook.created_by,
        "updated_at": hook.updated_at,
        "updated_by": hook.updated_by,
    }


def delivery_view(row: WebhookDelivery) -> DeliveryView:
    assert row.id is not None
    return {
        "id": row.id,
        "event_id": row.event_id,
        "seq": row.seq,
        "attempt": row.attempt,
        "outcome": row.outcome,
        "status_code": row.status_code,
        "error": row.error,
        "duration_ms": row.duration_ms,
        "at": row.at,
    }


# -- targets -------------------------------------------------------------------------------


def address_refusal(address: Address, allowed_networks: Sequence[str]) -> str | None:
    """Why a delivery may not go to ``address`` (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in ipaddress.ip_network(network) for network in allowed_networks):
        return None
    for refused, why in (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address in METADATA_ADDRESSES, "a metadata address"),
        (address.is_private, "a private address"),
        (address.is_multicast, "a multicast address"),
        (not address.is_global, "not a public address"),
    ):
        if refused:
            return f"{address} is {why}"
    return None


def checked_url(value: object, allowed_networks: Sequence[str]) -> str:
    """A target URL: http or https, a host, no credentials; refused when its host is an
    address (or ``localhost``) that ``address_refusal`` refuses."""
    url = v.text(value, "url", min_len=1, max_len=MAX_URL)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationFailed("url is not a valid URL", field="url") from None
    del port  # read only to have it checked
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("url must be an http or https URL with a host", field="url")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed("url must not carry credentials", field="url")
    host = parts.hostname.rstrip(".")
    literal = _literal_address(host)
    if literal is not None:
        refusal = address_refusal(literal, allowed_networks)
        if refusal is not None:
            raise ValidationFailed(f"url is refused: {refusal}", field="url")
    return url


def _literal_address(host: str) -> Address | None:
    if host == "localhost" or host.endswith(".localhost"):
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# -- management ----------------------------------------------------------------------------


def _event_types(value: object) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_FILTER_ENTRIES:
        raise ValidationFailed(
            f"event_types must be a list of at most {MAX_FILTER_ENTRIES} names", field="event_types"
        )
    for name in value:
        if not isinstance(name, str) or not 0 < len(name) <= 64 or set(name) - _EVENT_NAME:
            raise ValidationFailed(
                "event_types are payload names such as work_item_created", field="event_types"
            )
    return sorted(set(value))


def _project_ids(uow: UnitOfWork, value: object) -> list[str]:
    """The projects named (ids or keys), each one the caller administers; none named: the
    caller must administer some project (or be a tenant admin)."""
    if not isinstance(value, list) or len(value) > MAX_FILTER_ENTRIES:
        raise ValidationFailed(
            f"project_ids must be a list of at most {MAX_FILTER_ENTRIES} ids", field="project_ids"
        )
    ids = sorted({require_project(uow, ref, Role.ADMIN) for ref in value})
    if (
        not ids
        and not uow.ctx.is_tenant_admin
        and not uow.members.admin_project_ids_of(uow.ctx.user_id)
    ):
        raise Forbidden("webhooks are managed by project admins")
    return ids


def _manageable(scope: Scope, hook: Webhook) -> bool:
    if scope.ctx.is_tenant_admin:
        return True
    named: list[str] = json.loads(hook.project_ids)
    if not named:
        return hook.created_by == scope.ctx.user_id
    return all(project_role(scope, project_id) is Role.ADMIN for project_id in named)


def _managed_webhook(scope: Scope, webhook_id: object) -> Webhook:
    if not isinstance(webhook_id, str) or not webhook_id:
        raise ValidationFailed("webhook_id is required", field="webhook_id")
    hook = scope.webhooks.get(webhook_id)
    if hook is None or hook.deleted_at is not None or not _manageable(scope, hook):
        raise NotFound("webhook not found", field="webhook_id")
    return hook


def _changed(uow: UnitOfWork, name: str, hook: Webhook) -> Event:
    return uow.emit(name, TENANT_WIDE, {"webhook": webhook_view(hook)})


def create_webhook(
    uow: UnitOfWork,
    *,
    url: str,
    project_ids: list[str] | None = None,
    event_types: list[str] | None = None,
) -> Outcome:
    """A new subscription, delivering events committed after it; the answer carries its
    secret, shown this once."""
    target = checked_url(url, uow.settings.webhook_allowed_networks)
    projects = _project_ids(uow, project_ids or [])
    hook = Webhook(
        id=new_id(),
        url=target,
        secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        project_ids=json.dumps(projects),
        event_types=json.dumps(_event_types(event_types or [])),
        creator_is_tenant_admin=uow.ctx.is_tenant_admin,
        cursor_seq=uow.feed.current_seq(),
        **uow.stamps(),
    )
    uow.webhooks.add(hook)
    event = _changed(uow, "webhook_created", hook)
    return Outcome("webhook_created", {**event.payload, "secret": hook.secret}, event.seq)


def update_webhook(
    uow: UnitOfWork,
    *,
    webhook_id: str,
    url: str,
    project_ids: list[str],
    event_types: list[str],
    active: bool,
) -> Outcome:
    """Replace the subscription's settings. Turning it back on clears its run of failures and
    the reason it was turned off; it goes on from where it stopped."""
    hook = _managed_webhook(uow, webhook_id)
    wanted: dict[str, Any] = {
        "url": checked_url(url, uow.settings.webhook_allowed_networks),
        "project_ids": json.dumps(_project_ids(uow, project_ids)),
        "event_types": json.dumps(_event_types(event_types)),
        "active": bool(active),
    }
    if wanted["active"] and not hook.active:
        wanted |= {"consecutive_failures": 0, "disabled_reason": None}
    changed = {name: new for name, new in wanted.items() if getattr(hook, name) != new}
    if not changed:
        return Outcome("webhook_updated", {"webhook": webhook_view(hook)})
    for name, new in changed.items():
        setattr(hook, name, new)
    hook.version += 1
    hook.updated_at, hook.updated_by = uow.now, uow.ctx.user_id
    uow.webhooks.add(hook)
    return uow.respond(_changed(uow, "webhook_updated", hook))


def delete_webhook(uow: UnitOfWork, *, webhook_id: str) -> Outcome:
    hook = _managed_webhook(uow, webhook_id)
    hook.deleted_at = uow.now
    hook.updated_at, hook.updated_by = uow.now, uow.ctx.user_id
    uow.webhooks.add(hook)
    event = uow.emit("webhook_deleted", TENANT_WIDE, {"webhook_id": hook.id})
    return uow.respond(event)


def list_webhooks(read: Reader) -> list[WebhookView]:
    """The webhooks the caller manages (never their secrets)."""
    return [webhook_view(hook) for hook in read.webhooks.live() if _manageable(read, hook)]


def get_webhook_deliveries(read: Reader, *, webhook_id: str) -> WebhookDeliveries:
    """The latest attempts (at most ``DELIVERY_LOG``), newest first."""
    hook = _managed_webhook(read, webhook_id)
    rows = read.webhooks.attempts(hook.id, DELIVERY_LOG)
    return {"webhook_id": hook.id, "deliveries": [delivery_view(row) for row in rows]}


# -- the deliverer's records ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What one delivery loop needs of its webhook, read with the events it is due."""

    webhook_id: str
    url: str
    secret: str
    events: list[Event]  # due, in seq order


def active_webhook_ids(repos: Repositories) -> list[str]:
    return [hook.id for hook in repos.webhooks.live() if hook.active]


def due_deliveries(repos: Repositories, *, webhook_id: str, limit: int) -> Target | None:
    """The webhook's next events (after its cursor, of the projects and types it covers), or
    None when it is gone or turned off."""
    hook = repos.webhooks.get(webhook_id)
    if hook is None or hook.deleted_at is not None or not hook.active:
        return None
    rows = repos.feed.matching_after(
        hook.cursor_seq, _covered_projects(repos, hook), json.loads(hook.event_types), limit
    )
    return Target(hook.id, hook.url, hook.secret, [to_event(row) for row in rows])


def _covered_projects(repos: Repositories, hook: Webhook) -> list[str]:
    if hook.creator_is_tenant_admin:
        live = repos.items.live_project_ids()
        named = set(json.loads(hook.project_ids))
        return [p for p in live if p in named] if named else live
    administered = repos.members.admin_project_ids_of(hook.created_by)
    named = set(json.loads(hook.project_ids))
    return [p for p in administered if p in named] if named else administered


@dataclass(frozen=True)
class Attempt:
    seq: int
    event_id: str
    attempt: int  # 1 for the first try of this event
    outcome: str  # delivered | failed | refused
    status_code: int | None
    error: str | None
    duration_ms: int
    at: int


def record_attempts(
    repos: Repositories, *, webhook_id: str, attempts: Sequence[Attempt], disable_after: int
) -> bool:
    """Log attempts, in the order they were made; a delivery moves the cursor past its event
    and ends the run of failures, a failure lengthens it and, at ``disable_after``, turns the
    webhook off saying why. Whether the webhook is still on."""
    hook = repos.webhooks.get(webhook_id)
    if hook is None or hook.deleted_at is not None:
        return False
    repos.webhooks.log_attempts(
        [
            {"webhook_id": webhook_id, **vars(attempt), "error": _clipped(attempt.error)}
            for attempt in attempts
        ],
        keep=DELIVERY_LOG,
    )
    for attempt in attempts:
        if attempt.outcome == "delivered":
            hook.cursor_seq = max(hook.cursor_seq, attempt.seq)
            hook.consecutive_failures = 0
            continue
        hook.consecutive_failures += 1
        if hook.consecutive_failures >= disable_after and hook.active:
            hook.active = False
            hook.disabled_reason = (
                f"turned off after {hook.consecutive_failures} failed attempts in a row;"
                f" the last: {_clipped(attempt.error)}"
            )
    repos.webhooks.add(hook)
    return hook.active


def _clipped(text: str | None) -> str | None:
    return None if text is None else text[:400]


def webhook_rows_of(repos: Repositories) -> list[WebhookView]:
    """Every live webhook, for the operator's ``pm tenants webhooks``."""
    return [webhook_view(hook) for hook in repos.webhooks.live()]
