"""Which node serves which tenant: the ring every node and the proxy agree on, and pins.

Each tenant is owned by exactly one node of ``PM_NODES``, chosen by consistent hashing of the
tenant id exactly as nginx's ``hash $tenant consistent`` chooses an upstream server (the ketama
scheme of Cache::Memcached::Fast, in ngx_http_upstream_hash_module.c): 160 points per server,
point ``j`` of server ``host:port`` at ``crc32(host "\\0" port prev)`` where ``prev`` is point
``j-1`` as four little-endian bytes (0 for the first); a key goes to the first point at or after
``crc32(key)``, wrapping to the first point. A node id is therefore the server's address exactly
as the proxy's upstream block writes it (``pm-a:8000``). Adding a node moves about 1/N of the
tenants, and only to the new node.

A pin overrides the ring for one tenant (``pm tenants move``). A node asked for a tenant it does
not own refuses before any path is built (``WrongNode``: HTTP 421 with the owner), so a
misrouted request never creates a stray tenant file.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Sequence

from pm.errors import WrongNode

POINTS_PER_SERVER = 160


class HashRing:
    def __init__(self, nodes: Sequence[str]) -> None:
        points: dict[int, str] = {}
        for node in nodes:
            base = _host_and_port(node)
            previous = 0
            for _ in range(POINTS_PER_SERVER):
                point = zlib.crc32(base + previous.to_bytes(4, "little"))
                points.setdefault(point, node)  # nginx keeps one server per point
                previous = point
        self._hashes = sorted(points)
        self._nodes = [points[h] for h in self._hashes]

    def owner(self, key: str) -> str:
        index = bisect.bisect_left(self._hashes, zlib.crc32(key.encode()))
        return self._nodes[index % len(self._nodes)]


def _host_and_port(server: str) -> bytes:
    """``host "\\0" port`` as nginx splits a server address (port: the digits after the last
    colon; none when there is no such tail)."""
    host, colon, port = server.rpartition(":")
    if not colon or not port.isdigit():
        host, port = server, ""
    return host.encode() + b"\0" + port.encode()


class Placement:
    """This node's view of the cluster; with no ``PM_NODES`` every tenant is served here."""

    def __init__(self, node_id: str | None = None, nodes: Sequence[str] = ()) -> None:
        self.node_id = node_id
        self.nodes = tuple(nodes)
        self._ring = HashRing(self.nodes) if self.nodes else None
        self._pins: dict[str, str] = {}

    @property
    def clustered(self) -> bool:
        return self._ring is not None

    def owner(self, tenant_id: str) -> str | None:
        if self._ring is None:
            return None
        return self._pins.get(tenant_id) or self._ring.owner(tenant_id)

    def require_here(self, tenant_id: str) -> None:
        owner = self.owner(tenant_id)
        if owner is not None and owner != self.node_id:
            raise WrongNode(tenant_id, owner)

    def pin(self, tenant_id: str, node: str | None) -> None:
        """Serve ``tenant_id`` from ``node`` whatever the ring says (None: the ring again)."""
        if node is None or node == (self._ring.owner(tenant_id) if self._ring else None):
            self._pins.pop(tenant_id, None)
        else:
            self._pins[tenant_id] = node

    def pins(self) -> dict[str, str]:
        return dict(self._pins)
