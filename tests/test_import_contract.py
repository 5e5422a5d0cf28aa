"""The import contract bites: each forbidden import, added to a copy of the tree, makes
``lint-imports`` fail and name the contract it breaks; the untouched copy passes.

The contracts live in pyproject.toml (``[tool.importlinter]``, run by ``make test``); this test
proves they say what the house rules say, so that a contract that quietly stopped checking
(a module moved out of a layer, a typing-only import excluded) fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONTRACTS: list[str] = [c["name"] for c in PYPROJECT["tool"]["importlinter"]["contracts"]]


def contract(prefix: str) -> str:
    (name,) = [name for name in CONTRACTS if name.startswith(prefix)]
    return name


LAYERS = contract("Layers:")
SERVICE_LAYERS = contract("Inside the service layer")
NO_CIRCLE = contract("No circle")
DOORS_NO_SQL = contract("Doors never touch SQL")
NO_TRANSPORT_BELOW = contract("Below the doors")
BENCH_APART = contract("The bench imports nothing")


@dataclass(frozen=True)
class Breach:
    module: str  # a file of the tree, relative to the repository
    line: str  # appended to it
    broken: tuple[str, ...]  # contracts that must be reported broken

    def __str__(self) -> str:
        return f"{self.module}: {self.line.splitlines()[-1].strip()}"


TYPE_CHECKING_IMPORT = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pm.app\n"
BREACHES = [
    # the house rules' own examples
    Breach("pm/auth.py", "from pm.ws import hub", (LAYERS, NO_TRANSPORT_BELOW)),
    Breach("pm/rest/routes.py", "from sqlmodel import select", (DOORS_NO_SQL,)),
    # doors never touch SQL, the tenancy layer or the repositories
    Breach("pm/ws/connection.py", "import sqlalchemy", (DOORS_NO_SQL,)),
    Breach("pm/cli/tenants.py", "from pm.tenancy import manager", (DOORS_NO_SQL,)),
    Breach("pm/doorkit/caller.py", "from pm.repositories import Repositories", (DOORS_NO_SQL,)),
    Breach("pm/app.py", "import alembic", (DOORS_NO_SQL,)),
    Breach("pm/board/__init__.py", "from sqlmodel import Session", (DOORS_NO_SQL,)),
    # nothing below the doors knows a transport or a door
    Breach("pm/services/work_items.py", "import fastapi", (NO_TRANSPORT_BELOW,)),
    Breach(
        "pm/services/changes.py", "from google.protobuf import json_format", (NO_TRANSPORT_BELOW,)
    ),
    Breach("pm/repositories/base.py", "import starlette", (NO_TRANSPORT_BELOW,)),
    Breach("pm/wiring.py", "from fastapi import FastAPI", (NO_TRANSPORT_BELOW,)),
    Breach(
        "pm/services/kernel/runner.py", "from pm.rest import routes", (LAYERS, NO_TRANSPORT_BELOW)
    ),
    Breach("pm/domain/models.py", "import pm.services", (LAYERS,)),
    Breach("pm/errors.py", "import pm.config", (LAYERS,)),
    # one door never leans on another; typing-only imports count
    Breach("pm/ws/hub.py", "from pm.rest import errors", (LAYERS,)),
    Breach("pm/rest/__init__.py", TYPE_CHECKING_IMPORT, (LAYERS, NO_CIRCLE)),
    # the MCP door and the webhook deliverer are doors like the others
    Breach("pm/mcp/tools.py", "from sqlmodel import select", (DOORS_NO_SQL,)),
    Breach("pm/webhooks/deliverer.py", "from pm.tenancy import manager", (DOORS_NO_SQL,)),
    Breach("pm/mcp/render.py", "from pm.ws import codec", (LAYERS,)),
    Breach("pm/webhooks/sender.py", "from pm.mcp import tools", (LAYERS,)),
    Breach("pm/services/webhooks.py", "import httpx", (NO_TRANSPORT_BELOW,)),
    Breach("pm/services/search.py", "import mcp", (NO_TRANSPORT_BELOW,)),
    # the service layer's inner shape, and no circle between siblings
    Breach("pm/services/kernel/access.py", "from pm.services import work_items", (SERVICE_LAYERS,)),
    Breach("pm/services/members.py", "from pm.services import work_items", (NO_CIRCLE,)),
    # the bench stands apart from the tests
    Breach("bench/bench_rest.py", "from tests.services import factories", (BENCH_APART,)),
]


def _lint(tree: Path) -> tuple[int, str]:
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def _squeezed(text: str) -> str:
    """Without white space: lint-imports wraps long contract names at any width."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of what the contracts read: the packages and pyproject.toml."""
    copy = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("pm", "tests", "bench"):
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    yield copy


def test_the_untouched_copy_keeps_every_contract(tree: Path) -> None:
    code, output = _lint(tree)
    assert code == 0, output
    for name in CONTRACTS:
        assert _squeezed(f"{name} KEPT") in _squeezed(output), name


@pytest.mark.parametrize("breach", BREACHES, ids=str)
def test_a_forbidden_import_breaks_its_contract(tree: Path, breach: Breach) -> None:
    module = tree / breach.module
    original = module.read_text()
    module.write_text(f"{original}\n{breach.line}\n")
    try:
        code, output = _lint(tree)
    finally:
        module.write_text(original)
    assert code != 0, output
    for name in breach.broken:
        assert _squeezed(f"{name} BROKEN") in _squeezed(output), (name, output)
