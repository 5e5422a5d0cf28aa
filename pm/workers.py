"""``pm serve --workers N``: N processes serving one port, each restarted if it dies.

One pm process is one interpreter, and its GIL keeps it to about one core. N workers share the
port (each binds it with SO_REUSEPORT, and the kernel spreads connections over them) and the
data directory: SQLite's own file locks keep one writer per tenant file at a time across
processes (``BEGIN IMMEDIATE`` waits up to ``busy_timeout``), and the Redis bus carries live
events and presence between them, so N > 1 needs ``PM_REDIS_URL`` (pm.config refuses to start
without it).

uvicorn's ``Multiprocess`` supervisor builds a plain ``uvicorn.Server`` in every worker, which
would lose pm's drain on SIGTERM (``DrainingServer``: answer in-flight requests, close sockets
with 1012). So each worker here is uvicorn's own worker process (its ping/pong health check,
terminate and kill) serving a ``DrainingServer``, and this module is the small loop around them:
start N, replace any that dies or stops answering (a worker that fails before it ever served
stops everything: the next one would fail the same way), and on SIGTERM or SIGINT forward
SIGTERM to every worker and wait for each to drain. Metrics: every worker writes its values to
one folder made fresh for the run (prometheus_client's multiprocess mode), so a scrape answered
by any worker reports the node; a dead worker's live gauges are dropped from the sums.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import uvicorn
from prometheus_client import multiprocess
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Process

from pm.config import Settings, load_settings
from pm.observability import metrics
from pm.observability.logging import configure_logging
from pm.server import DrainingServer

log = logging.getLogger(__name__)

BuildServer = Callable[[], uvicorn.Server]  # called in the worker; must pickle (spawn)
CHECK_SECONDS = 0.5


class Worker(Process):
    """uvicorn's worker process, serving what ``build`` makes instead of a plain Server, on a
    listening socket of its own bound with SO_REUSEPORT."""

    def __init__(self, config: uvicorn.Config, build: BuildServer):
        self._build = build
        super().__init__(config, [])

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = self._build()
        return self._server

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            listener = reuse_port_listener(self.config.host, self.config.port)
        except OSError as exc:
            log.error("worker can't listen on %s:%s (%s)", self.config.host, self.config.port, exc)
            sys.exit(STARTUP_FAILURE)
        super().target([listener])


def reuse_port_listener(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening socket that shares its port with the other workers' (SO_REUSEPORT): the
    kernel spreads new connections over them. One socket accepted by every worker would not:
    asyncio accepts up to a hundred pending connections per wake-up, so the first worker to
    wake takes a whole burst and the others sit idle."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(address)
    listener.listen(backlog)
    listener.set_inheritable(True)
    return listener


class Supervisor:
    def __init__(self, config: uvicorn.Config, build: BuildServer, workers: int) -> None:
        self.config = config
        self.build = build
        self.count = workers
        self.workers: list[Worker] = []
        self.stopping = threading.Event()
        self.failed = False

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; the exit status (3 if a worker never started)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.workers = [self._start() for _ in range(self.count)]
        log.info("serving with %d workers", self.count)
        while not self.stopping.wait(CHECK_SECONDS):
            self._replace_dead()
        for worker in self.workers:
            worker.terminate()  # SIGTERM: each drains within PM_SHUTDOWN_GRACE_SECONDS
        for worker in self.workers:
            worker.join()
        return STARTUP_FAILURE if self.failed else 0

    def _start(self) -> Worker:
        worker = Worker(self.config, self.build)
        worker.start()
        return worker

    def _replace_dead(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            worker.kill()  # dead, or alive and not answering
            worker.join()
            if worker.pid is not None:  # its live gauges leave the sums; its counters stay
                multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
                folder = metrics.multiprocess_dir()
                if folder is not None:  # and its per-tenant figures (operator_view)
                    (folder / f"activity-{worker.pid}.json").unlink(missing_ok=True)
            if worker.exitcode == STARTUP_FAILURE:
                log.error("worker %s failed to start; stopping", worker.pid)
                self.failed = True
                self.stopping.set()
                return
            log.warning("worker %s ended (exit %s); starting another", worker.pid, worker.exitcode)
            self.workers[index] = self._start()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()


def serve_workers(
    settings: Settings, config_file: Path | None, overrides: dict[str, object]
) -> int:
    """``pm serve`` with ``settings.workers`` processes; each worker loads the settings itself,
    from the same file, environment and command-line options, and keeps its metrics in a
    folder shared with the others (pm.observability.metrics), fresh for this run."""
    configure_logging(settings.log_level)
    folder = tempfile.mkdtemp(prefix="pm-metrics-")
    os.environ[metrics.MULTIPROCESS_DIR] = folder  # inherited by every worker
    # The address the workers listen on; the app is never loaded here (each worker builds its
    # own components and server).
    listener = uvicorn.Config(
        "pm.app:create_app", host=settings.host, port=settings.port, log_config=None
    )
    build = functools.partial(_worker_server, config_file, overrides)
    try:
        return Supervisor(listener, build, settings.workers).run()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _worker_server(config_file: Path | None, overrides: dict[str, object]) -> uvicorn.Server:
    settings = load_settings(config_file, **{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level)
    return DrainingServer.for_settings(settings)
