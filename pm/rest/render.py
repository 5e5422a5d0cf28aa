"""JSON answers of /api/v1, validated and encoded by their response model, a large one off the
event loop.

FastAPI validates and encodes an async endpoint's answer on the event loop, in one call: a page
of 2 MiB holds the loop, and the interpreter, for milliseconds, and every other tenant's
request waits. Here an answer is encoded part by part, each row of its lists on its own (a
thread handing the interpreter back between rows, no call holds it for more than one row):
on the loop while the answer is small, in a thread once it has passed ``OFFLOAD_BYTES``, as
the WebSocket door does with its large answers. The bytes are the ones FastAPI would send.
"""

from __future__ import annotations

import asyncio
import functools
import json
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

OFFLOAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class _Field:
    """How one field of a response model is encoded: a list row by row, a model field by
    field, anything else whole."""

    name: str
    key: bytes  # '"name":'
    info: FieldInfo
    rows: TypeAdapter[Any] | None = None  # a list: its element's adapter
    model: type[BaseModel] | None = None  # a nested model
    whole: TypeAdapter[Any] | None = None


@functools.cache
def _fields(model: type[BaseModel]) -> tuple[_Field, ...]:
    fields = []
    for name, info in model.model_fields.items():
        key = json.dumps(name).encode() + b":"
        annotation = info.annotation
        if typing.get_origin(annotation) is list:
            (element,) = typing.get_args(annotation)
            fields.append(_Field(name, key, info, rows=TypeAdapter(element)))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields.append(_Field(name, key, info, model=annotation))
        else:
            fields.append(_Field(name, key, info, whole=TypeAdapter(annotation or Any)))
    return tuple(fields)


def _encoded(adapter: TypeAdapter[Any], value: Any) -> bytes:
    return adapter.dump_json(adapter.validate_python(value))


def _chunks(model: type[BaseModel], content: Mapping[str, Any]) -> Iterator[bytes]:
    """The JSON of ``content`` as ``model`` validates and dumps it, a part at a time."""
    yield b"{"
    for index, field in enumerate(_fields(model)):
        yield field.key if index == 0 else b"," + field.key
        if field.name in content:
            value = content[field.name]
        elif field.info.is_required():
            raise ValueError(f"{model.__name__}.{field.name} is missing from the answer")
        else:
            value = field.info.get_default(call_default_factory=True)
        if field.rows is not None:
            yield b"["
            for number, row in enumerate(value):
                yield _encoded(field.rows, row) if number == 0 else b"," + _encoded(field.rows, row)
            yield b"]"
        elif field.model is not None:
            yield from _chunks(field.model, value)
        else:
            assert field.whole is not None
            yield _encoded(field.whole, value)
    yield b"}"


async def json_answer(model: type[BaseModel], content: Mapping[str, Any]) -> Response:
    """The answer as ``model`` says, encoded on the loop up to ``OFFLOAD_BYTES``, the rest of
    it in a thread."""
    chunks = _chunks(model, content)
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > OFFLOAD_BYTES:
            body += await asyncio.to_thread(b"".join, chunks)
            break
    return Response(bytes(body), media_type="application/json")
