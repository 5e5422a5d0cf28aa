"""Scale-out settings refuse what can't work, saying which variable; the README documents every
command of the ``pm`` CLI (a command added without a line in the README fails here)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pm.cli import _parser
from pm.config import ConfigError, load_settings
from tests.conftest import TEST_SECRET

README = Path(__file__).resolve().parents[2] / "README.md"


def test_workers_need_redis() -> None:
    with pytest.raises(ConfigError, match="PM_WORKERS=2 needs PM_REDIS_URL"):
        load_settings(jwt_secret=TEST_SECRET, workers=2)
    assert load_settings(jwt_secret=TEST_SECRET, workers=2, redis_url="redis://r:6379/0").workers


@pytest.mark.parametrize(
    ("node_id", "nodes", "message"),
    [
        ("pm-c:8000", "pm-a:8000,pm-b:8000", "must be one of PM_NODES"),
        ("pm-a:8000", "", "PM_NODE_ID is set without PM_NODES"),
        ("pm-a:8000", "pm-a:8000,pm-a:8000", "names a node twice"),
    ],
)
def test_a_node_must_be_in_its_ring(node_id: str, nodes: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(jwt_secret=TEST_SECRET, node_id=node_id, nodes=nodes)


def test_serving_in_a_ring_needs_a_node_id() -> None:
    settings = load_settings(jwt_secret=TEST_SECRET, nodes="pm-a:8000,pm-b:8000")
    with pytest.raises(ConfigError, match="PM_NODE_ID must be set with PM_NODES"):
        settings.require_node_identity()
    assert settings.nodes == ["pm-a:8000", "pm-b:8000"]


def _commands(parser: argparse.ArgumentParser, prefix: str = "pm") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(_commands(sub, f"{prefix} {name}") or [f"{prefix} {name}"])
    return found


def test_the_readme_names_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    documented = " ".join(re.findall(r"`(pm [^`]+)`", text))
    for command in _commands(_parser()):
        words = command.split()
        last = words[-1]
        assert command in documented or (
            " ".join(words[:-1]) in documented and f"/ `{last}" in text
        ), f"README does not document `{command}`"
