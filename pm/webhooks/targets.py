"""Where a delivery may go: the target's host resolved, every address it resolves to checked
against the address rule (pm.services.webhooks.address_refusal), and the connection pinned to
the address that was checked, so a name that resolves differently a moment later (DNS
rebinding) can't move the request elsewhere. Redirects are never followed (pm.webhooks.sender).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pm.services.webhooks import address_refusal


class TargetRefused(Exception):
    """The target can't be reached safely (or at all); the message says why."""


@dataclass(frozen=True)
class Pinned:
    """A URL's request, aimed at one checked address."""

    url: str  # the target URL with the address in place of the host
    host_header: str  # the host (and port) the receiver expects
    server_name: str | None  # TLS: the name the certificate must carry


async def pin(url: str, allowed_networks: Sequence[str], *, seconds: float) -> Pinned:
    """Resolve ``url``'s host (within ``seconds``) and check every address; refuse if any is
    refused."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await _resolve(host, port, seconds)
    for address in addresses:
        refusal = address_refusal(address, allowed_networks)
        if refusal is not None:
            raise TargetRefused(f"{host} resolves to {refusal}")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{port}"
    target = parts._replace(netloc=netloc).geturl()
    default_port = port == (443 if parts.scheme == "https" else 80)
    host_header = host if default_port else f"{host}:{port}"
    return Pinned(target, host_header, host if parts.scheme == "https" else None)


async def _resolve(
    host: str, port: int, seconds: float
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(seconds):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise TargetRefused(f"{host} does not resolve ({type(exc).__name__})") from None
    found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not found:
        raise TargetRefused(f"{host} does not resolve")
    return found
