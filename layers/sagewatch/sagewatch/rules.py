"""The rules (idle, oversized, saturated, errors, imbalanced) as pure functions of an endpoint and its metrics."""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagewatch.catalog import Accelerator, Catalog, InstanceSpec
from sagewatch.metrics import (
    ACCELERATOR_DIMENSION,
    GPU_METRICS,
    IMBALANCE_METRICS,
    INSTANCE_DIMENSION,
    NS_INSTANCE,
    UTILIZATION_METRICS,
    MetricResults,
    Windows,
    backlog_metric,
    component_metric,
    traffic_specs,
    utilization_metric,
    utilization_names,
    variant_metric,
)
from sagewatch.models import Action, Endpoint, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.settings import Thresholds
from sagewatch.sizing import Option, Peaks, cheapest_option

MIN_UTILIZATION_COVERAGE = 0.75  # share of the window's hours that must have utilization data
HIGH_SAVINGS_USD = 1000.0
# Imbalance: the busiest instance (or GPU) at least this busy, and this many points above its siblings' median.
IMBALANCE_MIN_BUSIEST_PCT = 50.0
IMBALANCE_MIN_GAP_PCT = 30.0
MEDIUM_SAVINGS_USD = 100.0


@dataclass(frozen=True)
class ComponentTraffic:
    invocations: float
    errors_5xx: float
    errors_4xx: float


@dataclass(frozen=True)
class VariantUsage:
    """What the metrics say about one variant, already sliced to the windows."""

    traffic_known: bool
    invocations: float  # idle window; async: requests processed
    errors_5xx: float  # async: InvocationFailures
    errors_4xx: float
    latency_ms: float | None
    backlog_peak: float  # async queue; 0 otherwise
    components: dict[str, ComponentTraffic] = field(default_factory=dict)
    peaks: dict[str, float | None] = field(default_factory=dict)  # raw CloudWatch figures
    utilization_since: datetime | None = None
    utilization_hours: int = 0
    utilization_known: bool = True
    # Enhanced metrics: (metric, per GPU?) -> unit (instance id, or instance/GPU) -> (mean raw value, hours).
    unit_means: dict[tuple[str, bool], dict[str, tuple[float, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Traffic:
    invocations: float
    errors_5xx: float
    errors_4xx: float = 0.0
    latency_us: float | None = None
    backlog_peak: float = 0.0
    components: dict[str, ComponentTraffic] = field(default_factory=dict)


def _async_traffic(endpoint: Endpoint, variant: Variant, results: MetricResults, since: datetime) -> _Traffic:
    def total(name: str) -> float:
        return results.total(variant_metric(endpoint.name, variant.name, name, "Sum"), since)

    return _Traffic(
        invocations=total("InvocationsProcesssed"),
        errors_5xx=total("InvocationFailures"),
        backlog_peak=results.peak(backlog_metric(endpoint.name), since) or 0.0,
    )


def _component_traffic(variant: Variant, results: MetricResults, since: datetime) -> _Traffic:
    def total(ic: str, name: str) -> float:
        return results.total(component_metric(ic, name, "Sum"), since)

    components = {
        ic: ComponentTraffic(
            total(ic, "Invocations"), total(ic, "Invocation5XXErrors"), total(ic, "Invocation4XXErrors")
        )
        for ic in variant.inference_components
    }
    latencies = [
        v
        for ic in variant.inference_components
        for v in results.values(component_metric(ic, "ModelLatency", "Average"), since)
    ]
    return _Traffic(
        invocations=sum(c.invocations for c in components.values()),
        errors_5xx=sum(c.errors_5xx for c in components.values()),
        errors_4xx=sum(c.errors_4xx for c in components.values()),
        latency_us=_mean(latencies),
        components=components,
    )


def _variant_traffic(endpoint: Endpoint, variant: Variant, results: MetricResults, since: datetime) -> _Traffic:
    def total(name: str) -> float:
        return results.total(variant_metric(endpoint.name, variant.name, name, "Sum"), since)

    latency = results.values(variant_metric(endpoint.name, variant.name, "ModelLatency", "Average"), since)
    return _Traffic(total("Invocations"), total("Invocation5XXErrors"), total("Invocation4XXErrors"), _mean(latency))


def _unit_means(
    endpoint: Endpoint, variant: Variant, results: MetricResults, since: datetime
) -> dict[tuple[str, bool], dict[str, tuple[float, int]]]:
    """Mean utilization of each instance (and each GPU) of a variant, from its enhanced metrics."""
    out: dict[tuple[str, bool], dict[str, tuple[float, int]]] = {}
    for spec in results.series:
        if spec.namespace != NS_INSTANCE or spec.name not in IMBALANCE_METRICS:
            continue
        dims = dict(spec.dimensions)
        if dims.get("EndpointName") != endpoint.name or dims.get("VariantName") != variant.name:
            continue
        instance, device = dims.get(INSTANCE_DIMENSION), dims.get(ACCELERATOR_DIMENSION)
        values = results.values(spec, since)
        if instance is None or not values:
            continue
        unit = instance if device is None else f"{instance}/{device}"
        out.setdefault((spec.name, device is not None), {})[unit] = (sum(values) / len(values), len(values))
    return out


def variant_usage(endpoint: Endpoint, variant: Variant, results: MetricResults, windows: Windows) -> VariantUsage:
    since = windows.idle_start
    known = all(results.known(s) for s in traffic_specs(endpoint, variant))
    if endpoint.is_async:
        known = known and results.known(backlog_metric(endpoint.name))
        traffic = _async_traffic(endpoint, variant, results, since)
    elif variant.uses_inference_components:
        known = known and endpoint.inference_components_known
        traffic = _component_traffic(variant, results, since)
    else:
        traffic = _variant_traffic(endpoint, variant, results, since)

    # Utilization before the last deployment describes other hardware: leave it out.
    util_since = max(windows.utilization_start, endpoint.history_start)
    names = utilization_names(variant)
    util_specs = {n: utilization_metric(endpoint.name, variant.name, n) for n in names}
    return VariantUsage(
        traffic_known=known,
        invocations=traffic.invocations,
        errors_5xx=traffic.errors_5xx,
        errors_4xx=traffic.errors_4xx,
        latency_ms=None if traffic.latency_us is None else round(traffic.latency_us / 1000, 2),
        backlog_peak=traffic.backlog_peak,
        components=traffic.components,
        peaks={n: results.peak(s, util_since) for n, s in util_specs.items()},
        utilization_since=util_since,
        utilization_hours=results.count(util_specs["CPUUtilization"], util_since) if names else 0,
        utilization_known=all(results.known(s) for s in util_specs.values()),
        unit_means=_unit_means(endpoint, variant, results, util_since) if endpoint.enhanced_metrics else {},
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


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


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _money(value: float) -> str:
    return f"${value:,.2f}"


class EndpointJudge:
    """Applies every rule to one endpoint."""

    def __init__(
        self,
        endpoint: Endpoint,
        usages: Mapping[str, VariantUsage],
        catalog: Catalog,
        thresholds: Thresholds,
        windows: Windows,
    ):
        self.ep = endpoint
        self.usages = usages
        self.catalog = catalog
        self.t = thresholds
        self.w = windows

    # --- helpers -------------------------------------------------------------------------------
    def _spec(self, variant: Variant) -> InstanceSpec | None:
        return self.catalog.get(variant.instance_type)

    def _variant_cost(self, variant: Variant) -> float | None:
        if variant.serverless is not None:
            # Billed per request; provisioned concurrency is billed while idle but not priced here.
            return None if variant.serverless.provisioned_concurrency else 0.0
        spec = self._spec(variant)
        return spec.monthly_cost(variant.instance_count) if spec else None

    def _finding(
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
        if variant is not None:
            itype, count = variant.instance_type, variant.instance_count
        else:
            types = {v.instance_type for v in self.ep.variants}
            itype = types.pop() if len(types) == 1 else None
            count = sum(v.instance_count for v in self.ep.variants)
        return Finding(
            id=finding_id(self.ep.arn, kind, variant.name if variant else None, component),
            kind=kind,
            severity=severity,
            endpoint=self.ep.name,
            variant=variant.name if variant else None,
            inference_component=component,
            instance_type=itype,
            instance_count=count,
            evidence=evidence,
            recommendation=rec,
            monthly_cost_usd=cost,
            monthly_savings_usd=savings,
        )

    def _is_idle(self, variant: Variant) -> bool:
        u = self.usages[variant.name]
        return u.traffic_known and u.invocations == 0 and u.backlog_peak == 0

    # --- rules ---------------------------------------------------------------------------------
    def judge(self) -> list[Finding]:
        findings = self.idle()
        idle_variants = {f.variant for f in findings}
        if None in idle_variants:
            return findings  # the whole endpoint is idle: nothing else to say
        for variant in self.ep.variants:
            if variant.name in idle_variants:
                continue
            findings += self.sizing(variant)
            findings += self.errors(variant)
            findings += self.imbalance(variant)
        return findings

    def idle(self) -> list[Finding]:
        # Younger than the window (since creation or the last update): no history to call it idle on.
        if self.ep.history_start > self.w.idle_start:
            return []
        # If any variant's traffic is unknown, nothing about idleness is certain.
        if not all(self.usages[v.name].traffic_known for v in self.ep.variants):
            return []
        idle = [v for v in self.ep.variants if self._is_idle(v)]
        if not idle:
            return []
        evidence = self._idle_evidence(idle)
        if len(idle) == len(self.ep.variants):
            return self._idle_endpoint(evidence)
        findings = []
        for variant in idle:
            cost = self._variant_cost(variant)
            if not cost:
                continue  # an idle serverless variant beside busy ones costs nothing
            rec = Recommendation(
                Action.REMOVE_VARIANT,
                None,
                0,
                f"Remove variant {variant.name} from {self.ep.name}: it served no requests in "
                f"{self.t.idle_hours} h while the other variants did.",
                0.0,
            )
            findings.append(self._finding(Kind.IDLE, savings_severity(cost), variant, evidence, rec, cost, cost))
        return findings

    def _idle_evidence(self, idle: list[Variant]) -> dict[str, Any]:
        evidence: dict[str, Any] = {
            "window_start": _iso(self.w.idle_start),
            "window_end": _iso(self.w.end),
            "idle_hours": self.t.idle_hours,
            "invocations": 0,
            "endpoint_age_hours": round((self.w.end - self.ep.history_start).total_seconds() / 3600, 1),
            "idle_variants": [v.name for v in idle],
        }
        if self.ep.is_async:
            evidence["metric"] = "InvocationsProcesssed"
            evidence["backlog_peak"] = 0
        components = [ic for v in idle for ic in v.inference_components]
        if any(v.uses_inference_components for v in idle):
            evidence["metric"] = "Invocations per InferenceComponentName"
            evidence["inference_components"] = components
        return evidence

    def _idle_endpoint(self, evidence: dict[str, Any]) -> list[Finding]:
        costs = [self._variant_cost(v) for v in self.ep.variants]
        cost = None if any(c is None for c in costs) else round(sum(c for c in costs if c), 2)
        instances = sum(v.instance_count for v in self.ep.variants)
        hours = self.t.idle_hours
        if self.ep.is_async:
            if instances == 0:
                return []  # already scaled to zero: costs nothing
            rec = Recommendation(
                Action.SCALE_TO_ZERO,
                None,
                0,
                f"Let {self.ep.name} scale to zero instances when its queue is empty (auto scaling minimum "
                f"capacity 0): it processed no requests in {hours} h.",
                0.0,
            )
            return [self._finding(Kind.IDLE, savings_severity(cost), None, evidence, rec, cost, cost)]
        if instances == 0:
            # Serverless only: idle costs nothing, so there is nothing to save by deleting it.
            evidence["note"] = "serverless endpoints are billed per request and cost nothing while idle"
            if cost is None:
                evidence["note"] = "provisioned concurrency is billed while idle; sagewatch does not price it"
            rec = Recommendation(
                Action.INVESTIGATE,
                None,
                None,
                f"{self.ep.name} is serverless and served no requests in {hours} h; delete it if it is no longer used.",
            )
            return [self._finding(Kind.IDLE, Severity.LOW, None, evidence, rec, cost, 0.0)]
        what = (
            "hosts no inference components"
            if evidence.get("inference_components") == []
            else (f"served no requests in {hours} h")
        )
        rec = Recommendation(
            Action.DELETE_ENDPOINT,
            None,
            0,
            f"Delete endpoint {self.ep.name}: it {what}. Its endpoint config and models are kept.",
            0.0,
        )
        return [self._finding(Kind.IDLE, savings_severity(cost), None, evidence, rec, cost, cost)]

    def sizing(self, variant: Variant) -> list[Finding]:
        spec = self._spec(variant)
        usage = self.usages[variant.name]
        if spec is None or variant.instance_count == 0 or not usage.utilization_known:
            return []
        p = usage.peaks
        peaks = Peaks.from_raw(
            spec,
            p.get("CPUUtilization"),
            p.get("MemoryUtilization"),
            p.get("GPUUtilization"),
            p.get("GPUMemoryUtilization"),
        )
        observed = peaks.observed()
        if not observed:
            return []
        hot = {k: v for k, v in observed.items() if v > self.t.saturation_pct}
        if hot:
            return [self._saturated(variant, spec, peaks, hot, usage)]
        oversized = self._oversized(variant, spec, peaks, usage)
        return [oversized] if oversized else []

    def _sizing_evidence(self, spec: InstanceSpec, peaks: Peaks, usage: VariantUsage) -> dict[str, Any]:
        raw = {
            k: (None if v is None else round(v, 1))
            for k, v in usage.peaks.items()
            if k in UTILIZATION_METRICS + GPU_METRICS
        }
        since = usage.utilization_since or self.w.utilization_start
        return {
            "window_start": _iso(since),
            "window_end": _iso(self.w.end),
            "hours_observed": usage.utilization_hours,
            "statistic": "highest hourly average",
            "peak_pct": peaks.observed(),
            "raw_peak": raw,
            "vcpu": spec.vcpu,
            "memory_gib": spec.memory_gib,
            "accelerators": spec.accelerator_count,
        }

    def _saturated(
        self, variant: Variant, spec: InstanceSpec, peaks: Peaks, hot: dict[str, float], usage: VariantUsage
    ) -> Finding:
        n = variant.instance_count
        target = self.t.target_utilization_pct
        compute_peak = max([v for k, v in peaks.observed().items() if k in ("cpu", "gpu")], default=0.0)
        upper = max(n, math.ceil(n * compute_peak / target))
        # Hot resources must come under the target; the others may not get worse than today.
        limits = {k: target if k in hot else max(target, v) for k, v in peaks.observed().items()}
        option = cheapest_option(spec, n, peaks, self.catalog, limits, range(n, upper + 1))
        cost = spec.monthly_cost(n)
        evidence = self._sizing_evidence(spec, peaks, usage)
        evidence["saturated"] = hot
        evidence["threshold_pct"] = self.t.saturation_pct
        worst = max(hot.values())
        severity = Severity.HIGH if worst >= (self.t.saturation_pct + 100) / 2 else Severity.MEDIUM
        hot_text = ", ".join(f"{k} {v:.0f}%" for k, v in hot.items())
        if option is None:
            rec = Recommendation(
                Action.INVESTIGATE,
                None,
                None,
                f"{self.ep.name}/{variant.name} peaks at {hot_text} and no {spec.accelerator.value} "
                f"instance in the catalog brings it under {target:g}%: shard the model or change its serving setup.",
            )
            return self._finding(Kind.SATURATED, severity, variant, evidence, rec, cost, 0.0)
        same_type = option.spec.instance_type == spec.instance_type
        action = Action.SCALE_OUT if same_type else Action.RESIZE_VARIANT
        verb = (
            f"Scale {self.ep.name}/{variant.name} out to {option.count} x {spec.instance_type}"
            if same_type
            else f"Resize {self.ep.name}/{variant.name} to {option.count} x {option.spec.instance_type}"
        )
        rec = self._sized_recommendation(action, option, cost, f"{verb}: it peaks at {hot_text}.")
        return self._finding(
            Kind.SATURATED,
            severity,
            variant,
            evidence,
            rec,
            cost,
            round(max(0.0, cost - option.monthly_cost), 2),
        )

    def _oversized(self, variant: Variant, spec: InstanceSpec, peaks: Peaks, usage: VariantUsage) -> Finding | None:
        # Right-sizing needs the whole window on today's hardware, and both CPU and memory seen.
        if usage.utilization_since is None or usage.utilization_since > self.w.utilization_start:
            return None
        if peaks.cpu is None or peaks.memory is None:
            return None
        window_hours = (self.w.end - self.w.utilization_start).total_seconds() / 3600
        if usage.utilization_hours < MIN_UTILIZATION_COVERAGE * window_hours:
            return None
        # Component placement follows the components' reservations, which this rule does not see.
        if variant.uses_inference_components:
            return None
        n = variant.instance_count
        # Never below two instances when there are two or more: SageMaker spreads them over zones.
        counts = range(min(n, 2), n + 1)
        option = cheapest_option(spec, n, peaks, self.catalog, self.t.target_utilization_pct, counts)
        cost = spec.monthly_cost(n)
        if option is None:
            return None
        savings = round(cost - option.monthly_cost, 2)
        if savings < max(self.t.min_monthly_savings_usd, 0.01):
            return None
        evidence = self._sizing_evidence(spec, peaks, usage)
        evidence["target_pct"] = self.t.target_utilization_pct
        peak_text = ", ".join(f"{k} {v:.0f}%" for k, v in peaks.observed().items())
        rec = self._sized_recommendation(
            Action.RESIZE_VARIANT,
            option,
            cost,
            f"Resize {self.ep.name}/{variant.name} from {n} x {spec.instance_type} to {option.count} x "
            f"{option.spec.instance_type}: its peaks ({peak_text}) would stay under "
            f"{self.t.target_utilization_pct:g}%.",
        )
        return self._finding(Kind.OVERSIZED, savings_severity(savings), variant, evidence, rec, cost, savings)

    @staticmethod
    def _sized_recommendation(action: Action, option: Option, cost: float, summary: str) -> Recommendation:
        return Recommendation(
            action,
            option.spec.instance_type,
            option.count,
            f"{summary} Monthly cost {_money(cost)} -> {_money(option.monthly_cost)}.",
            option.monthly_cost,
        )

    def errors(self, variant: Variant) -> list[Finding]:
        usage = self.usages[variant.name]
        if not usage.traffic_known:
            return []
        cost = self._variant_cost(variant)
        if variant.uses_inference_components:
            return [
                f
                for ic, c in usage.components.items()
                if (f := self._error_finding(variant, c.invocations, c.errors_5xx, c.errors_4xx, None, cost, ic))
            ]
        found = self._error_finding(
            variant, usage.invocations, usage.errors_5xx, usage.errors_4xx, usage.latency_ms, cost, None
        )
        return [found] if found else []

    def _error_finding(
        self,
        variant: Variant,
        invocations: float,
        errors_5xx: float,
        errors_4xx: float,
        latency_ms: float | None,
        cost: float | None,
        component: str | None,
    ) -> Finding | None:
        if invocations < self.t.min_error_invocations:
            return None
        rate = 100.0 * errors_5xx / invocations
        if rate <= self.t.error_rate_pct:
            return None
        failures = "InvocationFailures" if self.ep.is_async else "Invocation5XXErrors"
        evidence: dict[str, Any] = {
            "window_start": _iso(self.w.idle_start),
            "window_end": _iso(self.w.end),
            "invocations": int(invocations),
            "errors_5xx": int(errors_5xx),
            "errors_4xx": int(errors_4xx),
            "error_rate_pct": round(rate, 2),
            "threshold_pct": self.t.error_rate_pct,
            "metric": failures,
        }
        if latency_ms is not None:
            evidence["model_latency_ms_avg"] = latency_ms
        where = f"{self.ep.name}/{variant.name}" + (f" (component {component})" if component else "")
        rec = Recommendation(
            Action.INVESTIGATE,
            None,
            None,
            f"{where}: {rate:.1f}% of {int(invocations):,} requests failed with server errors in "
            f"{self.t.idle_hours} h. Check the model container's CloudWatch logs "
            f"(/aws/sagemaker/Endpoints/{self.ep.name}).",
        )
        severity = Severity.HIGH if rate >= 5 * self.t.error_rate_pct else Severity.MEDIUM
        return self._finding(Kind.ERRORS, severity, variant, evidence, rec, cost, 0.0, component)

    def imbalance(self, variant: Variant) -> list[Finding]:
        """Enhanced metrics only: one instance (or GPU) far busier than its siblings."""
        spec = self._spec(variant)
        usage = self.usages[variant.name]
        if spec is None or not usage.unit_means:
            return []
        gpus = spec.accelerator_count if spec.accelerator is Accelerator.NVIDIA else 0
        worst = None
        for (metric, per_device), units in sorted(usage.unit_means.items()):
            resource = "gpu" if metric == "GPUUtilization" else "cpu"
            scale = 1.0 if per_device else float(spec.vcpu if resource == "cpu" else gpus)
            found = _imbalance_of(units, scale) if scale else None
            if found and (worst is None or found[1] - found[2] > worst[1][1] - worst[1][2]):
                worst = ((resource, "GPU" if per_device else "instance"), found)
        if worst is None:
            return []
        (resource, unit), (busiest, busiest_pct, median, loads) = worst
        hours = max(n for units in usage.unit_means.values() for _, n in units.values())
        evidence = {
            "resource": resource,
            "unit": unit.lower(),
            "busiest": busiest,
            "busiest_pct": round(busiest_pct, 1),
            "siblings_median_pct": round(median, 1),
            "per_unit_pct": loads,
            "hours_observed": hours,
            "window_start": _iso(usage.utilization_since or self.w.utilization_start),
            "window_end": _iso(self.w.end),
        }
        summary = (
            f"{unit} {busiest} averages {busiest_pct:.0f}% {resource.upper()} while its {len(loads) - 1} "
            f"siblings' median is {median:.0f}%: work is not spread evenly (check the routing strategy, sticky "
            "clients, or a model loaded on one device only). The averages hide it."
        )
        rec = Recommendation(Action.INVESTIGATE, None, None, summary)
        severity = Severity.HIGH if busiest_pct >= self.t.saturation_pct else Severity.MEDIUM
        return [self._finding(Kind.IMBALANCED, severity, variant, evidence, rec, self._variant_cost(variant), None)]


def _imbalance_of(
    units: Mapping[str, tuple[float, int]], scale: float
) -> tuple[str, float, float, dict[str, float]] | None:
    """(busiest unit, its %, the others' median %, every unit's %) when one unit is far busier than the rest."""
    most_hours = max(hours for _, hours in units.values())
    # A unit seen for only part of the window (replaced, scaled in) is no fair sibling.
    loads = {u: mean / scale for u, (mean, hours) in units.items() if hours >= MIN_UTILIZATION_COVERAGE * most_hours}
    if len(loads) < 2:
        return None
    busiest = max(sorted(loads), key=lambda u: loads[u])
    median = statistics.median(v for u, v in loads.items() if u != busiest)
    if loads[busiest] < IMBALANCE_MIN_BUSIEST_PCT or loads[busiest] - median < IMBALANCE_MIN_GAP_PCT:
        return None
    return busiest, loads[busiest], median, {u: round(v, 1) for u, v in sorted(loads.items())}


def judge_endpoint(
    endpoint: Endpoint, results: MetricResults, catalog: Catalog, thresholds: Thresholds, windows: Windows
) -> list[Finding]:
    usages = {v.name: variant_usage(endpoint, v, results, windows) for v in endpoint.variants}
    return EndpointJudge(endpoint, usages, catalog, thresholds, windows).judge()
