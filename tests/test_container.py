"""The container as a newcomer meets it: the README's quick start, line by line, and the image
built and run. The quick start's first line runs everywhere (it makes the secrets compose needs);
what needs a Docker engine runs when one answers and is skipped, with the reason printed,
otherwise."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pm.auth import issue_token
from pm.config import load_settings
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[1]
WAIT = 180.0  # an image starting on a shared machine; nothing here passes or fails on time


def quick_start() -> list[str]:
    """The commands of the README's "In containers" block, in order."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### In containers", 1)[1].split("```", 2)[1]
    return [line.strip() for line in block.splitlines() if line.strip()]


def required_variables(compose_file: Path) -> set[str]:
    """What compose refuses to start without: every ``${NAME:?...}`` of the file."""
    return set(re.findall(r"\$\{([A-Z_]+):\?", compose_file.read_text()))


def env_file(path: Path) -> dict[str, str]:
    lines = (line for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return dict(line.split("=", 1) for line in lines)


def _run(*args: str, timeout: float = 60, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def docker_missing() -> str | None:
    """Why no container can run here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    info = _run("docker", "info", "--format", "{{.ServerVersion}}")
    if info.returncode != 0:
        return f"no Docker engine answers: {(info.stderr.strip().splitlines() or ['?'])[-1]}"
    return None


def skip_without_docker(*, compose: bool = False) -> None:
    reason = docker_missing()
    if reason is None and compose and _run("docker", "compose", "version").returncode != 0:
        reason = "the Docker engine has no compose plugin (`docker compose version` fails)"
    if reason is not None:
        pytest.skip(reason)  # printed in the run's summary (-ra)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def get_json(url: str, token: str) -> object:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


# ------------------------------------------------------------------ the quick start's secrets


def test_the_quick_start_makes_the_secrets_and_then_runs_compose() -> None:
    assert quick_start() == [
        "make deploy/.env",
        "docker compose -f deploy/compose.yaml up -d --build",
    ]


@pytest.fixture
def made_env(tmp_path: Path) -> Path:
    """The quick start's first line, run as the README writes it, in a folder like a clone's."""
    (tmp_path / "deploy").mkdir()
    command = quick_start()[0].split()
    made = _run(*command, "-f", str(ROOT / "Makefile"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return tmp_path / "deploy" / ".env"


def test_the_secrets_satisfy_every_compose_file_and_pm(made_env: Path) -> None:
    values = env_file(made_env)
    for compose_file in (ROOT / "deploy").glob("compose*.yaml"):
        needed = required_variables(compose_file)
        assert "PM_JWT_SECRET" in needed
        assert all(values.get(name) for name in needed), compose_file.name
    # the key is one pm accepts (32 bytes and more), and nobody else can read the file
    assert load_settings(jwt_secret=values["PM_JWT_SECRET"]).jwt_secret
    assert made_env.stat().st_mode & 0o777 == 0o600
    assert (ROOT / "deploy" / ".gitignore").read_text().splitlines().count(".env") == 1


def test_an_existing_env_file_is_kept(made_env: Path) -> None:
    first = made_env.read_text()
    again = _run("make", "-f", str(ROOT / "Makefile"), "deploy/.env", cwd=made_env.parents[1])
    assert again.returncode == 0 and made_env.read_text() == first


def test_two_runs_make_different_secrets(tmp_path: Path) -> None:
    secrets = []
    for name in ("one", "two"):
        (tmp_path / name / "deploy").mkdir(parents=True)
        made = _run("make", "-f", str(ROOT / "Makefile"), "deploy/.env", cwd=tmp_path / name)
        assert made.returncode == 0, made.stderr
        secrets.append(env_file(tmp_path / name / "deploy" / ".env")["PM_JWT_SECRET"])
    assert secrets[0] != secrets[1]


# ------------------------------------------------------------------ with a Docker engine


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    skip_without_docker()
    tag = f"pm-test:{uuid.uuid4().hex[:12]}"
    built = _run("docker", "build", "-t", tag, str(ROOT), timeout=1800)
    assert built.returncode == 0, built.stderr[-4000:]
    yield tag
    _run("docker", "rmi", "-f", tag)


def test_the_image_serves_runs_as_pm_and_exits_0_on_sigterm(image: str) -> None:
    name = f"pm-test-{uuid.uuid4().hex[:12]}"
    started = _run(
        "docker", "run", "-d", "--name", name, "-e", f"PM_JWT_SECRET={TEST_SECRET}",
        "-p", "127.0.0.1::8000", image,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        port = _run("docker", "port", name, "8000/tcp").stdout.split(":")[-1].strip()
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        token = issue_token(TEST_SECRET, tenant_id="acme", user_id="alice", roles=["admin"])
        assert get_json(f"{url}/api/v1/projects", token) == {"projects": []}
        assert _run("docker", "exec", name, "id", "-u").stdout.strip() == "10001"
        deadline = time.monotonic() + WAIT
        health = ""
        while health != "healthy" and time.monotonic() < deadline:
            inspect = _run("docker", "inspect", "-f", "{{.State.Health.Status}}", name)
            health = inspect.stdout.strip()
            time.sleep(1)
        assert health == "healthy"
        stopped = _run("docker", "stop", "-t", "30", name, timeout=90)
        assert stopped.returncode == 0
        code = _run("docker", "inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        assert code == "0"  # a drained SIGTERM, which a supervisor reads as a clean stop
    finally:
        _run("docker", "rm", "-f", name)


def test_the_quick_start_brings_pm_up_as_the_readme_says(tmp_path: Path) -> None:
    skip_without_docker(compose=True)
    env = tmp_path / "deploy" / ".env"
    env.parent.mkdir()
    assert _run("make", "-f", str(ROOT / "Makefile"), "deploy/.env", cwd=tmp_path).returncode == 0
    project = f"pm-test-{uuid.uuid4().hex[:8]}"
    # the README's second line, with this run's secrets and a project name of its own
    up = quick_start()[1].split()
    compose = [*up[:2], "-p", project, "--env-file", str(env), *up[2:4]]
    started = _run(*compose, *up[4:], timeout=1800)
    try:
        assert started.returncode == 0, started.stderr[-4000:]
        wait_ready("http://127.0.0.1:8000")
        secret = env_file(env)["PM_JWT_SECRET"]
        token = issue_token(secret, tenant_id="acme", user_id="alice", roles=["admin"])
        assert get_json("http://127.0.0.1:8000/api/v1/projects", token) == {"projects": []}
        # the README's way to a token: pm token inside the container, accepted by pm
        mint = ["exec", "-T", "pm", "pm", "token", "--tenant", "acme", "--user", "me"]
        minted = _run(*compose, *mint)
        assert minted.returncode == 0
        assert get_json("http://127.0.0.1:8000/api/v1/projects", minted.stdout.strip()) == {
            "projects": []
        }
    finally:
        _run(*compose, "down", "-v", timeout=300)
