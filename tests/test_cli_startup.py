"""The ``pm`` command starts in the time of the interpreter and argparse: asking for help loads
none of the heavy libraries, and a tenant command never loads the server. Held by what a real
``pm`` process has imported when it exits, never by a time (the machine is shared)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pm.cli.tenants import PAGES_PER_STEP as CLI_PAGES_PER_STEP
from pm.tenancy.backup import PAGES_PER_STEP

# Run as `pm` runs, and list every module imported by the time the process ends.
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('\\n'.join(sorted(sys.modules)), file=sys.stderr))\n"
    "from pm.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
HEAVY = (
    "pydantic",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "google.protobuf",
    "jwt",
    "redis",
    "opentelemetry",
    "prometheus_client",
    "tqdm",
)
SERVER = ("fastapi", "starlette", "uvicorn", "google.protobuf", "websockets")
DATABASE = ("sqlalchemy", "sqlmodel", "alembic", "redis")


def _imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return {line for line in done.stderr.splitlines() if line and " " not in line}


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(p for p in packages if any(m == p or m.startswith(f"{p}.") for m in modules))


@pytest.mark.parametrize(
    "args", [["--help"], ["tenants", "--help"], ["tenants", "restore", "--help"]]
)
def test_help_loads_no_heavy_library(args: list[str]) -> None:
    assert _loaded(_imported(*args), HEAVY) == []


def test_a_tenant_command_never_loads_the_server(tmp_path: object) -> None:
    env = {**os.environ, "PM_DATA_DIR": str(tmp_path)}
    assert _loaded(_imported("tenants", "list", env=env), SERVER) == []


def test_listing_tenants_opens_no_database_and_loads_no_sqlalchemy(tmp_path: Path) -> None:
    """``pm tenants list`` reads the data folder alone: it lists what is there (a folder that is
    no tenant id, or has no database, left out) and loads no database library."""
    tenants = tmp_path / "tenants"
    for name, with_db in (("acme", True), ("globex", True), ("empty", False), ("Not-An-Id", True)):
        (tenants / name).mkdir(parents=True)
        if with_db:
            (tenants / name / "main.db").write_bytes(b"")
    env = {**os.environ, "PM_DATA_DIR": str(tmp_path)}
    assert _loaded(_imported("tenants", "list", env=env), DATABASE + SERVER) == []
    listed = subprocess.run(
        [sys.executable, "-m", "pm.cli", "tenants", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    assert listed.stdout.split() == ["acme", "globex"]


def test_the_cli_default_step_is_the_backups() -> None:
    assert CLI_PAGES_PER_STEP == PAGES_PER_STEP
