"""One tenant's events, delivered exactly once and in ``seq`` order, whatever order they arrive in.

Events reach a process from its own commits (at once) and from Redis (other processes' commits,
and its own echoed back). Two processes commit seq 5 and 6 one after the other, but their
publishes race to Redis, so 6 may arrive first; a process killed between commit and publish
never publishes at all. A ``TenantSequence`` therefore:

- drops what it already delivered (the echo, a repeat) by ``seq``;
- holds what arrives early and releases it the moment the missing seq arrives;
- when a gap outlasts ``gap_wait``, reads the change feed after the last delivered seq: the feed
  is the truth (the event of a commit is stored in its transaction, and seq 6 committed means
  every seq below it did), so what it returns is delivered in order and the gap is closed.

It starts "pending" until its baseline (the tenant's seq when the process began listening) is
known; what arrives before that is held, and whatever the baseline covers is dropped, since a
subscriber's own floor (its Subscribe's ``current_seq``) is never below the baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from pm.domain.events import Event
from pm.observability import metrics

log = logging.getLogger(__name__)

Deliver = Callable[[Event], None]
ReadFeed = Callable[[int], Awaitable[list[Event]]]  # events after a seq, oldest first, one page
GiveUp = Callable[[], None]


class TenantSequence:
    def __init__(
        self,
        deliver: Deliver,
        read_feed: ReadFeed,
        give_up: GiveUp,
        *,
        gap_wait: float,
        max_held: int,
    ) -> None:
        self._deliver = deliver
        self._read_feed = read_feed
        self._give_up = give_up
        self._gap_wait = gap_wait
        self._max_held = max_held
        self.delivered: int | None = None  # None while the baseline is unknown
        self._known = 0  # the highest seq known to be committed
        self._held: dict[int, Event] = {}
        self._filler: asyncio.Task[None] | None = None

    def start_at(self, baseline: int) -> None:
        """The baseline is known (first listen, or listening again after an outage): events at
        or below it are the feed's business, later ones follow from here."""
        self.delivered = baseline
        self._held = {seq: event for seq, event in self._held.items() if seq > baseline}
        self._release()

    def offer(self, event: Event) -> None:
        """An event from anywhere; delivered now, held, or dropped as already delivered."""
        if self.delivered is not None and event.seq <= self.delivered:
            return
        self._known = max(self._known, event.seq)
        held = self._held.get(event.seq)
        if held is None or (held.origin is None and event.origin is not None):
            if held is not None or len(self._held) < self._max_held:
                self._held[event.seq] = event
            else:  # bounded: the feed has it, and the gap fill will read it from there
                metrics.BOUND_HITS.labels("bus_held_events").inc()
        self._release()

    def committed_up_to(self, seq: int) -> None:
        """Word that ``seq`` committed without its event (a publisher dropped it): fill from
        the feed if it is not delivered by the time the gap wait is over."""
        self._known = max(self._known, seq)
        self._watch_gap()

    def close(self) -> None:
        if self._filler is not None:
            self._filler.cancel()
            self._filler = None

    # -- internals ----------------------------------------------------------------------------

    def _release(self) -> None:
        if self.delivered is None:
            return
        while (event := self._held.pop(self.delivered + 1, None)) is not None:
            self.delivered = event.seq
            self._deliver(event)
        self._watch_gap()

    def _gap(self) -> bool:
        return self.delivered is not None and self._known > self.delivered

    def _watch_gap(self) -> None:
        if self._gap() and self._filler is None:
            self._filler = asyncio.get_running_loop().create_task(self._fill_after_wait())

    async def _fill_after_wait(self) -> None:
        try:
            await asyncio.sleep(self._gap_wait)
            while self._gap():
                await self._fill_once()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The feed could not be read: skip to what is known, and have this tenant's
            # subscribers resync from the feed themselves (GetChanges is exact).
            log.exception("bus: gap fill from the change feed failed")
            self._skip_to_known()
        finally:
            self._filler = None
        self._watch_gap()

    async def _fill_once(self) -> None:
        assert self.delivered is not None
        metrics.BUS_GAP_FILLS.inc()
        events = await self._read_feed(self.delivered)
        if not events:  # the feed holds nothing newer (swept past retention)
            self._skip_to_known()
            return
        for event in events:
            if self.delivered is not None and event.seq > self.delivered:
                # Prefer the copy that came live: it names the connection that made the change,
                # which gets the response and not the event as well.
                chosen = self._held.pop(event.seq, event)
                self.delivered = event.seq
                if chosen is event:
                    metrics.BUS_FEED_EVENTS.inc()
                self._deliver(chosen)
        self._held = {seq: e for seq, e in self._held.items() if seq > (self.delivered or 0)}
        self._release()  # a filler is running, so no second one starts

    def _skip_to_known(self) -> None:
        self.delivered = max(self.delivered or 0, self._known)
        self._held = {seq: e for seq, e in self._held.items() if seq > self.delivered}
        with contextlib.suppress(Exception):
            self._give_up()
