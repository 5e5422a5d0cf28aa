"""Short keys (DOMAIN.md "Keys"): a project key of 2 to 10 characters ``A-Z0-9`` starting with
a letter, unique in the tenant; an item key ``<project key>-<n>``, ``n`` the project's gap-free
sequence. Pure value rules, shared by the service layer and the migration that backfills keys.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9]{1,9}", re.ASCII)
ITEM_KEY = re.compile(r"([A-Z][A-Z0-9]{1,9})-([1-9][0-9]{0,9})", re.ASCII)
MIN_LENGTH, MAX_LENGTH = 2, 10
_WORD = re.compile(r"[A-Z0-9]+", re.ASCII)


def item_key(project_key: str, number: int) -> str:
    return f"{project_key}-{number}"


def as_project_key(value: str) -> str | None:
    """The project key ``value`` names (any case), or None if it is not one."""
    candidate = value.strip().upper()
    return candidate if PROJECT_KEY.fullmatch(candidate) else None


def as_item_key(value: str) -> str | None:
    """The item key ``value`` names (any case), or None if it is not one."""
    candidate = value.strip().upper()
    return candidate if ITEM_KEY.fullmatch(candidate) else None


def derive_project_key(title: str, taken: Callable[[str], bool]) -> str:
    """A key for a project titled ``title``: the initials of a title of several words
    ("Mobile app launch" -> MAL), else its first three letters ("Apollo" -> APO); a taken key
    gets the lowest free number appended (APO2, APO3...)."""
    base = _base_key(title)
    if not taken(base):
        return base
    suffix = 2
    while True:
        digits = str(suffix)
        candidate = base[: MAX_LENGTH - len(digits)] + digits
        if not taken(candidate):
            return candidate
        suffix += 1


def _base_key(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().upper()
    words = _WORD.findall(ascii_title)
    words = [w for w in words if w[0].isalpha()] or words
    if len(words) >= 2:
        key = "".join(word[0] for word in words)[:4]
    else:
        key = (words[0] if words else "")[:3]
    if not key or not key[0].isalpha():
        key = "P" + key
    return (key + "X" * MIN_LENGTH)[: max(MIN_LENGTH, len(key))][:MAX_LENGTH]
