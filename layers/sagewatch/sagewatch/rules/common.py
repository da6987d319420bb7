"""What every rule shares: the endpoint being judged with its usage and the thresholds (Judge), the finding id,
the severity of a saving, and the coverage a utilization window needs (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagewatch.catalog import Catalog, InstanceSpec
from sagewatch.metrics import MetricResults, Windows
from sagewatch.models import Endpoint, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.schedule import Profile, Rhythm
from sagewatch.settings import Thresholds
from sagewatch.usage import ProvisionedUse, VariantUsage

MIN_UTILIZATION_COVERAGE = 0.75  # share of the window's hours that must have utilization data
HIGH_SAVINGS_USD = 1000.0
MEDIUM_SAVINGS_USD = 100.0


def finding_id(endpoint_arn: str, kind: Kind, variant: str | None, component: str | None) -> str:
    """Stable across scans: the same problem on the same resource keeps its id."""
    key = "|".join([endpoint_arn.lower(), variant or "", component or "", kind.value])
    return "sw-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def savings_severity(savings: float | None) -> Severity:
    if savings is None:
        return Severity.MEDIUM
    if savings >= HIGH_SAVINGS_USD:
        return Severity.HIGH
    if savings >= MEDIUM_SAVINGS_USD:
        return Severity.MEDIUM
    return Severity.LOW


@dataclass(frozen=True)
class Judge:
    """One endpoint, its variants' usage over the scan's windows, the catalog and the thresholds: what each rule
    (sagewatch.rules.idle, sizing, errors, imbalance) is a function of."""

    endpoint: Endpoint
    usages: Mapping[str, VariantUsage]
    catalog: Catalog
    thresholds: Thresholds
    windows: Windows
    slo_p99_ms: float | None = None  # the endpoint's p99 latency target (sagewatch.rules.latency)
    history: MetricResults | None = None  # a recently changed endpoint's latency over the baseline week and since
    # each variant's hour-of-week profile over ScheduleDays (sagewatch.schedule; None: it has none)
    profiles: Mapping[str, Profile | None] = field(default_factory=dict)
    # each serverless variant's use of its provisioned concurrency over ScheduleDays (read with the profiles)
    provisioned: Mapping[str, ProvisionedUse] = field(default_factory=dict)
    # an hourly scan's stand-in for the profiles: each variant's weekly rhythm as the deep scan read it
    rhythms: Mapping[str, Rhythm] = field(default_factory=dict)

    @property
    def profile_start(self) -> datetime:
        """Where the hour-of-week profiles begin: ScheduleDays back, or the endpoint's last deployment."""
        return max(self.windows.schedule(self.thresholds).start, self.endpoint.history_start)

    def spec(self, variant: Variant) -> InstanceSpec | None:
        return self.catalog.get(variant.instance_type)

    def variant_cost(self, variant: Variant) -> float | None:
        return variant.monthly_cost(self.catalog)

    def is_idle(self, variant: Variant) -> bool:
        u = self.usages[variant.name]
        return u.traffic_known and u.invocations == 0 and u.backlog_peak == 0

    def finding(
        self,
        kind: Kind,
        severity: Severity,
        variant: Variant | None,
        evidence: dict[str, Any],
        rec: Recommendation,
        cost: float | None,
        savings: float | None,
        component: str | None = None,
    ) -> Finding:
        scaled = (
            variant
            if variant is not None
            else (self.endpoint.variants[0] if len(self.endpoint.variants) == 1 else None)
        )
        evidence = {**evidence, "autoscaling": scaled.autoscaling.to_dict() if scaled and scaled.autoscaling else None}
        if variant is not None:
            itype, count = variant.instance_type, variant.instance_count
        else:
            types = {v.instance_type for v in self.endpoint.variants}
            itype = types.pop() if len(types) == 1 else None
            count = sum(v.instance_count for v in self.endpoint.variants)
        return Finding(
            id=finding_id(self.endpoint.arn, kind, variant.name if variant else None, component),
            kind=kind,
            severity=severity,
            endpoint=self.endpoint.name,
            variant=variant.name if variant else None,
            inference_component=component,
            instance_type=itype,
            instance_count=count,
            evidence=evidence,
            recommendation=rec,
            monthly_cost_usd=cost,
            monthly_savings_usd=savings,
        )
