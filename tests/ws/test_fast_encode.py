"""The constructor path of the protobuf encoder gives exactly the bytes ParseDict gives, and a
payload it can't take still encodes the general way."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from pm.ws.codec import Encoding, encode
from pm.ws.fast_encode import encode_by_constructor
from pm.ws.pm_pb2 import Envelope

ITEM = {
    "id": "i1",
    "item_type": "task",
    "project_id": "p1",
    "parent_id": None,
    "title": "Ünïcode ✓",
    "description": "",
    "status": "todo",
    "priority": "medium",
    "assignee_id": None,
    "story_points": 0,
    "sprint_id": None,
    "position": "a0",
    "version": 2**40,
    "is_blocked": True,
    "created_at": 1_796_158_981_000,
    "created_by": "u",
    "updated_at": 1_796_158_981_000,
    "updated_by": "u",
}
ENVELOPES: list[dict[str, Any]] = [
    {
        "message_id": "m",
        "seq": 7,
        "actor_id": "a",
        "sent_at_ms": 1,
        "work_item_created": {"work_item": ITEM},
    },
    {
        "message_id": "m",
        "sent_at_ms": 1,
        "error": {
            "code": "CONFLICT",
            "message": "title changed",
            "field": None,
            "current_version": 3,
            "conflicts": [{"field": "title", "seen": "a", "stored": None, "attempted": "c"}],
            "path": [],
        },
    },
    {
        "message_id": "m",
        "changes": {
            "events": [
                {
                    "message_id": "e",
                    "seq": 5,
                    "work_item_updated": {
                        "work_item": ITEM,
                        "changes": [{"field": "title", "old_value": None, "new_value": "x"}],
                    },
                }
            ],
            "as_of_seq": 5,
            "has_more": False,
        },
    },
    {"message_id": "", "presence_changed": {"project_id": "p1", "users": ["a", "b"]}},
    {
        "message_id": "m",
        "project_snapshot": {
            "project": ITEM,
            "work_items": [ITEM] * 3,
            "sprints": [],
            "as_of_seq": 0,
        },
    },
]


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_the_same_bytes_as_parse_dict(envelope: dict[str, Any]) -> None:
    expected = json_format.ParseDict(envelope, Envelope()).SerializeToString()
    assert encode_by_constructor(envelope) == expected
    assert encode(envelope, Encoding.PROTOBUF) == expected


def test_what_the_constructors_refuse_still_encodes_the_general_way() -> None:
    envelope = {
        "message_id": "m",
        "seq": "12",
        "subscribed": {"project_ids": ["p"], "current_seq": "9"},
    }
    with pytest.raises((TypeError, ValueError)):
        encode_by_constructor(envelope)
    decoded = Envelope()
    decoded.ParseFromString(encode(envelope, Encoding.PROTOBUF))  # type: ignore[arg-type]
    assert (decoded.seq, decoded.subscribed.current_seq) == (12, 9)


def test_an_unknown_field_is_still_refused() -> None:
    with pytest.raises(json_format.ParseError):
        encode({"message_id": "m", "no_such_field": 1}, Encoding.PROTOBUF)
