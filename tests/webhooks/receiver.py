"""A webhook receiver on 127.0.0.1 for the tests: a plain asyncio HTTP/1.1 server that keeps
every request it got and answers as the test says (a status, or never)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

HANG = 0  # an answer that never comes
MAX_BODY = 4 * 1024 * 1024


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    status: int  # as answered (HANG: never)

    @property
    def envelope(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    answer: Callable[[int], int]  # request number (1-based) -> status, or HANG
    port: int = 0
    got: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    handlers: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[Received]:
        """The requests answered 2xx, in arrival order."""
        return [r for r in self.got if 200 <= r.status < 300]

    async def wait_for(self, done: Callable[[Receiver], bool], timeout: float = 60) -> None:
        async with asyncio.timeout(timeout):
            while not done(self):
                self.arrived.clear()
                await self.arrived.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = min(int(headers.get("content-length", "0")), MAX_BODY)
                body = (await reader.readexactly(length)).decode()
                status = self.answer(len(self.got) + 1)
                self.got.append(Received(headers, body, status))
                self.arrived.set()
                if status == HANG:
                    await asyncio.Event().wait()
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self.handlers.discard(task)


@contextlib.asynccontextmanager
async def receiver(answer: Callable[[int], int] = lambda _n: 200) -> AsyncIterator[Receiver]:
    made = Receiver(answer)
    server = await asyncio.start_server(made._serve, "127.0.0.1", 0)
    made.port = server.sockets[0].getsockname()[1]
    try:
        yield made
    finally:
        server.close()
        for task in list(made.handlers):
            task.cancel()
        await asyncio.gather(*made.handlers, return_exceptions=True)
