"""The one way sagewatch writes money and instants (pure)."""

from __future__ import annotations

from datetime import datetime


def money(value: object, *, cents: bool = False, unknown: str = "unknown") -> str:
    """$1,234 (or $1,234.56 with cents); `unknown` for anything that is not a number."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return unknown
    return f"${value:,.2f}" if cents else f"${value:,.0f}"


def iso_z(instant: datetime, *, seconds: bool = False) -> str:
    """ISO 8601 in UTC with a Z (2026-11-22T09:00:00Z); `seconds` drops the microseconds."""
    return (instant.replace(microsecond=0) if seconds else instant).isoformat().replace("+00:00", "Z")


def duration(minutes: int) -> str:
    """How long, as a person says it: 95 minutes, 36 hours, 30 days."""
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if minutes < 48 * 60:
        return f"{minutes // 60} hours"
    return f"{minutes // (24 * 60)} days"
