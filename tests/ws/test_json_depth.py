"""The JSON nesting check (README, connection rules): exact on every JSON text, whatever its
strings hold, and one pass over a crafted frame, never a pass per level nor a scan per quote.
Crafted frames reach a real server too: each is answered, and the socket goes on."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pm.ws.codec import json_depth_exceeds
from tests.conftest import LiveServer, TokenFactory

from .client import Client, payload

LIMIT = 64
MIB = 1024 * 1024
TEXT = st.text(alphabet=st.sampled_from('ab[]{}"\\\n\u00e9\u2028/'), max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def _nest(value: Any, levels: int) -> Any:
    for n in range(levels):
        value = [value] if n % 2 else {"k": value}
    return value


@settings(max_examples=300, deadline=None)
@given(VALUES, st.integers(min_value=0, max_value=8), st.integers(min_value=2, max_value=12))
def test_the_check_agrees_with_the_depth_of_any_json(value: Any, extra: int, limit: int) -> None:
    nested = _nest(value, extra)
    for text in (json.dumps(nested), json.dumps(nested, ensure_ascii=False, indent=1)):
        assert json_depth_exceeds(text, limit) is (_depth(nested) > limit), text


def test_brackets_and_escapes_inside_strings_are_not_nesting() -> None:
    tricky = ["[[[[", "}}}}", 'a "quoted" [', "\\", '\\"[', "\\\\", "é[ü{"]
    value = _nest(tricky, LIMIT - 1)
    assert not json_depth_exceeds(json.dumps(value), LIMIT)
    assert not json_depth_exceeds(json.dumps(value, ensure_ascii=False), LIMIT)
    assert json_depth_exceeds(json.dumps([value, [[["x"]]]]), LIMIT)


def test_frames_that_do_not_nest_are_refused_as_well() -> None:
    """Unbalanced brackets, or anything but ASCII outside a string: not JSON, whatever the
    depth, so the check may refuse them before the parser does."""
    for text in ("[" * (LIMIT + 1), "]" * (LIMIT + 1) + "[" * (LIMIT + 1), "[é]" * (LIMIT + 1)):
        assert json_depth_exceeds(text, LIMIT)


def test_crafted_megabyte_frames_are_decided() -> None:
    """The frames that cost the earlier checks most: nesting just at the bound repeated (one
    pass per level: ~250 ms for 1 MiB) and an unterminated string of escaped quotes (a regular
    expression for strings backtracked on it: 16 s for 60 KB, hours for 1 MiB)."""
    at_bound = ("[" * LIMIT + "]" * LIMIT) * (MIB // (2 * LIMIT))
    over = at_bound[: -LIMIT - 1] + "[[]]" + "]" * (LIMIT - 1)
    escaped = "[" * (LIMIT + 1) + '"' + '\\"' * (MIB // 2)
    many_strings = "[" * LIMIT + '"a",' * (MIB // 4) + '""' + "]" * LIMIT
    assert not json_depth_exceeds(at_bound, LIMIT)
    assert json_depth_exceeds(over, LIMIT)
    assert json_depth_exceeds(escaped, LIMIT)
    assert not json_depth_exceeds(many_strings, LIMIT)


async def test_crafted_frames_over_a_socket_are_answered_and_it_goes_on(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    frames = [
        '{"message_id":"a","list_projects":{},"x":' + "[" * 100 + "]" * 100 + "}",
        '{"message_id":"b","list_projects":{},"x":' + "[" * 70 + '"' + '\\"' * (MIB // 4),
        '{"message_id":"c","list_projects":{},"x":' + "[[]]," * (MIB // 8) + "}",
    ]
    client = await Client.open(live_server.ws, make_token(), max_size=None)
    try:
        for frame in frames:
            await client.conn.send(frame)
            answer = await client.recv(timeout=60)
            assert payload(answer)[1]["code"] == "INVALID_MESSAGE"
        assert payload(await client.request("list_projects"))[0] == "projects_list"
    finally:
        await client.close()
