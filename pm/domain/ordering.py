"""Order keys between neighbours (fractional indexing, as Linear and Jira's LexoRank do).

Keys are strings over 62 ordered digits, compared as plain strings. ``key_between(a, b)`` returns
a key strictly between ``a`` and ``b`` (either may be None for an open end), so a move writes one
row. Repeated inserts at one spot grow keys by about one character per six moves; appending
after the last key counts it up instead, as a number of fixed width (with carry): a key of only
top digits grows by ``APPEND_WIDTH`` digits, which then count through 61 x 62^2 (about 234,000)
appends before it grows again. (Bumping the last digit and dropping what followed grew the key
one character per ~61 appends: past ~2,700 appends to one parent every append respaced every
sibling, an event each.) ``spread_keys`` hands out evenly spaced short keys when a list is
rebalanced.
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
_INDEX = {ch: i for i, ch in enumerate(DIGITS)}
MAX_KEY_LENGTH = 48  # keys longer than this trigger a rebalance of the sibling list
APPEND_WIDTH = 3  # digits a key of only top digits grows by when appended after


def _valid(key: str) -> bool:
    return bool(key) and not key.endswith(DIGITS[0]) and all(ch in _INDEX for ch in key)


def key_between(a: str | None, b: str | None) -> str:
    """A key strictly between ``a`` and ``b`` (None: no bound on that side)."""
    if a is not None and not _valid(a):
        raise ValueError(f"invalid order key {a!r}")
    if b is not None and not _valid(b):
        raise ValueError(f"invalid order key {b!r}")
    if a is not None and b is not None and a >= b:
        raise ValueError(f"order keys out of order: {a!r} >= {b!r}")
    if a is not None and b is None:
        return _after(a)
    return _midpoint(a or "", b)


def _after(a: str) -> str:
    """``a`` plus one in its last digit, carried leftwards, its length kept (a last digit of
    zero, which no key may end with, is stepped over); a key of only top digits grows by
    ``APPEND_WIDTH`` digits, ``0...01``."""
    digits = [_INDEX[ch] for ch in a]
    i = len(digits) - 1
    while i >= 0 and digits[i] == BASE - 1:
        digits[i] = 0
        i -= 1
    if i < 0:
        return a + DIGITS[0] * (APPEND_WIDTH - 1) + DIGITS[1]
    digits[i] += 1
    if digits[-1] == 0:
        digits[-1] = 1
    return "".join(DIGITS[d] for d in digits)


def _midpoint(a: str, b: str | None) -> str:
    if b is not None:
        n = 0
        while n < len(b) and (a[n] if n < len(a) else DIGITS[0]) == b[n]:
            n += 1
        if n > 0:
            return b[:n] + _midpoint(a[n:], b[n:])
    low = _INDEX[a[0]] if a else 0
    high = _INDEX[b[0]] if b else BASE
    if high - low > 1:
        return DIGITS[(low + high + 1) // 2]
    if b is not None and len(b) > 1:
        return b[0]
    return DIGITS[low] + _midpoint(a[1:], None)


def spread_keys(count: int) -> list[str]:
    """``count`` increasing keys, evenly spaced, as short as the count allows."""
    width = 1
    while BASE**width <= count * 4:
        width += 1
    step = BASE**width // (count + 1)
    keys = []
    for i in range(1, count + 1):
        value = step * i
        digits = []
        for _ in range(width):
            value, rem = divmod(value, BASE)
            digits.append(DIGITS[rem])
        keys.append("".join(reversed(digits)).rstrip(DIGITS[0]))
    return keys
