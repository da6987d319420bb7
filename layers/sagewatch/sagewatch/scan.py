"""The fleet scan: discover endpoints, read their metrics in batches, apply the rules, report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sagewatch.catalog import Catalog
from sagewatch.metrics import MetricResults, MetricSpec, Windows, plan_queries
from sagewatch.models import Endpoint, ScanError, Skipped
from sagewatch.report import ScanReport
from sagewatch.rules import judge_endpoint
from sagewatch.settings import Thresholds


@dataclass
class Discovery:
    endpoints: list[Endpoint] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)  # every endpoint that exists, whatever its state


class Inventory(Protocol):
    def discover(self) -> Discovery: ...


class MetricsReader(Protocol):
    def fetch(self, specs: Sequence[MetricSpec], windows: Windows) -> tuple[MetricResults, list[ScanError]]: ...

    def instance_metrics(self, endpoints: Sequence[Endpoint]) -> tuple[list[MetricSpec], list[ScanError]]: ...


def run_scan(
    inventory: Inventory,
    metrics: MetricsReader,
    catalog: Catalog,
    thresholds: Thresholds,
    *,
    now: datetime,
    region: str,
    account: str | None,
) -> ScanReport:
    windows = Windows.ending_at(now, thresholds)
    discovery = inventory.discover()
    per_instance, listing_errors = metrics.instance_metrics(discovery.endpoints)
    results, metric_errors = metrics.fetch(plan_queries(discovery.endpoints) + per_instance, windows)
    metric_errors = listing_errors + metric_errors
    findings = []
    fleet_cost = 0.0
    for endpoint in discovery.endpoints:
        findings += judge_endpoint(endpoint, results, catalog, thresholds, windows)
        for variant in endpoint.variants:
            spec = catalog.get(variant.instance_type)
            if spec is not None:
                fleet_cost += spec.monthly_cost(variant.instance_count)
    if account is None and discovery.endpoints:
        account = discovery.endpoints[0].arn.split(":")[4]
    return ScanReport(
        account=account,
        region=region,
        generated_at=now,
        endpoints=len(discovery.endpoints),
        variants=sum(len(e.variants) for e in discovery.endpoints),
        inference_components=sum(len(v.inference_components) for e in discovery.endpoints for v in e.variants),
        findings=findings,
        skipped=discovery.skipped,
        errors=discovery.errors + metric_errors,
        fleet_monthly_cost_usd=round(fleet_cost, 2),
        windows={
            "start": windows.start.isoformat().replace("+00:00", "Z"),
            "end": windows.end.isoformat().replace("+00:00", "Z"),
            "idle_start": windows.idle_start.isoformat().replace("+00:00", "Z"),
            "utilization_start": windows.utilization_start.isoformat().replace("+00:00", "Z"),
            "period_seconds": windows.period,
        },
        thresholds=thresholds.to_dict(),
        catalog={"region": catalog.region, "as_of": catalog.as_of},
        listed=list(discovery.listed),
        tags={e.name: dict(e.tags) for e in discovery.endpoints},
    )
