"""Order keys: always strictly between their neighbours, and short for the common cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm.domain.ordering import MAX_KEY_LENGTH, key_between, spread_keys


def test_appending_keeps_order_and_grows_keys_slowly() -> None:
    keys: list[str] = []
    last: str | None = None
    for _ in range(5000):
        last = key_between(last, None)
        keys.append(last)
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # One digit per ~60 appends: 5,000 appends stay far below the length that forces a respace
    # (halving the gap to the open end grew a digit every ~5 appends and overflowed the stack).
    assert max(map(len, keys)) <= 5000 // 60 + 2
    assert max(map(len, keys[:2000])) < MAX_KEY_LENGTH


def test_appending_after_a_key_of_top_digits_grows_by_one_digit() -> None:
    assert key_between("zz", None) == "zz1"
    assert key_between("Vz", None) == "W"


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=300))
def test_inserting_anywhere_keeps_strict_order(spots: list[int]) -> None:
    keys: list[str] = []
    for spot in spots:
        index = spot % (len(keys) + 1)
        low = keys[index - 1] if index > 0 else None
        high = keys[index] if index < len(keys) else None
        key = key_between(low, high)
        assert (low is None or low < key) and (high is None or key < high)
        assert not key.endswith("0")
        keys.insert(index, key)


@pytest.mark.parametrize("count", [1, 4, 61, 62, 1000, 20_000])
def test_spread_keys_are_increasing_and_short(count: int) -> None:
    keys = spread_keys(count)
    assert len(keys) == count and keys == sorted(set(keys))
    assert max(map(len, keys)) <= 4


@pytest.mark.parametrize(("low", "high"), [("b", "a"), ("a", "a"), ("a0", None), ("a!", None)])
def test_out_of_order_or_invalid_keys_are_refused(low: str, high: str | None) -> None:
    with pytest.raises(ValueError):
        key_between(low, high)
