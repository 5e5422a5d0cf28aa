"""SQLModel tables of DOMAIN.md, one tenant file each.

Instants are stored as int64 Unix milliseconds (the wire format), calendar dates as ISO strings.
Soft-deleted rows keep ``deleted_at``; partial unique indexes apply only to live rows. The
metadata's naming convention gives every constraint a stable name for Alembic batch migrations.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, text
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

LIVE = text("deleted_at IS NULL")


class Audited(SQLModel):
    """Who made and last changed a row, and when (ms)."""

    created_at: int
    created_by: str
    updated_at: int
    updated_by: str


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    created_at: int
    last_seen_at: int


class WorkItem(Audited, table=True):
    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_children", "parent_id", "position"),
        Index("ix_work_items_project", "project_id", "deleted_at"),
        Index("ix_work_items_sprint", "sprint_id"),
        Index("ix_work_items_assignee", "assignee_id"),
        Index("uq_work_items_key", "key", unique=True),
        Index("ix_work_items_number", "project_id", "number"),
        Index("ix_work_items_due", "project_id", "due_date"),
    )

    id: str = Field(primary_key=True, max_length=36)
    item_type: str = Field(max_length=16)
    project_id: str = Field(max_length=36)
    parent_id: str | None = Field(default=None, foreign_key="work_items.id", max_length=36)
    title: str = Field(max_length=200)
    description: str = ""
    status: str = Field(default="backlog", max_length=16)
    priority: str = Field(default="medium", max_length=16)
    assignee_id: str | None = Field(default=None, foreign_key="users.id", max_length=255)
    story_points: int | None = None
    sprint_id: str | None = Field(default=None, foreign_key="sprints.id", max_length=36)
    position: str = Field(max_length=64)
    version: int = 1
    deleted_at: int | None = None
    # A project's own key (APO), or an item's (APO-12) with its number in the project's
    # sequence (0 for a project). Set once, at creation; never changed, never reused.
    key: str = Field(default="", max_length=24, sa_column_kwargs={"server_default": ""})
    number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    start_date: str | None = Field(default=None, max_length=10)  # YYYY-MM-DD
    due_date: str | None = Field(default=None, max_length=10)  # not before start_date


class Label(Audited, table=True):
    """A project's label (DOMAIN.md "Everyday fields"); ``name_key`` is the name casefolded, so
    names are unique per project whatever their case."""

    __tablename__ = "labels"
    __table_args__ = (
        Index("uq_labels_live_name", "project_id", "name_key", unique=True, sqlite_where=LIVE),
    )

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(max_length=36)
    name: str = Field(max_length=50)
    name_key: str = Field(max_length=50)
    colour: str = Field(max_length=7)  # #rrggbb
    version: int = 1
    deleted_at: int | None = None


class ItemLabel(SQLModel, table=True):
    """One label on one item; the (label, item) index makes a label filter an index range.
    The foreign keys also order a tenant export after the rows they name, so an import's
    triggers find them."""

    __tablename__ = "item_labels"
    __table_args__ = (Index("ix_item_labels_label", "label_id", "item_id"),)

    item_id: str = Field(primary_key=True, foreign_key="work_items.id", max_length=36)
    label_id: str = Field(primary_key=True, foreign_key="labels.id", max_length=36)


class CustomField(Audited, table=True):
    """A project's typed field (``field_type`` one of pm.domain.custom_fields.FieldType);
    ``options`` a JSON list of the choices of a select or multi_select."""

    __tablename__ = "custom_fields"
    __table_args__ = (
        Index(
            "uq_custom_fields_live_name", "project_id", "name_key", unique=True, sqlite_where=LIVE
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(max_length=36)
    name: str = Field(max_length=50)
    name_key: str = Field(max_length=50)
    field_type: str = Field(max_length=16)
    options: str = "[]"
    required: bool = False
    version: int = 1
    deleted_at: int | None = None


class ItemFieldValue(SQLModel, table=True):
    """A custom field's value on an item, entity-attribute-value: numbers in ``value_number``,
    everything else in ``value_text`` (a date as YYYY-MM-DD, so ranges compare as text), one
    row per chosen option of a multi_select. ``searchable`` rows (text fields) are in the
    full-text index (triggers of migration 0006)."""

    __tablename__ = "item_field_values"
    __table_args__ = (
        Index("ix_item_field_values_item", "item_id", "field_id"),
        Index("ix_item_field_values_text", "field_id", "value_text"),
        Index("ix_item_field_values_number", "field_id", "value_number"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    item_id: str = Field(foreign_key="work_items.id", max_length=36)
    field_id: str = Field(foreign_key="custom_fields.id", max_length=36)
    value_text: str | None = None
    value_number: float | None = None
    searchable: bool = False


class SavedView(Audited, table=True):
    """A named search of one project (``filters``: the JSON of a SearchWorkItems spec), private
    to its owner or shared with the project."""

    __tablename__ = "saved_views"
    __table_args__ = (Index("ix_saved_views_project", "project_id", "owner_id"),)

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(max_length=36)
    owner_id: str = Field(max_length=255)
    name: str = Field(max_length=100)
    filters: str = "{}"
    group_by: str = Field(default="", max_length=64)
    sort: str = Field(default="", max_length=64)
    shared: bool = False
    version: int = 1
    deleted_at: int | None = None


class Sprint(Audited, table=True):
    __tablename__ = "sprints"
    __table_args__ = (
        Index("ix_sprints_project", "project_id", "status"),
        Index(
            "uq_sprints_one_active",
            "project_id",
            unique=True,
            sqlite_where=text("status = 'active' AND deleted_at IS NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    # No foreign key: work_items.sprint_id already refers here, and a cycle would leave Alembic
    # unable to order the tables. The service layer checks the project exists.
    project_id: str = Field(max_length=36)
    name: str = Field(max_length=100)
    goal: str = ""
    start_date: str | None = Field(default=None, max_length=10)
    end_date: str | None = Field(default=None, max_length=10)
    status: str = Field(default="planned", max_length=16)
    velocity: int | None = None
    committed_points: int | None = None
    started_at: int | None = None
    completed_at: int | None = None
    version: int = 1
    deleted_at: int | None = None


class Comment(Audited, table=True):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_item", "work_item_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    work_item_id: str = Field(foreign_key="work_items.id", max_length=36)
    project_id: str = Field(max_length=36)
    parent_comment_id: str | None = Field(default=None, foreign_key="comments.id", max_length=36)
    content: str
    version: int = 1
    deleted_at: int | None = None


class TimeEntry(Audited, table=True):
    __tablename__ = "time_entries"
    __table_args__ = (
        Index("ix_time_entries_item", "work_item_id"),
        Index(
            "uq_time_entries_one_running",
            "user_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL AND deleted_at IS NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    work_item_id: str = Field(foreign_key="work_items.id", max_length=36)
    project_id: str = Field(max_length=36)
    user_id: str = Field(foreign_key="users.id", max_length=255)
    started_at: int
    ended_at: int | None = None
    duration_seconds: int | None = None
    description: str = ""
    version: int = 1
    deleted_at: int | None = None


class Dependency(Audited, table=True):
    __tablename__ = "dependencies"
    __table_args__ = (
        Index(
            "uq_dependencies_live_pair",
            "blocking_item_id",
            "blocked_item_id",
            unique=True,
            sqlite_where=LIVE,
        ),
        Index("ix_dependencies_blocked", "blocked_item_id"),
        Index("ix_dependencies_project", "project_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    blocking_item_id: str = Field(foreign_key="work_items.id", max_length=36)
    blocked_item_id: str = Field(foreign_key="work_items.id", max_length=36)
    project_id: str = Field(max_length=36)
    dependency_type: str = Field(default="blocks", max_length=16)
    deleted_at: int | None = None


class SwimLane(Audited, table=True):
    __tablename__ = "swim_lanes"
    __table_args__ = (
        Index(
            "uq_swim_lanes_live_status",
            "project_id",
            "status_value",
            unique=True,
            sqlite_where=LIVE,
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="work_items.id", max_length=36)
    name: str = Field(max_length=100)
    status_value: str = Field(max_length=16)
    position: str = Field(max_length=64)
    is_default: bool = False
    version: int = 1
    deleted_at: int | None = None


class WorkflowState(Audited, table=True):
    """One of a project's own workflow states (DOMAIN.md "Everyday fields"): items carry its
    ``key`` in ``status``. Keys are unique per project over deleted states too, so a key in an
    item's history names one state forever."""

    __tablename__ = "workflow_states"
    __table_args__ = (Index("uq_workflow_states_key", "project_id", "key", unique=True),)

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="work_items.id", max_length=36)
    key: str = Field(max_length=16)  # as long as work_items.status
    name: str = Field(max_length=50)
    colour: str = Field(max_length=7)  # #rrggbb
    category: str = Field(max_length=16)
    position: str = Field(max_length=64)
    version: int = 1
    deleted_at: int | None = None


class ProjectMember(Audited, table=True):
    """One row per user and project; removal soft-deletes, re-adding revives the same row."""

    __tablename__ = "project_members"
    __table_args__ = (
        Index("uq_project_members_pair", "project_id", "user_id", unique=True),
        Index("ix_project_members_user", "user_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="work_items.id", max_length=36)
    user_id: str = Field(foreign_key="users.id", max_length=255)
    role: str = Field(max_length=16)
    version: int = 1
    deleted_at: int | None = None


class ActivityLog(SQLModel, table=True):
    __tablename__ = "activity_log"
    __table_args__ = (
        Index("ix_activity_entity", "entity_id", "id"),
        Index("ix_activity_project", "project_id", "id"),
        Index("ix_activity_user", "user_id", "id"),
        # Cycle and lead time: the status changes of a project's items, by value and instant.
        Index(
            "ix_activity_item_status",
            "project_id",
            "new_value",
            "at",
            "entity_id",
            sqlite_where=text("field_name = 'status' AND entity_type = 'work_item'"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=36)
    project_id: str | None = Field(default=None, max_length=36)
    action: str = Field(max_length=32)
    field_name: str | None = Field(default=None, max_length=64)
    old_value: str | None = None
    new_value: str | None = None
    user_id: str = Field(max_length=255)
    version: int | None = None
    seq: int | None = None
    at: int


class LlmContext(SQLModel, table=True):
    __tablename__ = "llm_context"
    __table_args__ = (Index("ix_llm_context_type", "context_type", "priority"),)

    id: str = Field(primary_key=True, max_length=36)
    context_type: str = Field(max_length=32)
    category: str = Field(max_length=64)
    title: str = Field(max_length=200)
    content: str
    priority: int = 0
    created_at: int
    updated_at: int


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    user_id: str = Field(primary_key=True, max_length=255)
    message_id: str = Field(primary_key=True, max_length=128)
    operation: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    response: str
    created_at: int


class ChangeEvent(SQLModel, table=True):
    """The outbox: one row per committed event, keyed by the tenant's gap-free ``seq``."""

    __tablename__ = "change_feed"
    __table_args__ = (
        Index("ix_change_feed_project", "project_id", "seq"),
        Index("ix_change_feed_at", "at"),
        {"sqlite_autoincrement": True},
    )

    seq: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    event_id: str = Field(max_length=36)
    project_id: str = Field(max_length=36)
    payload_name: str = Field(max_length=64)
    payload: str
    actor_id: str = Field(max_length=255)
    at: int


class FeedEpoch(SQLModel, table=True):
    """One row each time the tenant's history was replaced (a restore, a copy put in service):
    its change feed goes on above ``base_seq``, and a seq a client holds from below it belongs
    to another history (it is answered RESYNC_REQUIRED). No row: the first epoch, base 0."""

    __tablename__ = "feed_epochs"

    epoch: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    base_seq: int
    started_at: int
    reason: str = Field(max_length=32)


class SearchDocument(SQLModel, table=True):
    """One row of the full-text index (``search_index``, FTS5): a live item's title and
    description, or one live comment on a live item. ``doc_id`` is the index row's rowid;
    triggers of migration 0002 keep both in the transaction of every change."""

    __tablename__ = "search_documents"
    __table_args__ = (
        Index("uq_search_documents_source", "source_id", unique=True),
        Index("ix_search_documents_item", "work_item_id"),
    )

    doc_id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    source_id: str = Field(max_length=36)  # the item's id, or the comment's
    work_item_id: str = Field(max_length=36)


class Webhook(Audited, table=True):
    """A subscription of an outside receiver to the change feed (DOMAIN.md "Webhook")."""

    __tablename__ = "webhooks"

    id: str = Field(primary_key=True, max_length=36)
    url: str = Field(max_length=2048)
    secret: str = Field(max_length=128)
    project_ids: str = "[]"  # JSON list; empty: every project the creator administers
    event_types: str = "[]"  # JSON list of payload names; empty: every event
    creator_is_tenant_admin: bool = False
    active: bool = True
    disabled_reason: str | None = None
    consecutive_failures: int = 0
    cursor_seq: int = 0  # the last seq delivered (or skipped by the filter)
    version: int = 1
    deleted_at: int | None = None


class WebhookDelivery(SQLModel, table=True):
    """One delivery attempt; the last ``DELIVERY_LOG`` of each webhook are kept."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    webhook_id: str = Field(foreign_key="webhooks.id", max_length=36)
    event_id: str = Field(max_length=36)
    seq: int
    attempt: int
    outcome: str = Field(max_length=16)  # delivered | failed | refused
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int
    at: int


class Watcher(SQLModel, table=True):
    """A user who watches an item: told of its comments and status changes (DOMAIN.md
    "Mentions and notifications"). The creator and the assignee watch automatically."""

    __tablename__ = "watchers"
    __table_args__ = (Index("ix_watchers_user", "user_id"),)

    work_item_id: str = Field(primary_key=True, foreign_key="work_items.id", max_length=36)
    user_id: str = Field(primary_key=True, foreign_key="users.id", max_length=255)
    project_id: str = Field(max_length=36)
    created_at: int


class Notification(SQLModel, table=True):
    """One user's notification of one change; ``seq`` is the seq of its
    ``notification_created`` event in the user's own stream, and orders the inbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user", "user_id", "seq"),
        Index("ix_notifications_unread", "user_id", "seq", sqlite_where=text("read_at IS NULL")),
    )

    id: str = Field(primary_key=True, max_length=36)
    user_id: str = Field(max_length=255)
    seq: int
    reason: str = Field(max_length=16)
    project_id: str = Field(max_length=36)
    work_item_id: str = Field(max_length=36)
    work_item_key: str = Field(default="", max_length=24)
    comment_id: str | None = Field(default=None, max_length=36)
    actor_id: str = Field(max_length=255)
    title: str = Field(max_length=200)
    excerpt: str = ""
    created_at: int
    read_at: int | None = None
