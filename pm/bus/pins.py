"""Tenants pinned to a node other than the ring's choice (``pm tenants move``), kept in Redis
(the hash ``pm:placement``, tenant -> node, so Redis must persist it: appendonly in the cluster
compose file) and announced on the control channel so that every node applies a pin at once."""

from __future__ import annotations

import json
from collections.abc import Callable

from redis.asyncio import Redis

PLACEMENT_KEY = "pm:placement"
CONTROL_CHANNEL = "pm:control"  # always subscribed by every RedisBus

Pin = Callable[[str, str | None], None]  # (tenant, node or None for "the ring again")


def placement_message(tenant_id: str, node: str | None) -> str:
    return json.dumps({"k": "placement", "tenant": tenant_id, "node": node})


async def set_pin(url: str, tenant_id: str, node: str | None) -> None:
    """Record the pin and tell every node (None removes it: the ring decides again)."""
    client = Redis.from_url(url)
    try:
        async with client.pipeline(transaction=True) as pipe:
            if node is None:
                pipe.hdel(PLACEMENT_KEY, tenant_id)
            else:
                pipe.hset(PLACEMENT_KEY, tenant_id, node)
            pipe.publish(CONTROL_CHANNEL, placement_message(tenant_id, node))
            await pipe.execute()
    finally:
        await client.aclose()


async def load_pins(client: Redis) -> dict[str, str]:
    raw = await client.hgetall(PLACEMENT_KEY)
    return {_text(tenant): _text(node) for tenant, node in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
