"""The operator's door into running pm processes: a Unix socket per process, in the data folder.

Every pm process serving a data folder listens on ``<run dir>/<pid>-<random>.sock`` (the run
dir is ``<data dir>/run`` unless PM_RUN_DIR says otherwise; 0700, sockets 0600: whoever may
reach the tenant files may ask, nobody else). ``pm tenants evict`` (and ``restore`` and
``delete``, which evict before they swap or remove a file) asks each of them in turn, so every
worker of ``pm serve --workers N`` is reached, not whichever one a TCP connection lands on.

One JSON line in, one JSON line out:

    {"op": "evict", "tenant": "acme"}  ->  {"ok": true, "pid": 4242, "was_open": true}
    {"op": "ping"}                     ->  {"ok": true, "pid": 4242}

A refusal is ``{"ok": false, "error": {"code", "message"}}`` with a DOMAIN.md code. A socket
whose process is gone (connection refused) is removed by the client that finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pm.errors import InvalidMessage, PmError
from pm.wiring import Components

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4096
READ_SECONDS = 5.0
# sockaddr_un holds 108 bytes with the final NUL: a longer path can't be bound at all
MAX_SOCKET_PATH = 107


def run_dir(components: Components) -> Path:
    settings = components.settings
    return settings.run_dir or settings.data_dir / "run"


class ControlServer:
    """This process's control socket (started and stopped with the app's lifespan)."""

    def __init__(self, components: Components) -> None:
        self._components = components
        self._server: asyncio.Server | None = None
        self.path: Path | None = None

    async def start(self) -> None:
        folder = run_dir(self._components)
        path = folder / f"{os.getpid()}-{secrets.token_hex(4)}.sock"
        if len(os.fsencode(path)) > MAX_SOCKET_PATH:
            log.error(
                "no control socket: %s is longer than a Unix socket path may be; set PM_RUN_DIR "
                "to a shorter folder (pm tenants evict, restore and delete can't reach this "
                "process: they still work, and this process notices at its next request)",
                path,
            )
            return
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(path), limit=MAX_REQUEST_BYTES
        )
        os.chmod(path, 0o600)
        self.path = path

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                line = await asyncio.wait_for(reader.readline(), READ_SECONDS)
                answer = self._answer(line)
            except (TimeoutError, ValueError, asyncio.LimitOverrunError):
                answer = _refusal(InvalidMessage("one JSON line of at most 4 KiB, please"))
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise InvalidMessage("the request is not a JSON object")
            op = request.get("op")
            if op == "ping":
                return {"ok": True, "pid": os.getpid()}
            if op == "evict":
                tenant_id = str(request.get("tenant"))
                was_open = self._components.services.evict_tenant(tenant_id)
                log.info("evicted by an operator", extra={"tenant": tenant_id})
                return {"ok": True, "pid": os.getpid(), "was_open": was_open}
            raise InvalidMessage(f"unknown op {str(op)[:32]!r}: ping or evict")
        except PmError as exc:
            return _refusal(exc)
        except ValueError:
            return _refusal(InvalidMessage("the request is not JSON"))


def _refusal(exc: PmError) -> dict[str, Any]:
    return {"ok": False, "error": {"code": exc.code, "message": exc.message}}


# -- the client (pm tenants evict, restore, delete) --------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One process's answer; ``error`` says why it did not evict (unreachable, refused)."""

    socket: Path
    ok: bool
    pid: int | None = None
    was_open: bool = False
    error: str | None = None


def ask_everyone(folder: Path, request: dict[str, Any], timeout: float = 10.0) -> list[Answer]:
    """Send ``request`` to every process listening in ``folder``; their answers."""
    if not folder.is_dir():
        return []
    answers = []
    for path in sorted(folder.glob("*.sock")):
        try:
            answers.append(_ask(path, request, timeout))
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # its process is gone
        except (OSError, ValueError) as exc:
            answers.append(Answer(path, ok=False, error=f"no answer ({exc})"))
    return answers


def evict_everywhere(folder: Path, tenant_id: str, timeout: float = 10.0) -> list[Answer]:
    return ask_everyone(folder, {"op": "evict", "tenant": tenant_id}, timeout)


def _ask(path: Path, request: dict[str, Any], timeout: float) -> Answer:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        with sock.makefile("rb") as stream:
            answer = json.loads(stream.readline(MAX_REQUEST_BYTES) or b"null")
    if not isinstance(answer, dict):
        raise ValueError("not a JSON object")
    if not answer.get("ok"):
        error = answer.get("error") or {}
        return Answer(path, ok=False, error=f"{error.get('code')}: {error.get('message')}")
    return Answer(path, ok=True, pid=answer.get("pid"), was_open=bool(answer.get("was_open")))
