"""Group commit seen from the service layer: commands queued behind a busy writer commit
together, and each is still exactly what it would be alone: a refused one writes nothing and
is answered with its code, a retried message id is answered with the first answer (one row,
one event), and the change feed holds every committed event once, its seqs without a gap."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from pm.domain.events import Event
from pm.errors import ValidationFailed
from pm.services import changes, work_items
from pm.services.kernel.runner import ServiceRunner
from tests.services.factories import ctx_for, make_project, with_message
from tests.tenancy.test_write_queue import Holder


def _batched_writes() -> float:
    return REGISTRY.get_sample_value("pm_db_write_batch_size_sum") or 0.0


async def test_queued_commands_commit_together_and_each_stays_exact(
    runner: ServiceRunner, published: list[tuple[str, Event]]
) -> None:
    ctx = ctx_for()
    project = await make_project(runner, ctx)
    holder = Holder("hold")
    held = asyncio.create_task(runner.tenants.write("acme", holder))
    await holder.wait_started()
    published.clear()
    retried = with_message(ctx, "same-message")

    def create(title: str, context: Any = ctx) -> Any:
        return runner.command(
            context,
            work_items.create_work_item,
            item_type="task",
            parent_id=project["id"],
            title=title,
        )

    before = _batched_writes()
    commands = [
        asyncio.create_task(c)
        for c in (create("one"), create("  "), create("two", retried), create("two", retried))
    ]
    commands.append(asyncio.create_task(create("three")))
    for _ in range(20):  # event-loop steps, not time: every command reaches the queue
        await asyncio.sleep(0)
    holder.release.set()
    await held
    results = await asyncio.gather(*commands, return_exceptions=True)
    assert _batched_writes() - before == len(commands)  # they shared one transaction
    refused = results[1]
    assert isinstance(refused, ValidationFailed) and refused.field == "title"
    one, first, again, three = (r for n, r in enumerate(results) if n != 1)
    assert not isinstance(one, BaseException) and not isinstance(first, BaseException)
    assert not isinstance(again, BaseException) and not isinstance(three, BaseException)
    assert again.payload == first.payload and again.seq == first.seq and again.replayed
    seqs = [one.seq, first.seq, three.seq]
    assert seqs == list(range(seqs[0], seqs[0] + 3))  # gap-free, the refused one took none
    assert [event.seq for _tenant, event in published] == seqs  # each published once

    feed = await runner.query(ctx, changes.get_changes, since_seq=seqs[0] - 1)
    titles = [e.payload["work_item"]["title"] for e in feed.events]
    assert titles == ["one", "two", "three"]
    assert [e.seq for e in feed.events] == seqs
