"""Where the money goes: what each endpoint, variant and inference component cost over a period, how busy it
was, and how much of it paid for idle capacity. Pure: the adapters bring endpoints, reservations and metrics.

- Cost is on-demand instance hours: the variant's current instance count x the hours the endpoint ran in the
  period x the catalog's hourly price. Per month is the same count x 730 hours. Serverless variants have no
  instance cost here (billed per request; not in the catalog): their cost is unknown, never zero.
- Inference components share their variant's cost by what they reserve (cores, accelerators, memory, times
  copies): each pays its dominant share (the largest of the three fractions of the variant's capacity), as
  dominant-resource fairness does. What no component reserves is an "(unreserved)" row, so the rows of a
  variant add up to its cost exactly.
- Utilization is the hourly averages of the period, normalized to 0-100 of the instance (CloudWatch sums CPU
  and GPU over cores and devices) or, for a component, of its reservation; p50 and p95 by nearest rank.
- Waste is the cost of capacity the work did not need: all of it without a single invocation; otherwise the
  share above what the busiest resource's p95 needs at the target utilization
  (cost x (1 - min(1, p95 / target))). Unreserved capacity of a component-hosting variant is waste.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sagewatch.catalog import HOURS_PER_MONTH, Catalog, InstanceSpec
from sagewatch.commitments import Commitments
from sagewatch.formats import iso_z
from sagewatch.hidden import Hidden
from sagewatch.metrics import (
    COMPONENT_UTILIZATION_METRICS,
    MetricResults,
    MetricSpec,
    Windows,
    component_utilization_metric,
    plan_queries,
    utilization_metric,
    utilization_names,
)
from sagewatch.models import Endpoint, ScanError, Skipped, Variant
from sagewatch.timewaste import TimeWaste
from sagewatch.usage import VariantUsage, variant_usage

SCHEMA = "sagewatch.cost-report/1"
RESOURCES = ("cpu", "memory", "gpu", "gpu_memory")
UNRESERVED = "(unreserved)"
# CloudWatch instance metric behind each resource, and whether it is summed over cores/devices.
_INSTANCE_METRICS = {
    "cpu": "CPUUtilization",
    "memory": "MemoryUtilization",
    "gpu": "GPUUtilization",
    "gpu_memory": "GPUMemoryUtilization",
}


@dataclass(frozen=True)
class Reservation:
    """What one inference component reserves, per copy, and how many copies run (DescribeInferenceComponent)."""

    component: str
    cpu_cores: float = 0.0
    accelerators: int = 0
    memory_mib: float = 0.0
    copies: int = 1


def reservation_from_api(doc: Mapping[str, Any]) -> Reservation:
    """DescribeInferenceComponent -> what it reserves (current copies; desired while none are running yet)."""
    needs = doc.get("Specification", {}).get("ComputeResourceRequirements", {})
    runtime = doc.get("RuntimeConfig", {})
    copies = runtime.get("CurrentCopyCount") or runtime.get("DesiredCopyCount") or 0
    return Reservation(
        component=doc["InferenceComponentName"],
        cpu_cores=float(needs.get("NumberOfCpuCoresRequired", 0) or 0),
        accelerators=int(needs.get("NumberOfAcceleratorDevicesRequired", 0) or 0),
        memory_mib=float(needs.get("MinMemoryRequiredInMb", 0) or 0),
        copies=int(copies),
    )


def component_shares(spec: InstanceSpec, count: int, reservations: Sequence[Reservation]) -> dict[str, float]:
    """Each component's dominant share of the variant's capacity (0-1); scaled down if they overlap past 1."""
    capacity = {
        "cpu": spec.vcpu * count,
        "memory": spec.memory_gib * 1024 * count,
        "accelerators": spec.accelerator_count * count,
    }
    raw = {}
    for r in reservations:
        fractions = [
            r.cpu_cores * r.copies / capacity["cpu"] if capacity["cpu"] else 0.0,
            r.memory_mib * r.copies / capacity["memory"] if capacity["memory"] else 0.0,
            r.accelerators * r.copies / capacity["accelerators"] if capacity["accelerators"] else 0.0,
        ]
        raw[r.component] = max(fractions)
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()} if total > 1 else raw


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (a value that occurred); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


@dataclass(frozen=True)
class Usage:
    """p50 and p95 per resource, 0-100; a resource not published is absent."""

    p50: dict[str, float] = field(default_factory=dict)
    p95: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, series: Mapping[str, Sequence[float]]) -> Usage:
        p50, p95 = {}, {}
        for resource, values in series.items():
            if values:
                p50[resource] = round(min(100.0, percentile(values, 50) or 0.0), 1)
                p95[resource] = round(min(100.0, percentile(values, 95) or 0.0), 1)
        return cls(p50, p95)

    def busiest_p95(self) -> float | None:
        return max(self.p95.values()) if self.p95 else None


@dataclass(frozen=True)
class CostRow:
    level: str  # endpoint | variant | component
    endpoint: str
    variant: str | None
    component: str | None
    instance_type: str | None
    instance_count: int | None
    copies: int | None
    hours: float
    cost_usd: float | None  # in the period
    monthly_cost_usd: float | None
    share: float | None  # of the variant's cost (components)
    invocations: float | None  # None: unknown
    usage: Usage
    waste_usd: float | None
    p99_ms: float | None = None  # ModelLatency p99 over the period (request-weighted hourly p99s); endpoint: worst
    shadow: bool = False  # a shadow variant: billed like production, answers no one (its metrics are not read)

    @property
    def cost_per_million_usd(self) -> float | None:
        if self.cost_usd is None or not self.invocations:
            return None
        return round(self.cost_usd / self.invocations * 1_000_000, 2)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "usage"}
        out["cost_per_million_usd"] = self.cost_per_million_usd
        for resource in RESOURCES:
            out[f"{resource}_p50"] = self.usage.p50.get(resource)
            out[f"{resource}_p95"] = self.usage.p95.get(resource)
        return out


@dataclass(frozen=True)
class Totals:
    cost_usd: float
    monthly_cost_usd: float
    invocations: float
    waste_usd: float

    @property
    def waste_share(self) -> float | None:
        return round(self.waste_usd / self.cost_usd, 3) if self.cost_usd else None


@dataclass
class CostReport:
    account: str | None
    region: str
    generated_at: datetime
    start: datetime
    end: datetime
    target_utilization_pct: float
    catalog: dict[str, str]
    rows: list[CostRow]
    not_costed: list[Skipped] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. prices of another region
    hidden: list[Hidden] = field(default_factory=list)  # ignored and snoozed endpoints (not in the rows)
    # off-hours and batch-candidate hours priced, and the consolidation groups (sagewatch.timewaste)
    time_waste: list[TimeWaste] = field(default_factory=list)
    consolidation: list[dict[str, Any]] = field(default_factory=list)
    # SageMaker Savings Plans and the advice net of waste (sagewatch.commitments); None: not read
    commitments: Commitments | None = None

    @property
    def days(self) -> float:
        return round((self.end - self.start).total_seconds() / 86400, 2)

    @property
    def period(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "days": self.days}

    def endpoints(self) -> list[CostRow]:
        return [r for r in self.rows if r.level == "endpoint"]

    def shown_rows(self) -> list[CostRow]:
        """The rows as the report shows them: an endpoint with one variant (no inference components, no shadow)
        is one row, its endpoint row naming the variant, instead of two identical ones. The sums read `rows`."""
        parts: dict[str, list[CostRow]] = {}
        for r in self.rows:
            if r.level != "endpoint":
                parts.setdefault(r.endpoint, []).append(r)
        out = []
        for r in self.rows:
            below = parts.get(r.endpoint, [])
            single = len(below) == 1 and below[0].level == "variant" and not below[0].shadow
            if r.level == "endpoint" and single:
                out.append(replace(r, variant=below[0].variant))
            elif not (r.level == "variant" and single):
                out.append(r)
        return out

    @property
    def totals(self) -> Totals:
        """Sums of what is known, over variants (an endpoint with one unknown variant still counts the others)."""
        variants = [r for r in self.rows if r.level == "variant"]
        return Totals(
            cost_usd=round(sum(r.cost_usd or 0.0 for r in variants), 2),
            monthly_cost_usd=round(sum(r.monthly_cost_usd or 0.0 for r in variants), 2),
            invocations=sum(r.invocations or 0.0 for r in variants),
            waste_usd=round(sum(r.waste_usd or 0.0 for r in variants), 2),
        )

    def to_dict(self) -> dict[str, Any]:
        totals = self.totals
        return {
            "schema": SCHEMA,
            "account": self.account,
            "region": self.region,
            "generated_at": _iso(self.generated_at),
            "period": self.period,
            "target_utilization_pct": self.target_utilization_pct,
            "catalog": self.catalog,
            "warnings": self.warnings,
            "rows": [r.to_dict() for r in self.shown_rows()],
            "totals": {**asdict(totals), "waste_share": totals.waste_share},
            "not_costed": [s.to_dict() for s in self.not_costed],
            "errors": [e.to_dict() for e in self.errors],
            "waste_in_time": self.waste_in_time(),
            "consolidation": self.consolidation,
            "commitments": (self.commitments or Commitments(False, "not read")).to_dict(),
        }

    def waste_in_time(self, top: int | None = None) -> dict[str, Any]:
        """Money spent in hours a variant serves (almost) nothing: its total over the period and a month."""
        return {
            "period_usd": round(sum(w.period_usd for w in self.time_waste), 2),
            "monthly_usd": round(sum(w.monthly_usd for w in self.time_waste), 2),
            "items": [w.to_dict() for w in self.time_waste[:top]],
        }


def _iso(ts: datetime) -> str:
    return iso_z(ts)


def report_windows(end: datetime, days: int) -> Windows:
    """The period ends at the last full hour: a partial hour has partial sums."""
    end = end.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    return Windows(end=end, idle_start=start, utilization_start=start)


def plan_report_queries(endpoints: Iterable[Endpoint]) -> list[MetricSpec]:
    """The scan's metrics plus each inference component's normalized utilization."""
    endpoints = list(endpoints)
    specs = plan_queries(endpoints)
    for ep in endpoints:
        for variant in ep.variants:
            for ic in variant.inference_components:
                specs += [component_utilization_metric(ic, n) for n in COMPONENT_UTILIZATION_METRICS.values()]
    return specs


class _Costing:
    def __init__(
        self,
        results: MetricResults,
        catalog: Catalog,
        reservations: Mapping[str, Reservation],
        windows: Windows,
        target: float,
    ):
        self.results = results
        self.catalog = catalog
        self.reservations = reservations
        self.windows = windows
        self.target = target

    def hours(self, endpoint: Endpoint) -> float:
        began = max(self.windows.start, endpoint.creation_time)
        return max(0.0, round((self.windows.end - began).total_seconds() / 3600, 2))

    def instance_usage(self, endpoint: Endpoint, variant: Variant, spec: InstanceSpec | None) -> Usage:
        if spec is None:
            return Usage()
        since = max(self.windows.start, endpoint.history_start)
        gpus = spec.gpus
        scale = {"cpu": spec.vcpu, "memory": 1, "gpu": gpus, "gpu_memory": gpus}
        names = set(utilization_names(variant))
        series = {}
        for resource, metric in _INSTANCE_METRICS.items():
            if metric in names and scale[resource]:
                values = self.results.values(utilization_metric(endpoint.name, variant.name, metric), since)
                series[resource] = [v / scale[resource] for v in values]
        return Usage.of(series)

    def component_usage(self, component: str) -> Usage:
        return Usage.of(
            {
                resource: self.results.values(component_utilization_metric(component, metric), self.windows.start)
                for resource, metric in COMPONENT_UTILIZATION_METRICS.items()
            }
        )

    def waste(self, cost: float | None, invocations: float | None, usage: Usage) -> float | None:
        if cost is None or invocations is None:
            return None
        if invocations == 0:
            return cost
        busiest = usage.busiest_p95()
        if busiest is None:
            return None
        return round(cost * max(0.0, 1 - min(1.0, busiest / self.target)), 2)

    def rows(self, endpoint: Endpoint) -> list[CostRow]:
        hours = self.hours(endpoint)
        variant_rows: list[CostRow] = []
        for variant in endpoint.variants:
            variant_rows += self.variant_rows(endpoint, variant, hours)
        variant_rows += [self.shadow_row(endpoint, shadow, hours) for shadow in endpoint.shadow_variants]
        own = [r for r in variant_rows if r.level == "variant"]
        types = {r.instance_type for r in own}
        return [
            CostRow(
                level="endpoint",
                endpoint=endpoint.name,
                variant=None,
                component=None,
                instance_type=types.pop() if len(types) == 1 else "mixed",
                instance_count=sum(r.instance_count or 0 for r in own),
                copies=None,
                hours=hours,
                cost_usd=_sum(r.cost_usd for r in own),
                monthly_cost_usd=_sum(r.monthly_cost_usd for r in own),
                share=None,
                invocations=_sum(r.invocations for r in own),
                usage=own[0].usage if len(own) == 1 else Usage(),
                waste_usd=_sum(r.waste_usd for r in own),
                p99_ms=max((r.p99_ms for r in own if r.p99_ms is not None), default=None),
            ),
            *variant_rows,
        ]

    def shadow_row(self, endpoint: Endpoint, shadow: Variant, hours: float) -> CostRow:
        """What a shadow variant's instances cost; its use is not read (its requests are copies of production's)."""
        spec = self.catalog.get(shadow.instance_type)
        monthly = shadow.monthly_cost(self.catalog)
        return CostRow(
            level="variant",
            endpoint=endpoint.name,
            variant=shadow.name,
            component=None,
            instance_type=shadow.instance_type,
            instance_count=shadow.instance_count,
            copies=None,
            hours=hours,
            cost_usd=None if spec is None else round(spec.price_per_hour_usd * shadow.instance_count * hours, 2),
            monthly_cost_usd=monthly,
            share=None,
            invocations=None,
            usage=Usage(),
            waste_usd=None,
            shadow=True,
        )

    def variant_rows(self, endpoint: Endpoint, variant: Variant, hours: float) -> list[CostRow]:
        spec = self.catalog.get(variant.instance_type)
        cost = None if spec is None else round(spec.price_per_hour_usd * variant.instance_count * hours, 2)
        monthly = None if spec is None else spec.monthly_cost(variant.instance_count)
        usage_of_traffic = variant_usage(endpoint, variant, self.results, self.windows)
        invocations = usage_of_traffic.invocations if usage_of_traffic.traffic_known else None
        if variant.serverless is not None and variant.serverless.provisioned_concurrency and invocations == 0:
            # Uncalled, a serverless variant costs exactly its provisioned concurrency (per request otherwise,
            # which no metric here prices: then unknown, never zero).
            monthly = variant.monthly_cost(self.catalog)
            cost = None if monthly is None else round(monthly / HOURS_PER_MONTH * hours, 2)
        usage = self.instance_usage(endpoint, variant, spec)

        def row(level: str, **values: Any) -> CostRow:
            return CostRow(
                level=level,
                endpoint=endpoint.name,
                variant=variant.name,
                instance_type=variant.instance_type,
                instance_count=variant.instance_count,
                hours=hours,
                **values,
            )

        parts: list[CostRow] = []
        waste = self.waste(cost, invocations, usage)
        if variant.inference_components and spec is not None and cost is not None and monthly is not None:
            parts = self.component_rows(endpoint, variant, spec, cost, monthly, usage_of_traffic, row)
            waste = cost if invocations == 0 else _sum(c.waste_usd for c in parts)
        whole = row(
            "variant",
            component=None,
            copies=None,
            cost_usd=cost,
            monthly_cost_usd=monthly,
            share=None,
            invocations=invocations,
            usage=usage,
            waste_usd=waste,
            p99_ms=usage_of_traffic.latency.p99_ms if usage_of_traffic.latency else None,
        )
        return [whole, *parts]

    def component_rows(
        self,
        endpoint: Endpoint,
        variant: Variant,
        spec: InstanceSpec,
        cost: float,
        monthly: float,
        traffic: VariantUsage,
        row: Callable[..., CostRow],
    ) -> list[CostRow]:
        """One row per component, by its share of what it reserves, and the unreserved rest."""
        known = [self.reservations[ic] for ic in variant.inference_components if ic in self.reservations]
        shares = component_shares(spec, variant.instance_count, known)
        components = []
        for ic in variant.inference_components:
            share = shares.get(ic)
            calls = traffic.components.get(ic)
            ic_cost = None if share is None else round(cost * share, 2)
            ic_invocations = None if calls is None or not endpoint.inference_components_known else calls.invocations
            ic_usage = self.component_usage(ic)
            components.append(
                row(
                    "component",
                    component=ic,
                    copies=self.reservations[ic].copies if ic in self.reservations else None,
                    cost_usd=ic_cost,
                    monthly_cost_usd=None if share is None else round(monthly * share, 2),
                    share=None if share is None else round(share, 4),
                    invocations=ic_invocations,
                    usage=ic_usage,
                    waste_usd=self.waste(ic_cost, ic_invocations, ic_usage),
                    p99_ms=latency.p99_ms if (latency := traffic.component_latency.get(ic)) else None,
                )
            )
        # The remainder after rounding goes to the unreserved row, so the rows add up to the cent.
        unreserved_cost = round(cost - sum(c.cost_usd or 0.0 for c in components), 2)
        unreserved = row(
            "component",
            component=UNRESERVED,
            copies=None,
            cost_usd=unreserved_cost,
            monthly_cost_usd=round(monthly - sum(c.monthly_cost_usd or 0.0 for c in components), 2),
            share=round(1 - sum(shares.values()), 4),
            invocations=None,
            usage=Usage(),
            waste_usd=unreserved_cost if len(known) == len(variant.inference_components) else None,
        )
        return [*components, unreserved]


def _sum(values: Iterable[float | None]) -> float | None:
    """Sum of known values; None when any is unknown (a partial sum would read as the whole)."""
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return round(total, 2)


def build_cost_report(
    endpoints: Sequence[Endpoint],
    reservations: Mapping[str, Reservation],
    results: MetricResults,
    catalog: Catalog,
    windows: Windows,
    *,
    target_utilization_pct: float,
    generated_at: datetime,
    region: str,
    account: str | None,
    not_costed: Sequence[Skipped] = (),
    errors: Sequence[ScanError] = (),
) -> CostReport:
    costing = _Costing(results, catalog, reservations, windows, target_utilization_pct)
    rows: list[CostRow] = []
    # Most expensive first; unknown costs last.
    for endpoint in endpoints:
        rows += costing.rows(endpoint)
    groups: dict[str, list[CostRow]] = {}
    for row in rows:
        groups.setdefault(row.endpoint, []).append(row)
    ordered = sorted(groups.values(), key=lambda g: (g[0].cost_usd is None, -(g[0].cost_usd or 0.0), g[0].endpoint))
    return CostReport(
        account=account,
        region=region,
        generated_at=generated_at,
        start=windows.start,
        end=windows.end,
        target_utilization_pct=target_utilization_pct,
        catalog={"region": catalog.region, "as_of": catalog.as_of},
        rows=[r for g in ordered for r in g],
        not_costed=list(not_costed),
        errors=list(errors),
        warnings=(catalog.warnings_for(region) if endpoints else [])  # nothing priced, nothing to warn of
        + catalog.unpriced_warnings(v.instance_type for e in endpoints for v in e.variants),
    )
