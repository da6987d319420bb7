"""Endpoints that tags keep out of the findings, and what they cost (pure).

`sagewatch:ignore=true` removes an endpoint from the findings and the fleet cost; `sagewatch:snooze-until`
silences its findings for a while. Either hides money, so every digest, the weekly report and the
organization summary list them with their monthly cost: a tag can quiet sagewatch, never make it forget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sagewatch import fields
from sagewatch.catalog import Catalog
from sagewatch.formats import money
from sagewatch.models import Endpoint

LISTED_MAX = 50  # a notification lists at most this many by name (the totals count them all)


@dataclass(frozen=True)
class Hidden:
    endpoint: str
    why: str  # "ignored" | "snoozed"
    monthly_cost_usd: float | None
    until: str | None = None  # snoozed: the day it speaks again (the cap applied)

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "why": self.why,
            "until": self.until,
            "monthly_cost_usd": self.monthly_cost_usd,
        }

    @classmethod
    def from_dict(cls, doc: object) -> Hidden:
        """Strict (a member sends these to the central account)."""
        d = fields.mapping(doc, "hidden")
        why = fields.required_text(d.get("why"), "hidden.why", limit=16)
        if why not in ("ignored", "snoozed"):
            raise fields.FieldError(f"hidden.why must be ignored or snoozed, got {why!r}")
        return cls(
            endpoint=fields.required_text(d.get("endpoint"), "hidden.endpoint"),
            why=why,
            monthly_cost_usd=fields.number(d.get("monthly_cost_usd"), "hidden.monthly_cost_usd", optional=True),
            until=fields.text(d.get("until"), "hidden.until", limit=10, optional=True),
        )

    def line(self) -> str:
        what = f"snoozed until {self.until}" if self.why == "snoozed" else "tagged sagewatch:ignore=true"
        return f"{self.endpoint}: {what}, {money(self.monthly_cost_usd)}/month"


def endpoint_cost(endpoint: Endpoint, catalog: Catalog) -> float | None:
    costs = [v.monthly_cost(catalog) for v in (*endpoint.variants, *endpoint.shadow_variants)]
    return None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 2)


def ignored(endpoints: Iterable[Endpoint], catalog: Catalog) -> list[Hidden]:
    return [Hidden(e.name, "ignored", endpoint_cost(e, catalog)) for e in sorted(endpoints, key=lambda e: e.name)]


def snoozed(until: Mapping[str, date], costs: Mapping[str, float | None]) -> list[Hidden]:
    """Snoozed endpoints (until: the day each speaks again, the cap applied) with their monthly cost."""
    return [Hidden(name, "snoozed", costs.get(name), until[name].isoformat()) for name in sorted(until)]


def total(hidden: Iterable[Hidden]) -> float:
    return round(sum(h.monthly_cost_usd or 0.0 for h in hidden), 2)


def summary_line(hidden: list[Hidden]) -> str | None:
    """One sentence for a notification's head; None when nothing is hidden."""
    if not hidden:
        return None
    ignored = sum(1 for h in hidden if h.why == "ignored")
    return (
        f"Not watched: {ignored} ignored and {len(hidden) - ignored} snoozed endpoints costing "
        f"{money(total(hidden))}/month."
    )
