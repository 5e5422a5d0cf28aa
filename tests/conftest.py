"""Shared fixtures: settings on a temp data dir, real tokens, a real uvicorn server."""

from __future__ import annotations

import asyncio
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pm.auth import issue_token
from pm.config import Settings, load_settings
from pm.doorkit.asgi import PmApp, pm_app
from pm.observability.logging import JsonFormatter, redact
from pm.server import DrainingServer
from pm.wiring import Components

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
TokenFactory = Callable[..., str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", jwt_secret=TEST_SECRET)


@pytest.fixture
def make_token() -> TokenFactory:
    def make(
        user_id: str = "alice", tenant_id: str = "acme", roles: tuple[str, ...] = (), **kw: Any
    ) -> str:
        return issue_token(TEST_SECRET, tenant_id=tenant_id, user_id=user_id, roles=roles, **kw)

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """The server ``pm serve`` runs, on 127.0.0.1 in a background thread of this process."""

    settings: Settings
    server: DrainingServer
    thread: threading.Thread
    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def components(self) -> Components:
        return self.server.components

    @property
    def app(self) -> PmApp:
        return pm_app(self.server.config.app)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_server(settings: Settings) -> LiveServer:
    port = free_port()
    server = DrainingServer.for_settings(
        settings.model_copy(update={"host": "127.0.0.1", "port": port})
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    return LiveServer(settings, server, thread, port)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = start_server(settings)
    yield server
    server.stop()


# -- the whole run's log, checked for tokens ----------------------------------------------------
# PROTOCOL.md: no log line ever carries a token. Every record of the run (servers run in threads
# of this process, so uvicorn's, websockets' and pm's records all reach the root logger) goes
# through pm's JSON formatter into one file, at DEBUG: the lines an operator would read. Real
# tokens do reach records at that level (websockets logs the handshake's headers, bearer
# subprotocol included, and every frame); the formatter masks them. At the end of the session the
# file is searched for anything shaped like a JWT (the mask's own pattern) and for the encoded
# header every test token starts with (``eyJ`` alone would also match base64 JSON such as a
# forged cursor), so a token that gets past the mask, by any path and in any test, fails the run.

TOKEN_MARK = issue_token(TEST_SECRET, tenant_id="acme", user_id="mark").split(".")[0]


def _carries_token(line: str) -> bool:
    return TOKEN_MARK in line or redact(line) != line


@dataclass
class RunLog:
    handler: logging.FileHandler
    path: Path
    root_level: int
    leaks: list[str] = field(default_factory=list)


RUN_LOG = pytest.StashKey[RunLog]()


def pytest_sessionstart(session: pytest.Session) -> None:
    with tempfile.NamedTemporaryFile(prefix="pm-test-run-", suffix=".log", delete=False) as file:
        path = Path(file.name)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    session.config.stash[RUN_LOG] = RunLog(handler, path, root.level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def pytest_sessionfinish(session: pytest.Session) -> None:
    run_log = session.config.stash.get(RUN_LOG, None)
    if run_log is None:
        return
    root = logging.getLogger()
    root.removeHandler(run_log.handler)
    root.setLevel(run_log.root_level)
    run_log.handler.close()
    with run_log.path.open(encoding="utf-8") as lines:
        run_log.leaks = [line.rstrip("\n") for line in lines if _carries_token(line)]
    if run_log.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        run_log.path.unlink()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    run_log = config.stash.get(RUN_LOG, None)
    if run_log is None or not run_log.leaks:
        return
    title = f"{len(run_log.leaks)} log line(s) carry a token ({TOKEN_MARK}): the run fails"
    terminalreporter.write_sep("=", title, red=True)
    for line in run_log.leaks[:20]:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"the whole run's log is kept in {run_log.path}")
