"""A newcomer's first run, as ``make run`` does it: ``pm demo`` goes where PM_HOST, PM_PORT and
PM_DATA_DIR (or ``make run PORT=``) say; it keeps its signing key in its data folder, so a token
it printed still works after a restart and ``pm token`` mints more; it prints sign-in links for
three people with different roles; and ``pm tenants list`` on the same folder shows the demo."""

from __future__ import annotations

import os
import queue
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import free_port

PM = Path(sys.executable).parent / "pm"
ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\s+(\S.*) \(([a-z-]+), (admin|editor|viewer)\):$")
LINK = re.compile(r"http://127\.0\.0\.1:(\d+)/#token=([A-Za-z0-9_.-]+)")


@dataclass
class Demo:
    port: int
    people: dict[str, tuple[str, str]]  # user id -> (role, token)
    output: list[str]


def _env(data: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_")}
    return {**env, "PM_HOST": "127.0.0.1", "PM_PORT": str(port), "PM_DATA_DIR": str(data)}


@contextmanager
def demo(data: Path, port: int) -> Iterator[Demo]:
    """``pm demo`` with no argument, configured only by the environment, until its three
    sign-in links are printed and it answers."""
    process = subprocess.Popen(
        [str(PM), "demo"],
        env=_env(data, port),
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
    output: list[str] = []
    people: dict[str, tuple[str, str]] = {}
    role = user = ""
    try:
        while len(people) < 3:
            line = lines.get(timeout=60).rstrip("\n")
            output.append(line)
            if named := LINE.match(line):
                user, role = named.group(2), named.group(3)
            elif (link := LINK.search(line)) and user:
                assert int(link.group(1)) == port
                people[user] = (role, link.group(2))
                user = ""
        _wait_until_up(port)
        yield Demo(port, people, output)
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, "a drained SIGTERM ends the demo with 0"
        reader.join(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _wait_until_up(port: int) -> None:
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5, trust_env=False)
            return
        except httpx.ConnectError:
            threading.Event().wait(0.1)
    raise AssertionError("pm demo never started listening")


def _projects(port: int, token: str) -> httpx.Response:
    return httpx.get(
        f"http://127.0.0.1:{port}/api/v1/projects",
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=30,
    )


def test_the_demo_goes_where_the_environment_says_keeps_its_key_and_shares_its_folder(
    tmp_path: Path,
) -> None:
    data = tmp_path / "elsewhere"
    port = free_port()
    with demo(data, port) as first:
        assert {u: r for u, (r, _t) in first.people.items()} == {
            "demo-user": "admin",
            "sam": "editor",
            "kim": "viewer",
        }
        for _role, token in first.people.values():
            assert [p["title"] for p in _projects(port, token).json()["projects"]] == [
                "Mobile app launch"
            ]
        key = data / "demo.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert any(str(key) in line for line in first.output)
    # The same folder is what `pm tenants` reads: no flag, no second data dir.
    listed = subprocess.run(
        [str(PM), "tenants", "list"],
        env=_env(data, port),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.stdout.split() == ["demo"]
    # `pm token` signs with the demo's key when PM_JWT_SECRET is unset.
    minted = subprocess.run(
        [str(PM), "token", "--tenant", "demo", "--user", "sam"],
        env=_env(data, port),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert minted.returncode == 0 and "demo's key" in minted.stderr
    with demo(data, port) as second:  # a restart: the key is kept, nothing is seeded again
        assert not any("(seeded)" in line for line in second.output)
        old_token = first.people["kim"][1]
        assert _projects(port, old_token).status_code == 200
        assert _projects(port, minted.stdout.strip()).status_code == 200


def test_make_run_passes_port_on() -> None:
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "PORT=9123"],  # as a sub-make too
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[-1] == "PM_PORT=9123 .venv/bin/pm demo"
