"""The size estimate that decides whether an answer is encoded in a thread: it must say
"larger" for anything that encodes past the bound, whatever the shape, and stop early."""

from __future__ import annotations

import orjson

from pm.ws.sizing import larger_than

BOUND = 64 * 1024


def _rows(count: int, text: str) -> dict[str, object]:
    return {"projects": [{"id": str(n), "title": text, "version": n} for n in range(count)]}


def test_a_small_answer_is_not_larger() -> None:
    answer = _rows(3, "a title")
    assert len(orjson.dumps(answer)) < BOUND
    assert not larger_than(answer, BOUND)


def test_one_long_text_is_larger() -> None:
    assert larger_than(_rows(1, "x" * (BOUND + 1)), BOUND)


def test_many_small_rows_are_larger_once_their_encoding_is() -> None:
    for count in (2_000, 10_000):
        answer = _rows(count, "t")
        assert len(orjson.dumps(answer)) > BOUND
        assert larger_than(answer, BOUND)


def test_the_estimate_never_says_smaller_than_the_encoding_for_scalars_and_nesting() -> None:
    answer = {"a": [[1, 2, 3] * 5_000], "b": {"c": [None, True, 1.5] * 5_000}}
    assert len(orjson.dumps(answer)) > BOUND
    assert larger_than(answer, BOUND)
