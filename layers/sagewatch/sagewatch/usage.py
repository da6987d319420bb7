"""How much traffic and utilization a variant had over the scan's windows, read from fetched metrics (pure).

The rules (sagewatch.rules), the cost report (sagewatch.costs) and remediation's idle re-check all count
requests the same way through variant_usage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sagewatch.metrics import (
    ACCELERATOR_DIMENSION,
    IMBALANCE_METRICS,
    INSTANCE_DIMENSION,
    INVOCATIONS,
    NS_INSTANCE,
    MetricResults,
    MetricSpec,
    Windows,
    backlog_metric,
    component_metric,
    container_metric,
    provisioned_use_specs,
    traffic_specs,
    utilization_metric,
    utilization_names,
    variant_metric,
)
from sagewatch.models import Endpoint, Variant
from sagewatch.schedule import Profile, build_profile


@dataclass(frozen=True)
class ComponentTraffic:
    invocations: float
    errors_5xx: float
    errors_4xx: float


MIN_LATENCY_REQUESTS = 100  # fewer requests in the window: no latency verdict (one slow request is not a p99)


@dataclass(frozen=True)
class Latency:
    """ModelLatency of a variant (or an inference component) over the idle window, in milliseconds.

    CloudWatch computes each hour's percentile from the hour's requests; the window's figure is the mean of
    the hourly percentiles weighted by each hour's requests (a window percentile would need the raw values)."""

    p50_ms: float | None
    p99_ms: float | None
    overhead_ms: float | None  # OverheadLatency's average (AWS publishes no percentile of it)
    requests: float
    hours: int  # hours with a p99 datapoint
    known: bool = True  # False: CloudWatch could not answer for one of the series

    @property
    def judged(self) -> bool:
        return self.known and self.p99_ms is not None and self.requests >= MIN_LATENCY_REQUESTS

    def to_evidence(self, window: str) -> dict[str, object]:
        doc: dict[str, object] = {
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "overhead_ms": self.overhead_ms,
            "requests": int(self.requests),
            "window": window,
        }
        if not self.known:
            doc["note"] = "CloudWatch could not answer for the latency series: no latency verdict"
        elif not self.judged:
            doc["note"] = (
                f"{int(self.requests)} requests in the window (fewer than {MIN_LATENCY_REQUESTS}): no latency verdict"
            )
        return doc


@dataclass(frozen=True)
class ProvisionedUse:
    """How much of a serverless variant's provisioned concurrency was used over the schedule window (since its
    last deployment). PC is billed every hour it is configured: an hour with no datapoint is an hour nobody used
    it (SageMaker publishes the utilization when requests run), so the mean is over every hour, not over the
    hours with data."""

    mean: float  # concurrent executions / slots, 0-1, averaged over `hours`
    peak: float  # the busiest minute's ratio, 0-1
    hours: int  # hours since the window's (or the deployment's) start
    since: datetime


@dataclass(frozen=True)
class ModelCache:
    """A multi-model endpoint's model cache over the idle window."""

    hit_ratio: float  # ModelCacheHit's average, 0-1
    loads: float  # ModelLoadingTime SampleCount
    unloads: float  # ModelUnloadingTime SampleCount
    hours: float
    wait_avg_ms: float | None  # ModelLoadingWaitTime
    wait_max_ms: float | None

    @property
    def unloads_per_hour(self) -> float:
        return self.unloads / self.hours if self.hours else 0.0

    @property
    def loads_per_hour(self) -> float:
        return self.loads / self.hours if self.hours else 0.0


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
    busiest_hour: float = 0.0  # the most requests of one hour over the whole utilization window
    latency: Latency | None = None  # None: asynchronous (no ModelLatency), or nothing published
    component_latency: dict[str, Latency] = field(default_factory=dict)
    # serverless: cold starts in the idle window (ModelSetupTime's SampleCount) and their p99 in ms
    cold_starts: float = 0.0
    cold_start_p99_ms: float | None = None
    cache: ModelCache | None = None  # multi-model endpoints only (they publish ModelCacheHit)
    # serial inference pipelines and multi-container endpoints: container -> (average, maximum) latency in ms
    containers: dict[str, tuple[float, float | None]] = field(default_factory=dict)


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
    for spec in results.of_variant(endpoint.name, variant.name):
        if spec.namespace != NS_INSTANCE or spec.name not in IMBALANCE_METRICS:
            continue
        dims = dict(spec.dimensions)
        instance, device = dims.get(INSTANCE_DIMENSION), dims.get(ACCELERATOR_DIMENSION)
        values = results.values(spec, since)
        if instance is None or not values:
            continue
        unit = instance if device is None else f"{instance}/{device}"
        out.setdefault((spec.name, device is not None), {})[unit] = (sum(values) / len(values), len(values))
    return out


def variant_usage(
    endpoint: Endpoint, variant: Variant, results: MetricResults, windows: Windows, *, busiest: bool = False
) -> VariantUsage:
    """`busiest`: also find the busiest hour (an hourly scan's idle rule reads it beside a kept rhythm)."""
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

    latency, component_latency = _latencies(endpoint, variant, results, since)
    cold = _cold_starts(endpoint, variant, results, since)
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
        busiest_hour=_busiest_hour(endpoint, variant, results, windows.start) if busiest else 0.0,
        latency=latency,
        component_latency=component_latency,
        cold_starts=cold[0],
        cold_start_p99_ms=cold[1],
        cache=_cache(endpoint, variant, results, windows),
        containers=_containers(endpoint, variant, results, since),
    )


def _busiest_hour(endpoint: Endpoint, variant: Variant, results: MetricResults, since: datetime) -> float:
    """The most requests served in one hour (summed over a variant's inference components)."""
    if endpoint.is_async:
        return 0.0  # no weekly rhythm is read for asynchronous endpoints
    return max(_hourly(results, traffic_specs(endpoint, variant, (INVOCATIONS,)), since).values(), default=0.0)


def _hourly(results: MetricResults, specs: Sequence[MetricSpec], since: datetime) -> dict[int, float]:
    """The series' datapoints summed hour by hour (a variant's requests over its inference components)."""
    hourly: dict[int, float] = {}
    for spec in specs:
        for t, v in results.points(spec, since).items():
            hourly[t] = hourly.get(t, 0.0) + v
    return hourly


def _weighted(values: dict[int, float], weights: dict[int, float]) -> float | None:
    """Mean of `values` weighted by the requests of the same hour (hours without requests weigh 1)."""
    pairs = [(v, weights.get(t, 1.0) or 1.0) for t, v in values.items()]
    total = sum(w for _, w in pairs)
    return round(sum(v * w for v, w in pairs) / total / 1000, 2) if pairs else None


def _latency(
    results: MetricResults,
    p50: MetricSpec,
    p99: MetricSpec,
    requests: MetricSpec,
    since: datetime,
    overhead: MetricSpec | None = None,
) -> Latency | None:
    hourly = results.points(requests, since)
    p99s = results.points(p99, since)
    known = all(results.known(s) for s in (p50, p99) + ((overhead,) if overhead else ()))
    if not p99s and known:
        return None
    extra = results.points(overhead, since) if overhead else {}
    return Latency(
        p50_ms=_weighted(results.points(p50, since), hourly),
        p99_ms=_weighted(p99s, hourly),
        overhead_ms=_weighted(extra, hourly),
        requests=sum(hourly.values()),
        hours=len(p99s),
        known=known,
    )


def _latencies(
    endpoint: Endpoint, variant: Variant, results: MetricResults, since: datetime
) -> tuple[Latency | None, dict[str, Latency]]:
    """The variant's latency, and each inference component's (the variant's then weighs them by requests)."""
    if endpoint.is_async:
        return None, {}
    if not variant.uses_inference_components:

        def spec(name: str, stat: str) -> MetricSpec:
            return variant_metric(endpoint.name, variant.name, name, stat)

        found = _latency(
            results,
            spec("ModelLatency", "p50"),
            spec("ModelLatency", "p99"),
            spec("Invocations", "Sum"),
            since,
            spec("OverheadLatency", "Average"),
        )
        return found, {}
    components = {}
    for ic in variant.inference_components:
        found = _latency(
            results,
            component_metric(ic, "ModelLatency", "p50"),
            component_metric(ic, "ModelLatency", "p99"),
            component_metric(ic, "Invocations", "Sum"),
            since,
        )
        if found is not None:
            components[ic] = found
    if not components:
        return None, {}
    weight = sum(c.requests for c in components.values()) or 1.0

    def mean(values: list[tuple[float | None, float]]) -> float | None:
        known = [(v, w) for v, w in values if v is not None]
        return round(sum(v * w for v, w in known) / (sum(w for _, w in known) or 1.0), 2) if known else None

    combined = Latency(
        p50_ms=mean([(c.p50_ms, c.requests or 1.0) for c in components.values()]),
        p99_ms=max((c.p99_ms for c in components.values() if c.p99_ms is not None), default=None),
        overhead_ms=None,
        requests=weight if any(c.requests for c in components.values()) else 0.0,
        hours=max(c.hours for c in components.values()),
        known=all(c.known for c in components.values()),
    )
    return combined, components


def _cold_starts(
    endpoint: Endpoint, variant: Variant, results: MetricResults, since: datetime
) -> tuple[float, float | None]:
    """Serverless: cold starts in the window (ModelSetupTime's SampleCount) and their p99 in ms."""
    if variant.serverless is None:
        return 0.0, None
    count = results.points(variant_metric(endpoint.name, variant.name, "ModelSetupTime", "SampleCount"), since)
    setup = results.points(variant_metric(endpoint.name, variant.name, "ModelSetupTime", "p99"), since)
    return sum(count.values()), _weighted(setup, count)


def _cache(endpoint: Endpoint, variant: Variant, results: MetricResults, windows: Windows) -> ModelCache | None:
    def spec(name: str, stat: str) -> MetricSpec:
        return variant_metric(endpoint.name, variant.name, name, stat)

    since = windows.idle_start
    hits = results.values(spec("ModelCacheHit", "Average"), since)
    if not hits:
        return None
    waits = results.values(spec("ModelLoadingWaitTime", "Average"), since)
    peak = results.peak(spec("ModelLoadingWaitTime", "Maximum"), since)
    return ModelCache(
        hit_ratio=round(sum(hits) / len(hits), 4),
        loads=results.total(spec("ModelLoadingTime", "SampleCount"), since),
        unloads=results.total(spec("ModelUnloadingTime", "SampleCount"), since),
        hours=(windows.end - since).total_seconds() / 3600,
        wait_avg_ms=round(sum(waits) / len(waits) / 1000, 2) if waits else None,
        wait_max_ms=round(peak / 1000, 2) if peak is not None else None,
    )


def _containers(
    endpoint: Endpoint, variant: Variant, results: MetricResults, since: datetime
) -> dict[str, tuple[float, float | None]]:
    """Each container's average and maximum ContainerLatency (ms) over the idle window, from the series found."""
    out: dict[str, tuple[float, float | None]] = {}
    for spec in results.of_variant(endpoint.name, variant.name):
        dims = dict(spec.dimensions)
        if spec.name != "ContainerLatency" or spec.stat != "Average" or "ContainerName" not in dims:
            continue
        values = results.values(spec, since)
        if not values:
            continue
        name = dims["ContainerName"]
        peak = results.peak(container_metric(endpoint.name, variant.name, name, "Maximum"), since)
        out[name] = (round(sum(values) / len(values) / 1000, 2), None if peak is None else round(peak / 1000, 2))
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def variant_profile(
    endpoint: Endpoint, variant: Variant, results: MetricResults, window: Windows, timezone: str, vcpu: int = 0
) -> Profile | None:
    """The hour-of-week profile of a real-time instance variant over the schedule window (since its last
    deployment); None when it has none (serverless, asynchronous) or CloudWatch could not answer for its series."""
    if endpoint.is_async or variant.instance_type is None:
        return None
    traffic = traffic_specs(endpoint, variant, (INVOCATIONS,))
    cpu_spec = utilization_metric(endpoint.name, variant.name, "CPUUtilization")
    if not all(results.known(s) for s in [*traffic, cpu_spec]):
        return None
    if variant.uses_inference_components and not endpoint.inference_components_known:
        return None
    since = max(window.start, endpoint.history_start)
    hourly = _hourly(results, traffic, since)
    cpu = results.points(cpu_spec, since)
    normalized = {t: v / vcpu for t, v in cpu.items()} if vcpu else None
    return build_profile(hourly, cpu.keys(), since, window.end, timezone, normalized)


def provisioned_use(
    endpoint: Endpoint, variant: Variant, results: MetricResults, window: Windows
) -> ProvisionedUse | None:
    """The use of a serverless variant's provisioned concurrency over the schedule window; None without any
    configured, when CloudWatch could not answer for its series, or when it published none at all (an hour
    without a datapoint is an unused hour only when the metric exists)."""
    specs = provisioned_use_specs(endpoint, variant)
    if not specs or not all(results.known(s) for s in specs):
        return None
    since = max(window.start, endpoint.history_start)
    hours = max(0, int((window.end - since).total_seconds() // 3600))
    mean_spec, peak_spec = specs
    values = results.values(mean_spec, since)
    if not values:
        return None  # never published (however busy the variant was): unknown, never "unused"
    total = sum(min(max(v, 0.0), 1.0) for v in values)
    peak = results.peak(peak_spec, since)
    return ProvisionedUse(
        mean=round(total / hours, 4) if hours else 0.0,
        peak=round(min(max(peak or 0.0, 0.0), 1.0), 4),
        hours=hours,
        since=since,
    )
