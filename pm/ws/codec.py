"""Frames <-> Envelope. Protobuf (binary frames) and the proto3 JSON mapping (text frames)
share the one schema in pm.proto; outgoing envelopes are plain dicts in the JSON mapping's
shape (the service layer's payloads), so an event is encoded once per encoding, not per socket.

JSON goes through orjson both ways, and an incoming JSON frame becomes an Envelope through the
message constructors (C) when its names and values are the constructors' own (snake_case names,
JSON numbers for integers: what pm's clients send); anything else (lowerCamelCase, int64 as a
string...) takes protobuf's JSON mapping parser, which is exact and about ten times slower."""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from pm.errors import InvalidMessage
from pm.observability import metrics
from pm.ws.fast_encode import encode_by_constructor
from pm.ws.pm_pb2 import Envelope

# Payload field numbers of requests (pm.proto: each range's responses follow it).
REQUEST_NUMBERS = (
    range(20, 100),
    range(200, 225),
    range(300, 310),
    range(320, 330),
    range(340, 355),
    range(370, 380),
)
REQUEST_PAYLOADS: frozenset[str] = frozenset(
    field.name
    for field in Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
    if any(field.number in numbers for numbers in REQUEST_NUMBERS)
)
ALL_PAYLOADS: frozenset[str] = frozenset(
    field.name for field in Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
)


class Encoding(StrEnum):
    PROTOBUF = "pm.v1"
    JSON = "pm.v1.json"


_ONLY_BRACKETS = str.maketrans({"{": "[", "}": "]"}) | {
    code: None for code in range(128) if chr(code) not in "[]{}"
}


def _outside_strings(text: str) -> str:
    """The text with every JSON string taken out. Escaped backslashes, then escaped quotes go
    first (left to right, as a JSON tokenizer pairs them), so every quote left delimits a
    string: the even pieces between quotes are what lies outside strings. Plain C string
    operations, no regular expression (one that matched strings backtracked quadratically on
    an unterminated string of escaped quotes: 16 s for 60 KB)."""
    plain = text.replace("\\\\", "").replace('\\"', "")
    return "".join(plain.split('"')[::2])


@functools.lru_cache(maxsize=4)
def _nesting(limit: int) -> re.Pattern[str]:
    """Top-level groups of brackets nested at most ``limit`` deep, as a pattern whose
    repetitions are possessive: matched left to right once, never backtracked into, so its
    cost is linear in the text whatever the nesting."""
    group = r"\[\]"
    for _ in range(limit - 1):
        group = r"\[(?:" + group + r")*+\]"
    return re.compile("(?:" + group + ")*+")


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True if brackets nest deeper than ``limit``, or don't nest at all (unbalanced: not JSON
    either). Checked before parsing, so a hostile frame can't exhaust the parser's recursion.

    One pass of C over the frame, never a Python loop per character, and never a pass per
    level: a frame with few brackets is passed at once; otherwise the strings are taken out,
    then everything but brackets, and the brackets must match the nesting pattern whole.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    outside = _outside_strings(text)
    if not outside.isascii():  # JSON has nothing but ASCII outside its strings
        return True
    brackets = outside.translate(_ONLY_BRACKETS)
    return _nesting(limit).fullmatch(brackets) is None


class FrameRefused(InvalidMessage):
    """A frame that is not a request pm knows, with the ``message_id`` it carried (empty when
    none could be read), so that its answer is correlated like any other (PROTOCOL.md: every
    request gets exactly one response): a newer client's payload or a typo gets its error."""

    def __init__(self, message: str, *, message_id: str = "") -> None:
        super().__init__(message)
        self.message_id = message_id


def decode(frame: str | bytes, *, max_json_depth: int) -> Envelope:
    """Parse one frame; anything malformed raises FrameRefused."""
    envelope = Envelope()
    if isinstance(frame, bytes):
        try:
            envelope.ParseFromString(frame)
        except DecodeError:
            raise FrameRefused("the frame is not a protobuf Envelope") from None
        if envelope.WhichOneof("payload") is None:  # an unknown field number stays unknown
            raise FrameRefused("the envelope has no payload pm knows", message_id=_id(envelope))
        return envelope
    if json_depth_exceeds(frame, max_json_depth):
        metrics.BOUND_HITS.labels("ws_json_depth").inc()
        raise FrameRefused(f"JSON nested deeper than {max_json_depth} levels, or unbalanced")
    envelope = _from_json(frame)
    if envelope.WhichOneof("payload") is None:
        raise FrameRefused("the envelope has no payload", message_id=_id(envelope))
    return envelope


def _from_json(frame: str) -> Envelope:
    try:
        body = orjson.loads(frame)
    except orjson.JSONDecodeError:
        raise FrameRefused("the frame is not JSON") from None
    if not isinstance(body, dict):
        raise FrameRefused("the frame is not a JSON Envelope")
    if _has_duplicate_keys(frame, body):
        raise FrameRefused("a key is given twice", message_id=_json_id(body))
    try:
        return Envelope(**body)
    except (TypeError, ValueError):
        pass  # not the constructors' names or values: the JSON mapping decides
    try:
        return json_format.ParseDict(body, Envelope())
    except (json_format.ParseError, ValueError, RecursionError, TypeError):
        raise FrameRefused(_why_not(body), message_id=_json_id(body)) from None


# every string of a JSON text, in order, and the colon after it if it is a key
_STRING_OR_KEY = re.compile(r'"(?:[^"\\]|\\.)*"\s*(:?)')


def _has_duplicate_keys(frame: str, body: dict[str, Any]) -> bool:
    """A key given twice is refused, as protobuf's own JSON parser refuses it: which of two
    values a request meant is not for the server to guess. orjson keeps the last one, so the
    keys the text holds are counted against the keys the parsed document kept."""
    return _STRING_OR_KEY.findall(frame).count(":") != _key_count(body)


def _key_count(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_key_count(item) for item in value.values())
    if isinstance(value, list):
        return sum(_key_count(item) for item in value)
    return 0


def _id(envelope: Envelope) -> str:
    return str(envelope.message_id)


def _json_id(document: dict[str, Any]) -> str:
    """The message id of a JSON frame that did not parse as an Envelope, if it names one."""
    for key in ("message_id", "messageId"):
        value = document.get(key)
        if isinstance(value, str):
            return value
    return ""


def _why_not(document: dict[str, Any]) -> str:
    """Name the payload pm does not know; other faults get one general sentence."""
    unknown = sorted(str(k) for k in document if str(k) not in _ENVELOPE_JSON_NAMES)
    if unknown:
        return f"unknown payload {unknown[0][:64]!r}: not a message of this server's pm.proto"
    return "the frame is not a JSON Envelope"


_ENVELOPE_JSON_NAMES: frozenset[str] = frozenset(
    name for field in Envelope.DESCRIPTOR.fields for name in (field.name, field.json_name)
)


def encode(envelope: dict[str, Any], encoding: Encoding) -> str | bytes:
    if encoding is Encoding.JSON:
        return orjson.dumps(envelope).decode()
    try:
        return encode_by_constructor(envelope)
    except (TypeError, ValueError):
        message = json_format.ParseDict(envelope, Envelope())
        return message.SerializeToString()


def request_args(message: Any) -> dict[str, Any]:
    """A request message as keyword arguments: fields with presence only when set, repeated
    fields as lists, plain scalars always (their default when absent)."""
    args: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            args[field.name] = {key: _plain(item) for key, item in value.items()}
        elif field.is_repeated:
            args[field.name] = [_plain(item) for item in value]
        elif field.has_presence:
            if message.HasField(field.name):
                args[field.name] = _plain(value)
        else:
            args[field.name] = value
    return args


def _plain(value: Any) -> Any:
    """A nested message (a filter, a custom field's ``google.protobuf.Value``) as the plain
    value the service layer takes: its JSON mapping; scalars as they are."""
    if isinstance(value, Message):
        return json_format.MessageToDict(value, preserving_proto_field_name=True)
    return value
