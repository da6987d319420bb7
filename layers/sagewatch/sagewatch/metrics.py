"""Which CloudWatch metrics a scan needs, and how to batch them into the fewest GetMetricData calls.

Pure: no AWS here. The adapter in sagewatch.aws.cloudwatch executes the plan.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from operator import sub
from typing import Any

from sagewatch.catalog import Accelerator, accelerator_of
from sagewatch.models import Endpoint, Variant
from sagewatch.settings import Thresholds

NS_RUNTIME = "AWS/SageMaker"  # invocations, errors, latency, async queue
NS_INSTANCE = "/aws/sagemaker/Endpoints"  # CPU/memory/GPU/disk utilization
NS_COMPONENTS = "/aws/sagemaker/InferenceComponents"  # utilization normalized to what a component reserves

# The scan's own EMF metrics (namespace from POWERTOOLS_METRICS_NAMESPACE, dimension service; Findings also
# by Kind). The template's dashboard charts these names, and a test holds it to them.
FLEET_COST_METRIC, WASTE_METRIC = "FleetMonthlyCost", "MonthlyWaste"  # the dashboard's cost widget
SCAN_METRICS = ("EndpointsScanned", "EndpointsSkipped", "ScanErrors", FLEET_COST_METRIC, WASTE_METRIC)
FINDINGS_METRIC = "Findings"

# GetMetricData limits (per call).
MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800

PERIOD_SECONDS = 3600  # peaks are the highest hourly average: one busy minute is not saturation

UTILIZATION_METRICS = ("CPUUtilization", "MemoryUtilization", "DiskUtilization")
GPU_METRICS = ("GPUUtilization", "GPUMemoryUtilization")
TRAFFIC_METRICS = (
    ("Invocations", "Sum"),
    ("Invocation4XXErrors", "Sum"),
    ("Invocation5XXErrors", "Sum"),
    ("ModelLatency", "Average"),
)
LATENCY_METRICS = ("ModelLatency", "OverheadLatency")  # microseconds
# Percentiles are valid GetMetricData statistics for ModelLatency (AWS lists none for OverheadLatency).
LATENCY_PERCENTILES = (("ModelLatency", "p50"), ("ModelLatency", "p99"))
OVERHEAD = ("OverheadLatency", "Average")
# Multi-model endpoints publish ModelCacheHit (Average = hit ratio); only they do, so the scan reads it for every
# instance variant and, for those that have it, the loading metrics in a second small read (MME_DETAIL).
CACHE_HIT = ("ModelCacheHit", "Average")
MME_DETAIL = (
    ("ModelUnloadingTime", "SampleCount"),  # unloads
    ("ModelLoadingTime", "SampleCount"),  # loads
    ("ModelLoadingWaitTime", "Average"),  # µs a request waited for its model
    ("ModelLoadingWaitTime", "Maximum"),
)
# Serverless cold starts: how many (SampleCount) and how long (p99 is valid for ModelSetupTime), microseconds.
COLD_STARTS = (("ModelSetupTime", "SampleCount"), ("ModelSetupTime", "p99"))
# Serverless provisioned concurrency: concurrent executions divided by the slots configured (a ratio, 0-1), its
# hourly mean and busiest minute ("Serverless endpoint with Provisioned Concurrency metrics", SageMaker guide).
PROVISIONED_USE = (
    ("ServerlessProvisionedConcurrencyUtilization", "Average"),
    ("ServerlessProvisionedConcurrencyUtilization", "Maximum"),
)
# Per inference component, 0-100 of what the component reserves.
COMPONENT_UTILIZATION_METRICS = {
    "cpu": "CPUUtilizationNormalized",
    "memory": "MemoryUtilizationNormalized",
    "gpu": "GPUUtilizationNormalized",
    "gpu_memory": "GPUMemoryUtilizationNormalized",
}
# Asynchronous endpoints publish no Invocations: they publish InvocationsProcesssed (sic).
ASYNC_TRAFFIC_METRICS = (("InvocationsProcesssed", "Sum"), ("InvocationFailures", "Sum"))


@dataclass(frozen=True, order=True)
class MetricSpec:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str

    def to_query(self, query_id: str, period: int) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
                },
                "Period": period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


def variant_metric(endpoint: str, variant: str, name: str, stat: str, namespace: str = NS_RUNTIME) -> MetricSpec:
    return MetricSpec(namespace, name, (("EndpointName", endpoint), ("VariantName", variant)), stat)


def component_metric(component: str, name: str, stat: str) -> MetricSpec:
    return MetricSpec(NS_RUNTIME, name, (("InferenceComponentName", component),), stat)


# Enhanced metrics (MetricsConfig.EnableEnhancedMetrics) add these dimensions to the instance metrics.
INSTANCE_DIMENSION = "InstanceId"
ACCELERATOR_DIMENSION = "AcceleratorId"
IMBALANCE_METRICS = ("CPUUtilization", "GPUUtilization")


def instance_metric(
    endpoint: str, variant: str, name: str, instance: str, accelerator: str | None = None
) -> MetricSpec:
    """One instance's (or one GPU's) utilization; the dimension order is fixed so that equal metrics compare equal."""
    dims = [("EndpointName", endpoint), ("VariantName", variant), (INSTANCE_DIMENSION, instance)]
    if accelerator is not None:
        dims.append((ACCELERATOR_DIMENSION, accelerator))
    return MetricSpec(NS_INSTANCE, name, tuple(dims), "Average")


def component_utilization_metric(component: str, name: str) -> MetricSpec:
    return MetricSpec(NS_COMPONENTS, name, (("InferenceComponentName", component),), "Average")


def backlog_metric(endpoint: str) -> MetricSpec:
    return MetricSpec(NS_RUNTIME, "ApproximateBacklogSize", (("EndpointName", endpoint),), "Maximum")


def utilization_metric(endpoint: str, variant: str, name: str) -> MetricSpec:
    return variant_metric(endpoint, variant, name, "Average", NS_INSTANCE)


INVOCATIONS = ("Invocations", "Sum")


def traffic_specs(
    endpoint: Endpoint, variant: Variant, pairs: Sequence[tuple[str, str]] = TRAFFIC_METRICS
) -> list[MetricSpec]:
    """Metrics that tell whether a variant served requests, and how well (`pairs` of a real-time variant, per
    inference component where it hosts them; an asynchronous endpoint's own)."""
    if endpoint.is_async:
        return [variant_metric(endpoint.name, variant.name, n, s) for n, s in ASYNC_TRAFFIC_METRICS]
    if variant.uses_inference_components:
        # Invocations of component-hosting endpoints are published only per component.
        return [component_metric(ic, n, s) for ic in variant.inference_components for n, s in pairs]
    return [variant_metric(endpoint.name, variant.name, n, s) for n, s in pairs]


def latency_specs(endpoint: Endpoint, variant: Variant) -> list[MetricSpec]:
    """p50 and p99 of ModelLatency (and the average OverheadLatency) of a variant, or of each of its inference
    components: what "is it fast enough?" is answered from. Asynchronous endpoints publish none."""
    if endpoint.is_async:
        return []
    if variant.uses_inference_components:
        return [component_metric(ic, n, s) for ic in variant.inference_components for n, s in LATENCY_PERCENTILES]
    extra = COLD_STARTS if variant.serverless is not None else (CACHE_HIT,)
    pairs = (*LATENCY_PERCENTILES, OVERHEAD, *extra)
    return [variant_metric(endpoint.name, variant.name, n, s) for n, s in pairs]


CONTAINER_DIMENSION = "ContainerName"


def container_metric(endpoint: str, variant: str, container: str, stat: str) -> MetricSpec:
    """ContainerLatency (µs) of one container of a serial inference pipeline or multi-container endpoint."""
    dims = (("EndpointName", endpoint), ("VariantName", variant), (CONTAINER_DIMENSION, container))
    return MetricSpec(NS_RUNTIME, "ContainerLatency", dims, stat)


def mme_detail_specs(endpoint: Endpoint, variant: Variant) -> list[MetricSpec]:
    return [variant_metric(endpoint.name, variant.name, n, s) for n, s in MME_DETAIL]


def multi_model_variants(endpoints: Iterable[Endpoint], results: MetricResults) -> list[MetricSpec]:
    """The loading metrics of every variant that published ModelCacheHit (a multi-model endpoint's)."""
    out: list[MetricSpec] = []
    for ep in endpoints:
        for v in ep.variants:
            if results.count(variant_metric(ep.name, v.name, *CACHE_HIT)):
                out += mme_detail_specs(ep, v)
    return out


REGRESSION_BASELINE = timedelta(days=7)  # a changed endpoint's p99 is compared with the week before the change


def recently_changed(endpoint: Endpoint, now: datetime, hours: int) -> bool:
    """Updated (a new endpoint config) within `hours`: a new endpoint has no "before" to regress from."""
    return endpoint.last_modified_time > endpoint.creation_time and now - endpoint.last_modified_time <= timedelta(
        hours=hours
    )


def regression_specs(endpoint: Endpoint) -> list[MetricSpec]:
    """What a latency regression is judged on: each variant's (or component's) p99 and requests, read over the
    week before the change and since (a second, small GetMetricData read for recently changed endpoints only)."""
    out: list[MetricSpec] = []
    for variant in endpoint.variants:
        if endpoint.is_async:
            continue
        if variant.uses_inference_components:
            for ic in variant.inference_components:
                out += [component_metric(ic, "ModelLatency", "p99"), component_metric(ic, "Invocations", "Sum")]
        else:
            out += [
                variant_metric(endpoint.name, variant.name, "ModelLatency", "p99"),
                variant_metric(endpoint.name, variant.name, "Invocations", "Sum"),
                new_config_latency(endpoint, variant.name),
            ]
    return out


def new_config_latency(endpoint: Endpoint, variant: str) -> MetricSpec:
    """After a blue/green deployment SageMaker also publishes ModelLatency per EndpointConfigName (the new
    config's own requests, canary or linear shifts included): the "after" of a regression when it exists."""
    dims = (("EndpointName", endpoint.name), ("VariantName", variant), ("EndpointConfigName", endpoint.config_name))
    return MetricSpec(NS_RUNTIME, "ModelLatency", dims, "p99")


def provisioned_use_specs(endpoint: Endpoint, variant: Variant) -> list[MetricSpec]:
    """How much of a serverless variant's provisioned concurrency is used (none without any configured)."""
    if variant.serverless is None or not variant.serverless.provisioned_concurrency:
        return []
    return [variant_metric(endpoint.name, variant.name, n, s) for n, s in PROVISIONED_USE]


def profile_specs(endpoint: Endpoint) -> list[MetricSpec]:
    """What is judged over ScheduleDays, read hourly: the hour-of-week profile's series, each real-time variant's
    Invocations (per inference component where it hosts them) and its CPUUtilization, which an instance
    publishes every minute it runs, busy or not: an hour without it is a gap in the metrics, not a quiet hour
    (series the scan reads anyway; only their window is longer: sagewatch.schedule); and the use of serverless
    provisioned concurrency (sagewatch.rules.hygiene)."""
    if endpoint.is_async:
        return []
    out: list[MetricSpec] = []
    for variant in endpoint.variants:
        if variant.instance_type is None:
            out += provisioned_use_specs(endpoint, variant)  # serverless: billed per request, nothing to schedule
            continue
        if variant.uses_inference_components:
            out += [component_metric(ic, "Invocations", "Sum") for ic in variant.inference_components]
        else:
            out.append(variant_metric(endpoint.name, variant.name, "Invocations", "Sum"))
        out.append(utilization_metric(endpoint.name, variant.name, "CPUUtilization"))
    return out


def utilization_names(variant: Variant) -> tuple[str, ...]:
    if variant.instance_type is None:
        return ()  # serverless: nothing to right-size
    if accelerator_of(variant.instance_type) is Accelerator.NVIDIA:
        return UTILIZATION_METRICS + GPU_METRICS
    return UTILIZATION_METRICS


def utilization_specs(endpoint: Endpoint, variant: Variant) -> list[MetricSpec]:
    return [utilization_metric(endpoint.name, variant.name, n) for n in utilization_names(variant)]


def plan_queries(endpoints: Iterable[Endpoint]) -> list[MetricSpec]:
    """Every metric the rules need for these endpoints, each once, in a stable order."""
    specs: dict[MetricSpec, None] = {}
    for ep in endpoints:
        if ep.is_async:
            specs[backlog_metric(ep.name)] = None
        for variant in ep.variants:
            for spec in traffic_specs(ep, variant) + latency_specs(ep, variant) + utilization_specs(ep, variant):
                specs[spec] = None
    return list(specs)


# What an hourly scan reads of a variant (sagewatch.cadence): what can change within hours and needs acting on
# within hours. Requests, server errors, and the saturation the rules act on (CPU and memory; a GPU instance's GPU
# instead of memory); p99 only where the endpoint has a latency target (nothing else judges it hourly). 4 series a
# variant, 5 with a target. The rest (p50, overhead, 4XX, disk, GPU memory, the model cache, per-instance and
# per-container series, the hour-of-week profile) is the daily deep scan's.
HOURLY_TRAFFIC = (("Invocations", "Sum"), ("Invocation5XXErrors", "Sum"))
HOURLY_LATENCY = ("ModelLatency", "p99")
HOURLY_UTILIZATION = ("CPUUtilization", "MemoryUtilization")
HOURLY_GPU_UTILIZATION = ("CPUUtilization", "GPUUtilization")


def hourly_specs(endpoint: Endpoint, variant: Variant, *, latency: bool = False) -> list[MetricSpec]:
    """The series an hourly scan reads of one variant (of each of its inference components for the traffic);
    `latency`: the endpoint has a p99 target."""
    traffic = traffic_specs(endpoint, variant, (*HOURLY_TRAFFIC, HOURLY_LATENCY) if latency else HOURLY_TRAFFIC)
    if endpoint.is_async:  # no latency: what was processed, what failed, and the queue
        traffic.append(backlog_metric(endpoint.name))
    if variant.instance_type is None:  # serverless: its cold starts instead of utilization
        return traffic + [variant_metric(endpoint.name, variant.name, n, s) for n, s in COLD_STARTS]
    gpu = accelerator_of(variant.instance_type) is Accelerator.NVIDIA
    names = HOURLY_GPU_UTILIZATION if gpu else HOURLY_UTILIZATION
    return traffic + [utilization_metric(endpoint.name, variant.name, n) for n in names]


def plan_hourly(endpoints: Iterable[Endpoint], with_latency: Container[str] = ()) -> list[MetricSpec]:
    """Every series an hourly scan reads of these endpoints, each once, in a stable order (`with_latency`: the
    endpoints with a p99 target)."""
    return list(
        dict.fromkeys(
            spec
            for ep in endpoints
            for v in ep.variants
            for spec in hourly_specs(ep, v, latency=ep.name in with_latency)
        )
    )


def datapoints_per_query(start: datetime, end: datetime, period: int) -> int:
    return max(1, math.ceil((end - start).total_seconds() / period))


def queries_per_call(points_per_query: int) -> int:
    """How many queries fit in one call under both the query and the datapoint limits."""
    return max(1, min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_CALL // points_per_query))


def batches(specs: Sequence[MetricSpec], points_per_query: int) -> list[list[MetricSpec]]:
    size = queries_per_call(points_per_query)
    return [list(specs[i : i + size]) for i in range(0, len(specs), size)]


def fewest_calls(query_count: int, points_per_query: int) -> int:
    return math.ceil(query_count / queries_per_call(points_per_query)) if query_count else 0


@dataclass(frozen=True)
class Windows:
    """The time ranges a scan looks at. All metrics share one range; rules slice it."""

    end: datetime
    idle_start: datetime
    utilization_start: datetime
    period: int = PERIOD_SECONDS

    @property
    def start(self) -> datetime:
        return min(self.idle_start, self.utilization_start)

    def history(self, thresholds: Thresholds) -> Windows:
        """The window a latency regression reads: the regression period and the baseline week before it."""
        start = self.end - timedelta(hours=thresholds.regression_hours) - REGRESSION_BASELINE
        return Windows(end=self.end, idle_start=start, utilization_start=start, period=self.period)

    def schedule(self, thresholds: Thresholds) -> Windows:
        """The window the hour-of-week profile reads: ScheduleDays back from the scan's end, starting on the hour
        (GetMetricData's periods start at its StartTime: so each datapoint is one clock hour)."""
        start = (self.end - timedelta(days=thresholds.schedule_days)).replace(minute=0, second=0, microsecond=0)
        return Windows(end=self.end, idle_start=start, utilization_start=start, period=self.period)

    @classmethod
    def ending_at(cls, now: datetime, thresholds: Thresholds) -> Windows:
        end = now.replace(second=0, microsecond=0)
        return cls(
            end=end,
            idle_start=end - timedelta(hours=thresholds.idle_hours),
            utilization_start=end - timedelta(days=thresholds.utilization_days),
        )


Points = list[tuple[datetime, float]]


# Datapoint times are kept as 32-bit seconds from here: 1952 to 2088, far around any CloudWatch retention.
ORIGIN = 1_577_836_800  # 2020-01-01T00:00:00Z


@dataclass
class MetricResults:
    """Datapoints per metric. A metric with no datapoints is absent (zero traffic); a metric CloudWatch
    could not answer is in `failed` (unknown: never treated as zero).

    Series are kept as two arrays: 32-bit whole seconds since `ORIGIN` and doubles. A 5,000-endpoint scan
    holds ~7.5 million datapoints; as Python tuples of datetime and float they would take ~10x the memory,
    and epoch seconds as doubles another 30 MB.
    """

    series: dict[MetricSpec, tuple[array[int], array[float]]] = field(default_factory=dict)
    failed: dict[MetricSpec, str] = field(default_factory=dict)
    # Series by (EndpointName, VariantName), built when first asked and again after series were added
    # (keys are only ever added): looking through every series for each variant was quadratic in the fleet.
    _by_variant: dict[tuple[str, str], list[MetricSpec]] = field(default_factory=dict, repr=False, compare=False)
    _indexed: int = field(default=-1, repr=False, compare=False)

    def of_variant(self, endpoint_name: str, variant_name: str) -> list[MetricSpec]:
        """The series whose dimensions name this endpoint and variant (instance, container, GPU ones...)."""
        if self._indexed != len(self.series):
            index: dict[tuple[str, str], list[MetricSpec]] = {}
            for spec in list(self.series):
                dims = dict(spec.dimensions)
                endpoint, variant = dims.get("EndpointName"), dims.get("VariantName")
                if endpoint is not None and variant is not None:
                    index.setdefault((endpoint, variant), []).append(spec)
            self._by_variant, self._indexed = index, len(self.series)
        return self._by_variant.get((endpoint_name, variant_name), [])

    def add(self, spec: MetricSpec, points: Iterable[tuple[datetime, float]]) -> None:
        pairs = list(points)
        self.add_series(spec, [t for t, _ in pairs], [v for _, v in pairs])

    def add_series(self, spec: MetricSpec, timestamps: Sequence[datetime], values: Sequence[float]) -> None:
        """One query's answer as CloudWatch gives it (parallel lists). A 5,000-endpoint scan adds ~7.5 million
        datapoints: the conversions run in C (map, array.extend), not one Python statement per point."""
        n = min(len(timestamps), len(values))  # never seen unequal; if ever, the pairs that exist
        times, vals = self.series.setdefault(spec, (array("i"), array("d")))
        times.extend(map(int, map(sub, map(datetime.timestamp, timestamps[:n]), repeat(ORIGIN))))
        vals.extend(map(float, values[:n]))

    def known(self, spec: MetricSpec) -> bool:
        return spec not in self.failed

    def values(self, spec: MetricSpec, since: datetime | None = None) -> list[float]:
        if spec not in self.series:
            return []
        times, values = self.series[spec]
        if since is None:
            return list(values)
        cutoff = since.timestamp() - ORIGIN
        return [v for t, v in zip(times, values, strict=True) if t >= cutoff]

    def points(self, spec: MetricSpec, since: datetime | None = None) -> dict[int, float]:
        """Datapoints by time (seconds since ORIGIN), from `since` on: to pair two series hour by hour."""
        if spec not in self.series:
            return {}
        times, values = self.series[spec]
        cutoff = -(2**62) if since is None else since.timestamp() - ORIGIN
        return {t: v for t, v in zip(times, values, strict=True) if t >= cutoff}

    def total(self, spec: MetricSpec, since: datetime | None = None) -> float:
        return sum(self.values(spec, since))

    def peak(self, spec: MetricSpec, since: datetime | None = None) -> float | None:
        values = self.values(spec, since)
        return max(values) if values else None

    def count(self, spec: MetricSpec, since: datetime | None = None) -> int:
        return len(self.values(spec, since))
