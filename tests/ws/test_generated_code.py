"""pm_pb2.py/.pyi are generated from pm.proto and checked in; a stale copy would let the two
encodings drift from the schema, so the test regenerates them and compares."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("pm_pb2.py", "pm_pb2.pyi")
# The one line that names the generator's own version, which may differ between machines
# without the code differing.
VERSION_COMMENT = "# Protobuf Python Version:"


def _code_lines(path: Path) -> list[str]:
    return [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.startswith(VERSION_COMMENT)
    ]


def _regenerate(out: Path) -> None:
    """The Makefile's `proto` target, written to ``out``."""
    bin_dir = str(Path(sys.executable).parent)  # protoc-gen-mypy lives beside the interpreter
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-Ipm/ws",
            f"--python_out={out}",
            f"--mypy_out={out}",
            "pm/ws/pm.proto",
        ],
        cwd=ROOT,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
        check=True,
        capture_output=True,
    )


def test_makefile_regenerates_with_the_same_command() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert (
        "-m grpc_tools.protoc -Ipm/ws --python_out=pm/ws --mypy_out=pm/ws pm/ws/pm.proto"
        in makefile
    )


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("proto")
    _regenerate(out)
    return out


@pytest.mark.parametrize("name", GENERATED)
def test_checked_in_code_matches_the_proto(regenerated: Path, name: str) -> None:
    fresh, checked_in = regenerated / name, ROOT / "pm" / "ws" / name
    assert _code_lines(fresh) == _code_lines(checked_in), (
        f"pm/ws/{name} is stale: run `make proto` and commit the result"
    )
