"""Frozen dataclasses to JSON and back, by their type hints (pure). What one Lambda function hands another through
S3 (a fan-out scan's chunks, sagewatch.app.fanout): an endpoint as it was described, a consolidation need.

Decoding is strict: a field missing, of another type, or an unknown enum value raises WireError naming its path
(`part.endpoints[3].variants[0].instance_count`), so nothing half-read is judged."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


class WireError(ValueError):
    """A document that does not describe the type asked for."""


def to_wire(value: Any) -> Any:
    """JSON-ready: dataclasses as objects of their fields, enums as their values, datetimes as ISO 8601 with
    their offset, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise WireError(f"{value!r} has no JSON form")
    return value


def from_wire(kind: type[T], doc: Any, path: str = "$") -> T:
    """The `kind` that to_wire() wrote as `doc`; WireError naming the path of the first thing that is not."""
    return typing.cast(T, _decode(kind, doc, path))


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _decode(kind: Any, doc: Any, path: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is Any:
        return doc
    if origin in (typing.Union, types.UnionType):
        return _union(kind, doc, path)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass(kind, doc, path)
    if origin in (tuple, list, Sequence) or kind in (tuple, list):
        return _sequence(kind, doc, path)
    if origin in (dict, Mapping) or kind is dict:
        if not isinstance(doc, Mapping):
            raise WireError(f"{path} must be an object, got {type(doc).__name__}")
        value_kind = typing.get_args(kind)[1] if typing.get_args(kind) else Any
        return {str(k): _decode(value_kind, v, f"{path}.{k}") for k, v in doc.items()}
    return _scalar(kind, doc, path)


def _union(kind: Any, doc: Any, path: str) -> Any:
    options = typing.get_args(kind)
    if doc is None and type(None) in options:
        return None
    problems = []
    for option in (o for o in options if o is not type(None)):
        try:
            return _decode(option, doc, path)
        except WireError as exc:
            problems.append(str(exc))
    raise WireError("; ".join(problems) or f"{path} must not be null")


def _dataclass(kind: type, doc: Any, path: str) -> Any:
    if not isinstance(doc, Mapping):
        raise WireError(f"{path} must be an object ({kind.__name__}), got {type(doc).__name__}")
    hints = _hints(kind)
    values = {}
    for f in dataclasses.fields(kind):
        if f.name in doc:
            values[f.name] = _decode(hints[f.name], doc[f.name], f"{path}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise WireError(f"{path}.{f.name} is missing")
    try:
        return kind(**values)
    except (TypeError, ValueError) as exc:  # a dataclass's own checks (Thresholds' bounds)
        raise WireError(f"{path}: {exc}") from None


def _sequence(kind: Any, doc: Any, path: str) -> Any:
    if not isinstance(doc, list):
        raise WireError(f"{path} must be a list, got {type(doc).__name__}")
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is tuple and args and args[-1] is not Ellipsis:  # a fixed tuple: (name, arn, config)
        if len(doc) != len(args):
            raise WireError(f"{path} must have {len(args)} items, got {len(doc)}")
        return tuple(_decode(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, doc, strict=True)))
    item = args[0] if args else Any
    items = [_decode(item, v, f"{path}[{i}]") for i, v in enumerate(doc)]
    return items if list in (origin, kind) else tuple(items)


def _scalar(kind: Any, doc: Any, path: str) -> Any:
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(doc)
        except ValueError:
            raise WireError(f"{path} must be one of {[e.value for e in kind]}, got {doc!r}"[:300]) from None
    if kind is datetime:
        return _instant(doc, path)
    if kind is float:
        if isinstance(doc, int | float) and not isinstance(doc, bool) and math.isfinite(doc):
            return doc
        raise WireError(f"{path} must be a number, got {doc!r}"[:300])
    if kind in (int, str, bool):
        if isinstance(doc, kind) and (kind is bool or not isinstance(doc, bool)):
            return doc
        raise WireError(f"{path} must be {kind.__name__}, got {type(doc).__name__}")
    raise WireError(f"{path}: {kind!r} cannot be read from JSON")


def _instant(doc: Any, path: str) -> datetime:
    if not isinstance(doc, str):
        raise WireError(f"{path} must be an ISO 8601 time, got {type(doc).__name__}")
    try:
        when = datetime.fromisoformat(doc)
    except ValueError:
        raise WireError(f"{path} must be an ISO 8601 time, got {doc[:40]!r}") from None
    if when.tzinfo is None:
        raise WireError(f"{path} must carry its offset, got {doc[:40]!r}")
    return when
