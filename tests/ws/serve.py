"""A real `pm serve` process on 127.0.0.1, configured by PM_* variables: the command operators
run, so signal handling and the uvicorn options built by pm.cli are what the tests see."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import TEST_SECRET, free_port


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path  # the process's stderr: its JSON log lines and anything it printed

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def _wait_until_listening(server: ServeProcess, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"pm serve exited with {server.process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("pm serve did not start listening")


@contextlib.contextmanager
def pm_serve(
    data_dir: Path, *args: str, port: int | None = None, **settings: str
) -> Iterator[ServeProcess]:
    """``args`` go after ``pm serve`` (``"--workers", "2"``); ``settings`` are PM_* variables
    without the prefix: ``ws_rate_limit="10/second"``. ``port``: a free one unless given (a
    restart on the same data reuses the port)."""
    port = port or free_port()
    env = {
        **os.environ,
        "PM_DATA_DIR": str(data_dir),
        "PM_JWT_SECRET": TEST_SECRET,
        "PM_PORT": str(port),
        "PM_LOG_LEVEL": "warning",
        **{f"PM_{name.upper()}": value for name, value in settings.items()},
    }
    pm = Path(sys.executable).parent / "pm"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"pm-serve-{port}.log"
    with log_path.open("wb") as log:
        # A session of its own: workers are its children, and the group is killed at the end.
        process = subprocess.Popen(
            [str(pm), "serve", *args], env=env, stderr=log, start_new_session=True
        )
    server = ServeProcess(process, port, data_dir, log_path)
    try:
        _wait_until_listening(server)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # workers a killed supervisor left behind
