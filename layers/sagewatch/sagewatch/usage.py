"""How much traffic and utilization a variant had over the scan's windows, read from fetched metrics (pure).

The rules (sagewatch.rules), the cost report (sagewatch.costs) and remediation's idle re-check all count
requests the same way through variant_usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sagewatch.metrics import (
    ACCELERATOR_DIMENSION,
    IMBALANCE_METRICS,
    INSTANCE_DIMENSION,
    NS_INSTANCE,
    MetricResults,
    Windows,
    backlog_metric,
    component_metric,
    traffic_specs,
    utilization_metric,
    utilization_names,
    variant_metric,
)
from sagewatch.models import Endpoint, Variant


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
    # Requests over the whole utilization window (idle now but busy earlier is intermittent, not gone).
    window_invocations: float = 0.0


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
        earlier = _async_traffic(endpoint, variant, results, windows.start)
    elif variant.uses_inference_components:
        known = known and endpoint.inference_components_known
        traffic = _component_traffic(variant, results, since)
        earlier = _component_traffic(variant, results, windows.start)
    else:
        traffic = _variant_traffic(endpoint, variant, results, since)
        earlier = _variant_traffic(endpoint, variant, results, windows.start)

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
        window_invocations=earlier.invocations,
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
