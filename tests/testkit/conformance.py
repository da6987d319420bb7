"""Every answer the test kit's AWS gives, held to botocore's output shape of its operation: the fake may not invent
a member, drop a required one, give a value of another type, or a string outside its enum.

`checking()` wraps botocore's response parser for the duration: for JSON protocols (SageMaker, Application Auto
Scaling, DynamoDB...) the raw body is checked, unknown members included (botocore's parser would drop them
silently); for the others (CloudWatch's CBOR, S3's and SNS's XML) the parsed answer. A null member is no value:
absent where optional, missing where required.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import botocore.parsers
from botocore.model import ListShape, MapShape, Shape, StructureShape

# moto answers some operations sagewatch never makes with bodies of its own; these are not the test kit's
SKIPPED: set[str] = set()
MAX_VIOLATIONS = 200


class Violations(list[str]):
    def add(self, text: str) -> None:
        if len(self) < MAX_VIOLATIONS:
            self.append(text)


def check(value: Any, shape: Shape, where: str, found: Violations, *, raw: bool) -> None:  # noqa: C901 - a branch a kind
    """Record in `found` how `value` breaks `shape`."""
    if value is None:
        return  # absent: a required member is checked by its structure
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            found.add(f"{where}: a {type(value).__name__}, not a structure ({shape.name})")
            return
        members = shape.members
        for name in shape.required_members:
            if value.get(name) is None:
                found.add(f"{where}.{name}: required by {shape.name}, missing")
        for name, item in value.items():
            if name not in members:
                if raw or name != "ResponseMetadata":
                    found.add(f"{where}.{name}: not a member of {shape.name} (invented)")
                continue
            check(item, members[name], f"{where}.{name}", found, raw=raw)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            found.add(f"{where}: a {type(value).__name__}, not a list ({shape.name})")
            return
        for i, item in enumerate(value):
            check(item, shape.member, f"{where}[{i}]", found, raw=raw)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            found.add(f"{where}: a {type(value).__name__}, not a map ({shape.name})")
            return
        for key, item in value.items():
            check(item, shape.value, f"{where}[{key!r}]", found, raw=raw)
    else:
        _scalar(value, shape, kind, where, found, raw=raw)


def _scalar(value: Any, shape: Shape, kind: str, where: str, found: Violations, *, raw: bool) -> None:
    ok = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "timestamp": (lambda v: isinstance(v, int | float | str) and not isinstance(v, bool))
        if raw
        else (lambda v: isinstance(v, datetime)),
        "blob": lambda v: isinstance(v, str | bytes | bytearray) or hasattr(v, "read"),
    }.get(kind)
    if ok is None:
        return
    if not ok(value):
        found.add(f"{where}: {type(value).__name__} {str(value)[:60]!r}, not a {kind} ({shape.name})")
        return
    enum = shape.metadata.get("enum")
    if kind == "string" and enum and value not in enum:
        found.add(f"{where}: {value[:80]!r} is not one of {shape.name}'s values")


@contextmanager
def checking() -> Iterator[Violations]:
    """Every response parsed inside the block, checked; the violations found, as they are found."""
    found = Violations()
    original = botocore.parsers.ResponseParser.parse

    def parse(self: Any, response: dict[str, Any], shape: Shape | None) -> Any:
        parsed = original(self, response, shape)
        if shape is None or int(response.get("status_code", 200)) >= 300:
            return parsed
        operation = getattr(shape, "name", "?")
        if operation in SKIPPED:
            return parsed
        if isinstance(self, botocore.parsers.BaseJSONParser) and not isinstance(self, botocore.parsers.BaseRestParser):
            body = response.get("body") or b"{}"
            try:
                document = json.loads(body)
            except ValueError:
                found.add(f"{operation}: the body is not JSON")
                return parsed
            check(document, shape, operation, found, raw=True)
        elif isinstance(parsed, dict):
            check({k: v for k, v in parsed.items() if k != "ResponseMetadata"}, shape, operation, found, raw=False)
        return parsed

    botocore.parsers.ResponseParser.parse = parse  # type: ignore[method-assign]
    try:
        yield found
    finally:
        botocore.parsers.ResponseParser.parse = original  # type: ignore[method-assign]
