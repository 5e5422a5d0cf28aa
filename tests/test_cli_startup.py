"""The ``pm`` command starts in the time of the interpreter and argparse: asking for help loads
none of the heavy libraries, and a tenant command never loads the server. Held by what a real
``pm`` process has imported when it exits, never by a time (the machine is shared)."""

from __future__ import annotations

import subprocess
import sys

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
    import os

    env = {**os.environ, "PM_DATA_DIR": str(tmp_path)}
    assert _loaded(_imported("tenants", "list", env=env), SERVER) == []


def test_the_cli_default_step_is_the_backups() -> None:
    assert CLI_PAGES_PER_STEP == PAGES_PER_STEP
