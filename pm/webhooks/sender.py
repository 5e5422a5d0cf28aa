"""One delivery attempt: a POST of the signed envelope to the pinned address, with every wait
bounded (connect, each read, the whole attempt), no redirect followed, and at most
``max_response_bytes`` of the answer read (a receiver can't make pm hold its answer)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from pm.webhooks.targets import Pinned


@dataclass(frozen=True)
class Sent:
    status_code: int | None
    error: str | None  # None when the receiver answered 2xx
    seconds: float


async def post(
    client: httpx.AsyncClient,
    target: Pinned,
    body: str,
    headers: dict[str, str],
    *,
    seconds: float,
    max_response_bytes: int,
) -> Sent:
    """POST ``body``; the answer's status, or why there was none, within ``seconds``."""
    started = time.perf_counter()
    extensions = {"sni_hostname": target.server_name} if target.server_name else {}
    request = client.build_request(
        "POST",
        target.url,
        content=body.encode(),
        headers={**headers, "host": target.host_header, "content-type": "application/json"},
        extensions=extensions,
    )
    try:
        async with asyncio.timeout(seconds):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                await _read_some(response, max_response_bytes)
            finally:
                await response.aclose()
    except TimeoutError:
        return Sent(None, f"no answer within {seconds:g} s", time.perf_counter() - started)
    except httpx.HTTPError as exc:
        return Sent(None, f"{type(exc).__name__}: {exc}"[:300], time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if 200 <= response.status_code < 300:
        return Sent(response.status_code, None, seconds)
    return Sent(response.status_code, f"answered {response.status_code}", seconds)


async def _read_some(response: httpx.Response, limit: int) -> None:
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read >= limit:
            return
