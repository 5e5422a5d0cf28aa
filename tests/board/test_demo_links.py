"""`pm demo` (what `make run` starts) prints the board's sign-in links, for you and for two
colleagues (an editor, a viewer), ready to click: served by the demo itself, signed for its own
origin."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import connect
from websockets.typing import Origin, Subprotocol

from tests.conftest import free_port

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/#token=[A-Za-z0-9_.-]+)")


@pytest.fixture
def demo_links(tmp_path: Path) -> Iterator[list[str]]:
    port = free_port()
    pm = Path(sys.executable).parent / "pm"
    process = subprocess.Popen(
        [str(pm), "demo", "--port", str(port), "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or []:
            lines.put(line)

    reader = threading.Thread(target=read)
    reader.start()
    links: list[str] = []
    try:
        while len(links) < 3:
            links += LINK.findall(lines.get(timeout=60))
        yield links
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_demo_prints_board_links_that_sign_in_on_its_own_origin(demo_links: list[str]) -> None:
    for link, user in zip(demo_links, ("demo-user", "sam", "kim"), strict=True):
        parts = urlsplit(link)
        origin = f"{parts.scheme}://{parts.netloc}"
        assert parts.path == "/" and not parts.query  # the token travels in the fragment only
        token = parts.fragment.removeprefix("token=")
        page = _get_when_up(origin)
        assert page.status_code == 200 and '<div id="app">' in page.text
        with connect(
            origin.replace("http", "ws") + "/ws",
            subprotocols=[Subprotocol("pm.v1.json"), Subprotocol(f"pm.bearer.{token}")],
            origin=Origin(origin),
            proxy=None,
        ) as ws:
            ws.send(json.dumps({"message_id": "1", "list_projects": {}}))
            answer = json.loads(ws.recv(timeout=20))
            projects = answer["projects_list"]["projects"]
            assert [p["title"] for p in projects] == ["Mobile app launch"], user


def _get_when_up(origin: str) -> httpx.Response:
    """The links are printed before the server listens: wait for it (bounded)."""
    for _ in range(300):
        try:
            return httpx.get(origin + "/", timeout=5)
        except httpx.ConnectError:
            threading.Event().wait(0.1)
    raise AssertionError("pm demo never started listening")
