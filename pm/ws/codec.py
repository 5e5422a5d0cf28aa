"""Frames <-> Envelope. Protobuf (binary frames) and the proto3 JSON mapping (text frames)
share the one schema in pm.proto; outgoing envelopes are plain dicts in the JSON mapping's
shape (the service layer's payloads), so an event is encoded once per encoding, not per socket."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from pm.errors import InvalidMessage
from pm.observability import metrics
from pm.ws.fast_encode import encode_by_constructor
from pm.ws.pm_pb2 import Envelope

REQUEST_PAYLOADS: frozenset[str] = frozenset(
    field.name
    for field in Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
    if field.number >= 20 and field.number < 100
)
ALL_PAYLOADS: frozenset[str] = frozenset(
    field.name for field in Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
)


class Encoding(StrEnum):
    PROTOBUF = "pm.v1"
    JSON = "pm.v1.json"


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_ONLY_BRACKETS = str.maketrans({"{": "[", "}": "]"}) | {
    code: None for code in range(128) if chr(code) not in "[]{}"
}


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True if brackets nest deeper than ``limit`` (checked before parsing, so a hostile frame
    can't exhaust the parser's recursion).

    Bounded in cost (``limit`` passes over the frame at most) and run in C, never a Python
    loop per character: a frame with few brackets is passed at once; otherwise strings are
    dropped, then everything but brackets, then innermost pairs, one level a pass.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _JSON_STRING.sub("", text).translate(_ONLY_BRACKETS)
    too_deep = "[" * (limit + 1)
    for _ in range(limit):
        if not brackets:
            return False
        if too_deep in brackets:
            return True
        shorter = brackets.replace("[]", "")
        if shorter == brackets:  # unbalanced or not JSON: the parser will say so
            return False
        brackets = shorter
    return bool(brackets)


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
        raise FrameRefused(f"JSON nested deeper than {max_json_depth} levels")
    try:
        document = json.loads(frame, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError):
        raise FrameRefused("the frame is not a JSON Envelope") from None
    try:
        json_format.ParseDict(document, envelope)
    except (json_format.ParseError, ValueError, RecursionError, TypeError):
        raise FrameRefused(_why_not(document), message_id=_json_id(document)) from None
    if envelope.WhichOneof("payload") is None:
        raise FrameRefused("the envelope has no payload", message_id=_id(envelope))
    return envelope


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice is refused, as protobuf's own JSON parser refuses it: which of two
    values a request meant is not for the server to guess."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("a key is given twice")
    return document


def _id(envelope: Envelope) -> str:
    return str(envelope.message_id)


def _json_id(document: object) -> str:
    """The message id of a JSON frame that did not parse as an Envelope, if it names one."""
    if not isinstance(document, dict):
        return ""
    for key in ("message_id", "messageId"):
        value = document.get(key)
        if isinstance(value, str):
            return value
    return ""


def _why_not(document: object) -> str:
    """Name the payload pm does not know; other faults get one general sentence."""
    if isinstance(document, dict):
        unknown = sorted(str(k) for k in document if str(k) not in _ENVELOPE_JSON_NAMES)
        if unknown:
            return f"unknown payload {unknown[0][:64]!r}: not a message of this server's pm.proto"
    return "the frame is not a JSON Envelope"


_ENVELOPE_JSON_NAMES: frozenset[str] = frozenset(
    name for field in Envelope.DESCRIPTOR.fields for name in (field.name, field.json_name)
)


def encode(envelope: dict[str, Any], encoding: Encoding) -> str | bytes:
    if encoding is Encoding.JSON:
        return json.dumps(envelope, separators=(",", ":"))
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
        if field.is_repeated:
            args[field.name] = list(getattr(message, field.name))
        elif field.has_presence:
            if message.HasField(field.name):
                args[field.name] = getattr(message, field.name)
        else:
            args[field.name] = getattr(message, field.name)
    return args
