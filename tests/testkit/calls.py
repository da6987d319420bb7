"""Counting API calls on a boto3 session or client (no moto needed: the fake AWS benchmark uses it too)."""

from __future__ import annotations

from collections import Counter
from typing import Any


def count_calls(events: Any) -> Counter[str]:
    """Count API calls (not retries) by operation on a boto3 session's or client's event emitter."""
    calls: Counter[str] = Counter()

    def handler(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events.register("before-call", handler)
    return calls
