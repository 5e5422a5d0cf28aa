"""The change feed: the outbox of committed events, keyed by the tenant's gap-free ``seq``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlmodel import col, select

from pm.domain.models import ChangeEvent
from pm.repositories.base import STREAM_BATCH, Repository, RowInsert, placeholders

_INSERT_EVENT = RowInsert.of(
    ChangeEvent, ["event_id", "project_id", "payload_name", "payload", "actor_id", "at"]
)
# The AUTOINCREMENT counter, not max(seq): retention prunes old rows, the counter stays.
_CURRENT_SEQ = "SELECT seq FROM sqlite_sequence WHERE name = 'change_feed'"
_OLDEST_SEQ = "SELECT min(seq) FROM change_feed"
_EPOCH_BASE = "SELECT base_seq FROM feed_epochs ORDER BY epoch DESC LIMIT 1"
_SWEEP = "DELETE FROM change_feed WHERE at < ? AND seq < ?"
_SEQS_AFTER = (
    "SELECT seq FROM change_feed WHERE seq > ? AND project_id IN ({marks}) ORDER BY seq LIMIT ?"
)


class ChangeFeedRepository(Repository):
    def append(
        self,
        *,
        event_id: str,
        project_id: str,
        payload_name: str,
        payload: str,
        actor_id: str,
        at: int,
    ) -> int:
        """Store one event; its seq (assigned inside the tenant's write lock)."""
        return self._insert(
            _INSERT_EVENT,
            {
                "event_id": event_id,
                "project_id": project_id,
                "payload_name": payload_name,
                "payload": payload,
                "actor_id": actor_id,
                "at": at,
            },
        )

    def current_seq(self) -> int:
        """The last committed seq of the tenant (0 before the first change)."""
        seq = self._scalar(_CURRENT_SEQ)
        return 0 if seq is None else int(seq)

    def epoch_base(self) -> int:
        """The seq the current feed epoch started above (0 in the first epoch): a seq below it
        belongs to a history that was replaced (pm.tenancy.epochs)."""
        base = self._scalar(_EPOCH_BASE)
        return 0 if base is None else int(base)

    def oldest_kept_seq(self) -> int | None:
        seq = self._scalar(_OLDEST_SEQ)
        return None if seq is None else int(seq)

    def after(
        self, since_seq: int, project_ids: Sequence[str], limit: int
    ) -> Iterator[ChangeEvent]:
        """Events of these projects after ``since_seq``, in order, read a few at a time as
        they are taken: their seqs first (from the (project, seq) index alone), then the
        events of those seqs, so no payload is read that the answer does not hold."""
        if not project_ids:
            return
        sql = _SEQS_AFTER.format(marks=placeholders(len(project_ids)))
        seqs = self._column(sql, (since_seq, *project_ids, limit))
        for start in range(0, len(seqs), STREAM_BATCH):
            batch = seqs[start : start + STREAM_BATCH]
            query = select(ChangeEvent).where(col(ChangeEvent.seq).in_(batch))
            yield from self._session.exec(query.order_by(col(ChangeEvent.seq)))

    def matching_after(
        self,
        since_seq: int,
        project_ids: Sequence[str],
        payload_names: Sequence[str],
        limit: int,
    ) -> list[ChangeEvent]:
        """Events of these projects after ``since_seq``, in order; of these payload names only,
        unless none are given."""
        query = select(ChangeEvent).where(
            col(ChangeEvent.seq) > since_seq, col(ChangeEvent.project_id).in_(project_ids)
        )
        if payload_names:
            query = query.where(col(ChangeEvent.payload_name).in_(payload_names))
        return list(self._session.exec(query.order_by(col(ChangeEvent.seq)).limit(limit)).all())

    def every_after(self, since_seq: int, limit: int) -> list[ChangeEvent]:
        """Every project's events after ``since_seq``, in order (the bus fills gaps with them)."""
        return list(
            self._session.exec(
                select(ChangeEvent)
                .where(col(ChangeEvent.seq) > since_seq)
                .order_by(col(ChangeEvent.seq))
                .limit(limit)
            ).all()
        )

    def sweep(self, *, older_than: int, keeping_from_seq: int) -> int:
        """Delete events before the instant ``older_than``, sparing seq ``keeping_from_seq`` and
        later; how many went."""
        return self._execute(_SWEEP, (older_than, keeping_from_seq))
