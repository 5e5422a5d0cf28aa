"""SIGTERM with PM_SHUTDOWN_UNREADY_SECONDS: /ready answers 503 at once while the server still
serves everything, so a load balancer stops sending new traffic before the listeners close."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from pm.auth import issue_token
from tests.conftest import TEST_SECRET

from .serve import pm_serve

UNREADY_SECONDS = 1.5


def test_sigterm_turns_ready_off_before_the_server_stops_serving(tmp_path: Path) -> None:
    token = issue_token(TEST_SECRET, tenant_id="acme", user_id="alice")
    with pm_serve(tmp_path / "data", shutdown_unready_seconds=str(UNREADY_SECONDS)) as server:
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base, timeout=5) as client:
            assert client.get("/ready").status_code == 200
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            time.sleep(0.3)
            assert client.get("/ready").json() == {"status": "draining"}
            served = client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
            assert served.status_code == 200  # still serving while not ready
            assert time.monotonic() - signalled < UNREADY_SECONDS
        # A drained SIGTERM is a normal stop: status 0, which a supervisor reads as success.
        assert server.process.wait(timeout=15) == 0
        assert time.monotonic() - signalled >= UNREADY_SECONDS
