"""Strict readers of one field of a document that came from another system (pure).

A document read back from sagewatch's own state, or forwarded by a member account, is data: each field is
checked for its type (a bool is not a number, a number is not a string), finiteness and bounds before
anything renders, sorts or sums it. Each reader raises FieldError naming the field, what it must be and
what it was (bounded), never a TypeError deep inside a renderer later.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sagewatch.bounds import NAME_MAX, bounded

MONEY_MAX = 1e9  # no endpoint, member or organization costs a billion dollars a month
COUNT_MAX = 10_000_000


class FieldError(ValueError):
    """A field that is not what it must be; the message names it."""


def _got(value: object) -> str:
    return bounded(repr(value), 60)


def number(
    value: object, key: str, *, minimum: float = 0.0, maximum: float = MONEY_MAX, optional: bool = False
) -> float | None:
    """A finite number in [minimum, maximum] (None allowed when optional)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError(f"{key} must be a finite number{' or null' if optional else ''}, got {_got(value)}")
    if not minimum <= value <= maximum:
        raise FieldError(f"{key} must be between {minimum:g} and {maximum:g}, got {value:g}")
    return float(value)


def required_number(value: object, key: str, *, minimum: float = 0.0, maximum: float = MONEY_MAX) -> float:
    result = number(value, key, minimum=minimum, maximum=maximum)
    assert result is not None
    return result


def whole(value: object, key: str, *, minimum: int = 0, maximum: int = COUNT_MAX, optional: bool = False) -> int | None:
    """A whole number in [minimum, maximum] (None allowed when optional). 3.0 is accepted (JSON has no ints)."""
    if value is None and optional:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"{key} must be a whole number{' or null' if optional else ''}, got {_got(value)}")
    if not minimum <= value <= maximum:
        raise FieldError(f"{key} must be between {minimum} and {maximum}, got {value}")
    return value


def text(
    value: object,
    key: str,
    *,
    limit: int = NAME_MAX,
    optional: bool = False,
    pattern: re.Pattern[str] | None = None,
) -> str | None:
    """A string (bounded to `limit`; control characters dropped), matching `pattern` when given."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not value and not optional):
        raise FieldError(f"{key} must be a non-empty string{' or null' if optional else ''}, got {_got(value)}")
    if not value:
        return None
    if pattern is not None and not pattern.fullmatch(value):
        raise FieldError(f"{key} {_got(value)} is not a valid {key.rsplit('.', 1)[-1].replace('_', ' ')}")
    return bounded(value, limit)


def required_text(value: object, key: str, *, limit: int = NAME_MAX, pattern: re.Pattern[str] | None = None) -> str:
    result = text(value, key, limit=limit, pattern=pattern)
    assert result is not None
    return result


def mapping(value: object, key: str, *, optional: bool = False) -> Mapping[str, Any]:
    """An object (an empty one for null when optional)."""
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise FieldError(f"{key} must be an object, got {_got(value)}")
    return value


def strings(value: object, key: str, *, limit: int = NAME_MAX, items: int = 1000) -> list[str]:
    """A list of at most `items` strings."""
    if not isinstance(value, list) or len(value) > items:
        raise FieldError(f"{key} must be a list of at most {items} strings, got {_got(value)}")
    return [required_text(v, f"{key}[{i}]", limit=limit) for i, v in enumerate(value)]


def numbers_by_name(value: object, key: str, *, maximum: float = MONEY_MAX, items: int = 100) -> dict[str, float]:
    """An object of at most `items` names to finite numbers (utilization by resource, say)."""
    doc = mapping(value, key)
    if len(doc) > items:
        raise FieldError(f"{key} must have at most {items} entries, has {len(doc)}")
    return {
        required_text(k, f"{key} key", limit=64): required_number(v, f"{key}.{k}", minimum=-maximum, maximum=maximum)
        for k, v in doc.items()
    }


def instant(value: object, key: str) -> datetime:
    """An ISO 8601 time with a time zone."""
    if not isinstance(value, str):
        raise FieldError(f"{key} must be an ISO 8601 time, got {_got(value)}")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(f"{key} is not an ISO 8601 time: {_got(value)}") from None
    if when.tzinfo is None:
        raise FieldError(f"{key} has no time zone: {_got(value)}")
    return when


def plain_json(value: object, key: str, *, depth: int = 6) -> None:
    """Raises unless `value` is plain JSON (objects with string keys, lists, strings, finite numbers, booleans,
    null) nested at most `depth` deep: what every renderer and json.dumps(allow_nan=False) can take."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise FieldError(f"{key} must be a finite number, got {_got(value)}")
        return
    if depth <= 0:
        raise FieldError(f"{key} is nested too deeply")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise FieldError(f"{key} has a key that is not a string: {_got(k)}")
            plain_json(v, f"{key}.{k}", depth=depth - 1)
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            plain_json(v, f"{key}[{i}]", depth=depth - 1)
        return
    raise FieldError(f"{key} is not JSON: {_got(value)}")
