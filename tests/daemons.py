"""Real Debian ``redis-server`` and ``nginx`` on free 127.0.0.1 ports, started and stopped by the
tests (``make test`` installs both when missing). Without the binary a test skips and says why."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

START_TIMEOUT = 20.0


def binary(name: str, *extra_dirs: str) -> str:
    path = shutil.which(name) or next(
        (f"{d}/{name}" for d in extra_dirs if Path(f"{d}/{name}").is_file()), None
    )
    if path is None:
        pytest.skip(
            f"{name} is not installed: `make test` installs Debian's package when missing "
            "(needs root and apt); this test needs the real thing"
        )
    return path


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {START_TIMEOUT} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class RedisServer:
    """One redis-server, no persistence; ``stop``/``start`` again on the same port (an outage)."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = self.folder / "redis.log"
        command = [binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    folder.mkdir(parents=True, exist_ok=True)
    server = RedisServer(folder, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def nginx_binary() -> str:
    return binary("nginx", "/usr/sbin")


def nginx_test(config: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on a config file, with its own prefix (no system paths touched)."""
    prefix = config.parent
    (prefix / "logs").mkdir(exist_ok=True)
    return subprocess.run(
        [nginx_binary(), "-t", "-p", str(prefix), "-c", str(config), "-e", "logs/error.log"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@contextlib.contextmanager
def nginx_server(config: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground on ``config`` (which listens on ``port``), its prefix beside it."""
    prefix = config.parent
    (prefix / "logs").mkdir(exist_ok=True)
    log = prefix / "logs" / "error.log"
    command = [nginx_binary(), "-p", str(prefix), "-c", str(config), "-e", "logs/error.log"]
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        yield process
    finally:
        stop(process)
