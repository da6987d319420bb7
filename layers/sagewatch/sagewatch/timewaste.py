"""Waste in time for the cost report (pure): what the off-hours and batch-candidate rules find over the report's
own hourly reads, priced for the report's period, and the consolidation groups. The same rules as the scan's
(sagewatch.rules.offhours, batch, consolidate), read from the metrics the report already has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sagewatch.catalog import HOURS_PER_MONTH, Catalog
from sagewatch.metrics import MetricResults, Windows
from sagewatch.models import Endpoint, Finding, Kind
from sagewatch.rules import Need, judge_endpoint
from sagewatch.rules.consolidate import consolidate
from sagewatch.settings import Thresholds

TIME_KINDS = (Kind.OFF_HOURS, Kind.BATCH_CANDIDATE)


@dataclass(frozen=True)
class TimeWaste:
    """One variant's money spent in hours it serves (almost) nothing, over the report's period."""

    endpoint: str
    variant: str | None
    kind: str
    monthly_usd: float
    period_usd: float
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "variant": self.variant,
            "kind": self.kind,
            "monthly_usd": self.monthly_usd,
            "period_usd": self.period_usd,
            "summary": self.summary,
        }


def waste_in_time(
    endpoints: Sequence[Endpoint],
    results: MetricResults,
    catalog: Catalog,
    windows: Windows,
    thresholds: Thresholds,
    *,
    account: str | None,
    region: str,
) -> tuple[list[TimeWaste], list[dict[str, Any]]]:
    """(waste in time per variant, consolidation groups) from the report's hourly reads."""
    days = (windows.end - windows.start).total_seconds() / 86400
    out: list[TimeWaste] = []
    needs: list[Need] = []
    for endpoint in endpoints:
        found = judge_endpoint(endpoint, results, catalog, thresholds, windows, needs=needs, schedule=results)
        out += [_priced(f, days) for f in found if f.kind in TIME_KINDS and f.monthly_savings_usd]
    groups = consolidate(needs, catalog, thresholds, windows, account=account, region=region)
    out.sort(key=lambda w: (-w.monthly_usd, w.endpoint))
    return out, [_group(f) for f in groups]


def _priced(finding: Finding, days: float) -> TimeWaste:
    monthly = float(finding.monthly_savings_usd or 0.0)
    return TimeWaste(
        endpoint=finding.endpoint,
        variant=finding.variant,
        kind=finding.kind.value,
        monthly_usd=round(monthly, 2),
        period_usd=round(monthly * days * 24 / HOURS_PER_MONTH, 2),
        summary=finding.recommendation.summary,
    )


def _group(finding: Finding) -> dict[str, Any]:
    plan = finding.recommendation.consolidation or {}
    return {
        "endpoints": [e.get("endpoint") for e in finding.evidence.get("endpoints", [])],
        "instance_type": plan.get("instance_type"),
        "instance_count": plan.get("instance_count"),
        "monthly_cost_usd": finding.monthly_cost_usd,
        "monthly_cost_after_usd": plan.get("monthly_cost_usd"),
        "monthly_savings_usd": finding.monthly_savings_usd,
        "summary": finding.recommendation.summary,
    }
