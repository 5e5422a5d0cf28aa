"""All SQL of the service layer, one module per aggregate (``base`` holds what they share).

``Repositories`` is what a service call gets: every repository bound to the session of its one
transaction, each made on first use. Repositories never commit; the service layer's runner does.
"""

from __future__ import annotations

from functools import cached_property

from sqlmodel import Session

from pm.repositories.activity import ActivityRepository
from pm.repositories.base import Db
from pm.repositories.changes import ChangeFeedRepository
from pm.repositories.comments import CommentRepository
from pm.repositories.custom_fields import CustomFieldRepository
from pm.repositories.dependencies import DependencyRepository
from pm.repositories.idempotency import IdempotencyRepository
from pm.repositories.labels import LabelRepository
from pm.repositories.llm_context import LlmContextRepository
from pm.repositories.members import MemberRepository
from pm.repositories.notifications import NotificationRepository, WatcherRepository
from pm.repositories.saved_views import SavedViewRepository
from pm.repositories.search import SearchRepository
from pm.repositories.sprints import SprintRepository
from pm.repositories.storage import StorageRepository
from pm.repositories.swim_lanes import SwimLaneRepository
from pm.repositories.time_entries import TimeEntryRepository
from pm.repositories.users import UserRepository
from pm.repositories.webhooks import WebhookRepository
from pm.repositories.work_items import WorkItemRepository
from pm.repositories.workflow_states import WorkflowStateRepository


class Repositories:
    def __init__(self, session: Db) -> None:
        self._session = session

    def flush(self) -> None:
        """Write pending changes now, inside the transaction (ORM reads autoflush anyway;
        plain SQL flushes first; this is for a read that must see defaults filled in)."""
        if isinstance(self._session, Session):
            self._session.flush()

    @cached_property
    def storage(self) -> StorageRepository:
        return StorageRepository(self._session)

    @cached_property
    def items(self) -> WorkItemRepository:
        return WorkItemRepository(self._session)

    @cached_property
    def members(self) -> MemberRepository:
        return MemberRepository(self._session)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self._session)

    @cached_property
    def sprints(self) -> SprintRepository:
        return SprintRepository(self._session)

    @cached_property
    def comments(self) -> CommentRepository:
        return CommentRepository(self._session)

    @cached_property
    def time_entries(self) -> TimeEntryRepository:
        return TimeEntryRepository(self._session)

    @cached_property
    def dependencies(self) -> DependencyRepository:
        return DependencyRepository(self._session)

    @cached_property
    def lanes(self) -> SwimLaneRepository:
        return SwimLaneRepository(self._session)

    @cached_property
    def activity_log(self) -> ActivityRepository:
        return ActivityRepository(self._session)

    @cached_property
    def feed(self) -> ChangeFeedRepository:
        return ChangeFeedRepository(self._session)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self._session)

    @cached_property
    def llm_context(self) -> LlmContextRepository:
        return LlmContextRepository(self._session)

    @cached_property
    def search(self) -> SearchRepository:
        return SearchRepository(self._session)

    @cached_property
    def webhooks(self) -> WebhookRepository:
        return WebhookRepository(self._session)

    @cached_property
    def states(self) -> WorkflowStateRepository:
        return WorkflowStateRepository(self._session)

    @cached_property
    def labels(self) -> LabelRepository:
        return LabelRepository(self._session)

    @cached_property
    def custom_fields(self) -> CustomFieldRepository:
        return CustomFieldRepository(self._session)

    @cached_property
    def saved_views(self) -> SavedViewRepository:
        return SavedViewRepository(self._session)

    @cached_property
    def watchers(self) -> WatcherRepository:
        return WatcherRepository(self._session)

    @cached_property
    def notifications(self) -> NotificationRepository:
        return NotificationRepository(self._session)
