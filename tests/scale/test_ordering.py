"""TenantSequence (pm.bus.ordering) against a real tenant's change feed: whatever order events
arrive in, repeated or missing, its subscriber gets each exactly once and in seq order."""

from __future__ import annotations

import asyncio
import random

from pm.bus.memory import MemoryBus
from pm.bus.ordering import TenantSequence
from pm.domain.events import Event
from pm.services import work_items
from pm.services.feed import ChangeFeedReader
from pm.services.kernel.runner import ServiceRunner
from pm.tenancy.manager import TenantConnectionManager
from tests.services.factories import ctx_for

EVENTS = 40


async def _committed_events(manager: TenantConnectionManager) -> list[Event]:
    """Real commits: a project and its tasks, as the bus was handed them."""
    bus = MemoryBus()
    published: list[Event] = []
    bus.subscribe(lambda _tenant, event: published.append(event))
    runner = ServiceRunner(manager, bus)
    ctx = ctx_for("alice", roles=("admin",))
    project = await runner.command(ctx, work_items.create_work_item, item_type="project", title="P")
    for n in range(EVENTS - 1):
        await runner.command(
            ctx,
            work_items.create_work_item,
            item_type="task",
            parent_id=project.payload["work_item"]["id"],
            title=f"t{n}",
        )
    return published


def _sequence(
    manager: TenantConnectionManager, delivered: list[Event], gave_up: list[bool]
) -> TenantSequence:
    feed = ChangeFeedReader(manager)

    async def read(after: int) -> list[Event]:
        return await feed.events_after("acme", after, 7)  # small pages: several reads

    return TenantSequence(
        delivered.append, read, lambda: gave_up.append(True), gap_wait=0.05, max_held=5
    )


async def _until(condition: object) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), 30)


async def test_scrambled_repeated_and_missing_events_arrive_once_in_order(
    manager: TenantConnectionManager,
) -> None:
    events = await _committed_events(manager)
    assert [e.seq for e in events] == list(range(1, EVENTS + 1))
    delivered: list[Event] = []
    gave_up: list[bool] = []
    sequence = _sequence(manager, delivered, gave_up)
    sequence.start_at(0)
    rng = random.Random(11)
    arriving = [e for e in events if e.seq % 9 != 0]  # every ninth never published
    arriving += rng.sample(arriving, 10)  # echoes and repeats
    rng.shuffle(arriving)
    for event in arriving:
        sequence.offer(event)
    await _until(lambda: len(delivered) == EVENTS)
    assert [e.seq for e in delivered] == list(range(1, EVENTS + 1))
    assert [e.event_id for e in delivered] == [e.event_id for e in events]
    assert not gave_up
    sequence.close()


async def test_what_arrives_before_the_baseline_is_held_and_the_baseline_drops_old_ones(
    manager: TenantConnectionManager,
) -> None:
    events = await _committed_events(manager)
    delivered: list[Event] = []
    sequence = _sequence(manager, delivered, [])
    for event in reversed(events[:12]):
        sequence.offer(event)
    assert delivered == []  # pending: the baseline is not known yet
    sequence.start_at(8)
    assert [e.seq for e in delivered] == [9, 10, 11, 12]
    sequence.offer(events[3])  # at or below what was delivered: dropped
    sequence.offer(events[12])
    assert [e.seq for e in delivered] == [9, 10, 11, 12, 13]
    sequence.close()


async def test_a_gap_is_filled_from_the_feed_and_live_copies_keep_their_origin(
    manager: TenantConnectionManager,
) -> None:
    events = await _committed_events(manager)
    delivered: list[Event] = []
    sequence = _sequence(manager, delivered, [])
    sequence.start_at(0)
    live = Event(**{**events[5].__dict__, "origin": "connection-1"})
    sequence.offer(live)  # seq 6 arrives alone; 1..5 never do
    await _until(lambda: len(delivered) >= 6)
    assert [e.seq for e in delivered[:6]] == [1, 2, 3, 4, 5, 6]
    assert delivered[5].origin == "connection-1"  # the held live copy, not the feed's
    assert all(e.origin is None for e in delivered[:5])
    sequence.close()


async def test_word_of_a_dropped_publish_fills_from_the_feed_without_any_event(
    manager: TenantConnectionManager,
) -> None:
    events = await _committed_events(manager)
    delivered: list[Event] = []
    sequence = _sequence(manager, delivered, [])
    sequence.start_at(30)
    sequence.committed_up_to(EVENTS)
    await _until(lambda: len(delivered) == EVENTS - 30)
    assert [e.seq for e in delivered] == list(range(31, EVENTS + 1))
    assert [e.payload for e in delivered] == [e.payload for e in events[30:]]
    sequence.close()
