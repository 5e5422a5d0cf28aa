"""Order keys: always strictly between their neighbours, and short for the common cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm.domain.ordering import APPEND_WIDTH, MAX_KEY_LENGTH, key_between, spread_keys


def test_appending_keeps_order_and_grows_keys_slowly() -> None:
    keys: list[str] = []
    last: str | None = None
    for _ in range(10_000):
        last = key_between(last, None)
        keys.append(last)
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # 10,000 appends to one parent: no key comes near the length that makes an append respace
    # every sibling (pm.services.work_items._end_position); bumping the last digit grew one
    # character per ~61 appends and respaced on every append past ~2,700.
    assert max(map(len, keys)) <= 4 < MAX_KEY_LENGTH


def test_appending_counts_up_with_carry_and_grows_only_after_top_digits() -> None:
    assert key_between("zz", None) == "zz" + "0" * (APPEND_WIDTH - 1) + "1"
    assert key_between("z001", None) == "z002"
    assert key_between("z00z", None) == "z011"  # carried; a last digit 0 is stepped over
    assert key_between("Vz", None) == "W1"
    last = "z" * 40
    for _ in range(61 * 62 * 3):
        last = key_between(last, None)
    assert len(last) == 40 + APPEND_WIDTH  # no growth for 61 x 62^2 (~234,000) appends


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
