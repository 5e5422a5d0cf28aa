"""The board in Chromium against a pm server in its own process.

1. Navigation to a usable board (Chromium's own clock: the page's ``pm:board-usable`` mark,
   from navigation start) for a project of 2,000 items, against the same page fetching the same
   items over REST alone (``GET /api/v1/work-items``, 500 a page), in the same run.
2. A change committed by another client, to its card shown in the page (a MutationObserver
   notes when the new title appears), against the same event's arrival at a plain WebSocket
   client: both measured from the event's commit time (``sent_at_ms``), p50 and p99 over 100
   changes sent open-loop at 20 a second.
3. The bundle, gzip: what the board loads first, and with the charts (loaded with Sprints).

Server CPU per board load and per change is read from /proc beside each figure. The machine is
shared: read ratios and CPU, not absolute milliseconds.
"""

from __future__ import annotations

import gzip
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.common import BENCH_SECRET, median, percentile, table, temp_dir
from bench.door_server import DoorServer, door_server
from pm.auth import issue_token
from pm.board import STATIC_DIR
from pm.ws.pm_pb2 import Envelope

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TENANT = "bench"
USABLE_MARK = "pm:board-usable"
CHANGE_RATE_PER_SECOND = 20

REST_FETCH_ALL = """async ([projectId, token]) => {
  const started = performance.now();
  let cursor = null, items = 0;
  do {
    const query = new URLSearchParams({project_id: projectId, limit: "500"});
    if (cursor) query.set("cursor", cursor);
    const response = await fetch(`/api/v1/work-items?${query}`,
                                 {headers: {Authorization: `Bearer ${token}`}});
    const page = await response.json();
    items += page.items.length;
    cursor = page.next_cursor;
  } while (cursor);
  return [performance.now() - started, items];
}"""

WATCH_TITLES = """() => {
  window.__seen = {};
  new MutationObserver((records) => {
    const now = performance.timeOrigin + performance.now();
    for (const record of records) {
      const text = record.target.textContent || "";
      for (const match of text.matchAll(/Change (\\d+)/g)) {
        if (!(match[1] in window.__seen)) window.__seen[match[1]] = now;
      }
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


class Plain:
    """A plain protobuf WebSocket client (the writer, and the baseline observer)."""

    def __init__(self, ws_url: str, token: str) -> None:
        protocols = [Subprotocol("pm.v1"), Subprotocol(f"pm.bearer.{token}")]
        conn = connect(ws_url, subprotocols=protocols, compression=None, proxy=None)
        self.conn: ClientConnection = conn.__enter__()

    def send(self, name: str, body: dict[str, Any]) -> str:
        message_id = str(uuid.uuid4())
        envelope = json_format.ParseDict({"message_id": message_id, name: body}, Envelope())
        self.conn.send(envelope.SerializeToString())
        return message_id

    def recv(self, timeout: float = 30) -> Envelope:
        envelope = Envelope()
        envelope.ParseFromString(self.conn.recv(timeout=timeout))  # type: ignore[arg-type]
        return envelope

    def request(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        message_id = self.send(name, body)
        while True:
            envelope = self.recv()
            if envelope.message_id == message_id:
                answer = json_format.MessageToDict(envelope, preserving_proto_field_name=True)
                if "error" in answer:
                    raise RuntimeError(f"{name} refused: {answer['error']}")
                return answer

    def close(self) -> None:
        self.conn.close()


def _seed(writer: Plain, items: int) -> str:
    """A project of ``items`` work items: epics > stories > tasks across every lane."""
    project = writer.request("create_work_item", {"item_type": "project", "title": "Big"})
    project_id = project["work_item_created"]["work_item"]["id"]
    statuses = ["backlog", "todo", "in_progress", "review", "done"]
    made, parent, story = 0, project_id, project_id
    while made < items:
        if made % 100 == 0:
            epic = writer.request(
                "create_work_item",
                {"item_type": "epic", "parent_id": project_id, "title": f"Epic {made}"},
            )
            parent = epic["work_item_created"]["work_item"]["id"]
            made += 1
        elif made % 20 == 1:
            created = writer.request(
                "create_work_item",
                {"item_type": "story", "parent_id": parent, "title": f"Story {made}"},
            )
            story = created["work_item_created"]["work_item"]["id"]
            made += 1
        else:
            writer.request(
                "create_work_item",
                {
                    "item_type": "task",
                    "parent_id": story,
                    "title": f"Task {made}",
                    "status": statuses[made % len(statuses)],
                    "story_points": made % 8,
                },
            )
            made += 1
    return str(project_id)


def _bundle_gzip_bytes() -> tuple[int, int]:
    """(what the board loads first, everything the build holds: the charts come later)."""
    page = (STATIC_DIR / "index.html").read_text()
    first = len(gzip.compress(page.encode()))
    for path in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page):
        first += len(gzip.compress((STATIC_DIR / path.lstrip("/")).read_bytes()))
    every = len(gzip.compress(page.encode())) + sum(
        len(gzip.compress(asset.read_bytes())) for asset in (STATIC_DIR / "assets").iterdir()
    )
    return first, every


def _usable_ms(browser: Any, origin: str, token: str, project_id: str) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{origin}/#token={token}&project={project_id}")
        page.wait_for_function(
            f"() => performance.getEntriesByName('{USABLE_MARK}').length > 0", timeout=120_000
        )
        return float(
            page.evaluate(f"() => performance.getEntriesByName('{USABLE_MARK}')[0].startTime")
        )
    finally:
        context.close()


def _load_figures(
    browser: Any, server: DoorServer, token: str, project_id: str, runs: int
) -> list[list[Any]]:
    origin = server.http
    _usable_ms(browser, origin, token, project_id)  # warm the server's tenant and caches
    cpu = server.cpu_seconds()
    usable = [_usable_ms(browser, origin, token, project_id) for _ in range(runs)]
    cpu_per_load = (server.cpu_seconds() - cpu) / runs
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{origin}/#token={token}")
    page.wait_for_selector(".connection-live")
    cpu = server.cpu_seconds()
    fetches = [page.evaluate(REST_FETCH_ALL, [project_id, token]) for _ in range(runs)]
    cpu_per_fetch = (server.cpu_seconds() - cpu) / runs
    context.close()
    rest = [f[0] for f in fetches]
    ratio = median(usable) / median(rest)
    return [
        [
            "board usable (nav start -> mark)",
            f"{median(usable):.0f} ms",
            f"{ratio:.2f}x",
            f"{cpu_per_load * 1000:.0f} ms",
        ],
        [
            f"REST fetch alone ({fetches[0][1]} items)",
            f"{median(rest):.0f} ms",
            "1.00x",
            f"{cpu_per_fetch * 1000:.0f} ms",
        ],
    ]


def _latency_figures(
    browser: Any,
    server: DoorServer,
    token: str,
    project_id: str,
    changes: int,
) -> list[list[Any]]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(f"{server.http}/#token={token}&project={project_id}")
    page.wait_for_function(
        f"() => performance.getEntriesByName('{USABLE_MARK}').length > 0", timeout=120_000
    )
    page.evaluate(WATCH_TITLES)

    observer = Plain(
        server.ws(), issue_token(BENCH_SECRET, tenant_id=TENANT, user_id="watcher", roles=["admin"])
    )
    observer.request("subscribe", {"project_ids": [project_id]})
    arrivals: dict[int, tuple[float, float]] = {}  # change -> (arrival, committed) epoch ms

    def watch() -> None:
        while len(arrivals) < changes:
            envelope = observer.recv(timeout=60)
            if envelope.WhichOneof("payload") == "work_item_updated":
                match = re.match(r"Change (\d+)", envelope.work_item_updated.work_item.title)
                if match:
                    arrivals[int(match[1])] = (time.time() * 1000, float(envelope.sent_at_ms))

    watcher = threading.Thread(target=watch)
    watcher.start()
    writer = Plain(
        server.ws(), issue_token(BENCH_SECRET, tenant_id=TENANT, user_id="writer", roles=["admin"])
    )
    # A card the page draws (a lane draws its first cards until asked for all).
    card_id = page.locator(".lane-cards article.card").first.get_attribute("data-id")
    snapshot = writer.request("get_project", {"project_id": project_id})["project_snapshot"]
    card = next(item for item in snapshot["work_items"] if item["id"] == card_id)
    version = int(card["version"])
    cpu = server.cpu_seconds()
    started = time.monotonic()
    for n in range(1, changes + 1):
        time.sleep(max(0.0, started + n / CHANGE_RATE_PER_SECOND - time.monotonic()))
        answer = writer.request(
            "update_work_item",
            {"work_item_id": card["id"], "expected_version": version, "title": f"Change {n}"},
        )
        version = int(answer["work_item_updated"]["work_item"]["version"])
    watcher.join(timeout=60)
    cpu_per_change = (server.cpu_seconds() - cpu) / changes
    page.wait_for_function(f"() => Object.keys(window.__seen).length >= {changes}", timeout=60_000)
    seen: dict[str, float] = page.evaluate("() => window.__seen")
    context.close()
    writer.close()
    observer.close()
    plain = [arrivals[n][0] - arrivals[n][1] for n in arrivals]
    shown = [seen[str(n)] - arrivals[n][1] for n in arrivals if str(n) in seen]
    return [
        [
            "card shown in the page",
            f"{percentile(shown, 50):.1f} ms",
            f"{percentile(shown, 99):.1f} ms",
            f"{percentile(shown, 50) / max(percentile(plain, 50), 0.1):.2f}x",
            f"{cpu_per_change * 1000:.2f} ms",
        ],
        [
            "event at a plain client",
            f"{percentile(plain, 50):.1f} ms",
            f"{percentile(plain, 99):.1f} ms",
            "1.00x",
            "",
        ],
    ]


def run(quick: bool = False) -> None:
    if not Path(CHROMIUM).is_file() or not (STATIC_DIR / "index.html").is_file():
        print("  skipped: needs /usr/bin/chromium and the built board (make web chromium)")
        return
    from playwright.sync_api import sync_playwright

    items, runs, changes = (300, 2, 20) if quick else (2000, 5, 100)
    token = issue_token(BENCH_SECRET, tenant_id=TENANT, user_id="viewer", roles=["admin"])
    with (
        temp_dir() as data,
        door_server(
            "pm",
            data_dir=data,
            jwt_secret=BENCH_SECRET,
            log_level="warning",
            ws_rate_limit="100000/second",
            rest_rate_limit="100000/minute",
        ) as server,
        sync_playwright() as playwright,
    ):
        writer = Plain(
            server.ws(),
            issue_token(BENCH_SECRET, tenant_id=TENANT, user_id="seeder", roles=["admin"]),
        )
        seeding = time.monotonic()
        project_id = _seed(writer, items)
        writer.close()
        print(f"  seeded {items} items in {time.monotonic() - seeding:.1f} s")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            print(
                f"\n  time to a usable board, {items} items (median of {runs}; the machine is "
                "shared)"
            )
            table(
                _load_figures(browser, server, token, project_id, runs),
                ["", "time", "vs REST fetch", "server CPU each"],
            )
            print(
                f"\n  a change by another client to its card on screen ({changes} changes at "
                f"{CHANGE_RATE_PER_SECOND}/s, from the commit's sent_at_ms)"
            )
            table(
                _latency_figures(browser, server, token, project_id, changes),
                ["", "p50", "p99", "p50 vs plain client", "server CPU per change"],
            )
        finally:
            browser.close()
    first, every = _bundle_gzip_bytes()
    print(
        f"\n  bundle, gzip: {first / 1024:.1f} KB loaded with the board, {every / 1024:.1f} KB "
        f"with the charts (target < 250 KB: {every / (250 * 1024):.2f} of it)"
    )
