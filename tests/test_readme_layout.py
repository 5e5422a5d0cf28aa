"""The README's layout names real places: every path that starts an entry of its Layout block
exists, so a module that moves takes its line in the README with it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layout_paths() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    # an entry starts at the left edge; its indented continuation lines name no path
    entries = [line for line in block.splitlines() if line.strip() and not line[0].isspace()]
    first_words = (line.split()[0].rstrip(",") for line in entries)
    return [word for word in first_words if "/" in word and re.fullmatch(r"[\w./-]+", word)]


def test_every_path_of_the_layout_exists() -> None:
    paths = _layout_paths()
    assert "pm/wiring.py" in paths and "pm/repositories/" in paths
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert not missing
