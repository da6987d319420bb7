"""Batched metric reads: GetMetricData, never one call per endpoint or per metric; and, for endpoints with
enhanced metrics only, one ListMetrics each to learn their instance ids."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sagewatch.aws.clients import error_code, error_message
from sagewatch.metrics import (
    ACCELERATOR_DIMENSION,
    CONTAINER_DIMENSION,
    IMBALANCE_METRICS,
    INSTANCE_DIMENSION,
    NS_INSTANCE,
    NS_RUNTIME,
    MetricResults,
    MetricSpec,
    Windows,
    batches,
    container_metric,
    datapoints_per_query,
    instance_metric,
)
from sagewatch.models import Endpoint, ScanError
from sagewatch.progress import ProgressSink, no_progress

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

MAX_PAGES_PER_BATCH = 1000  # NextToken loops are bounded


# GetMetricData allows 50 TPS an account and region: a few batches in flight hide each call's latency (a
# 5,000-endpoint scan reads ~90 batches) without crowding out the account's other CloudWatch readers.
METRIC_WORKERS = 3


class CloudWatchMetrics:
    def __init__(self, client: CloudWatchClient, progress: ProgressSink = no_progress):
        self.client = client
        self.progress = progress

    def fetch(self, specs: Sequence[MetricSpec], windows: Windows) -> tuple[MetricResults, list[ScanError]]:
        results = MetricResults()
        points = datapoints_per_query(windows.start, windows.end, windows.period)
        planned = list(batches(specs, points))
        lock = threading.Lock()  # the batches' answers go into one MetricResults
        done = iter(range(1, len(planned) + 1))  # next() is atomic under the GIL
        self.progress("metric batches", 0, len(planned))

        def read(batch: list[MetricSpec]) -> ScanError | None:
            try:
                self._fetch_batch(batch, windows, results, lock)
                error = None
            except ClientError as exc:
                with lock:
                    for spec in batch:
                        results.failed[spec] = error_code(exc)
                error = ScanError(
                    "GetMetricData", error_code(exc), f"{error_message(exc)} ({len(batch)} metrics unread)"
                )
            self.progress("metric batches", next(done), len(planned))
            return error

        with ThreadPoolExecutor(max_workers=METRIC_WORKERS, thread_name_prefix="metrics") as pool:
            errors = [e for e in pool.map(read, planned) if e is not None]  # in batch order
        self.progress("metric batches", len(planned), len(planned))
        return results, errors

    def _fetch_batch(
        self, batch: list[MetricSpec], windows: Windows, results: MetricResults, lock: threading.Lock
    ) -> None:
        queries = [spec.to_query(f"m{i}", windows.period) for i, spec in enumerate(batch)]
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": windows.start,
            "EndTime": windows.end,
            "ScanBy": "TimestampAscending",
        }
        for _ in range(MAX_PAGES_PER_BATCH):
            page = self.client.get_metric_data(**kwargs)
            with lock:
                for item in page.get("MetricDataResults", []):
                    spec = batch[int(item["Id"][1:])]
                    results.add_series(spec, item.get("Timestamps", []), item.get("Values", []))
                    # PartialData means more on the next page; InternalError/Forbidden mean unknown.
                    if item.get("StatusCode") in ("InternalError", "Forbidden"):
                        results.failed[spec] = str(item["StatusCode"])
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
        else:
            for spec in batch:
                results.failed[spec] = "TooManyPages"

    def instance_metrics(self, endpoints: Sequence[Endpoint]) -> tuple[list[MetricSpec], list[ScanError]]:
        """Per-instance and per-GPU utilization metrics of the endpoints with enhanced metrics on: one paginated
        ListMetrics per such endpoint (instance ids are not known otherwise), none for the others."""
        specs: list[MetricSpec] = []
        errors: list[ScanError] = []
        for endpoint in endpoints:
            if not endpoint.enhanced_metrics:
                continue
            try:
                pages = self.client.get_paginator("list_metrics").paginate(
                    Namespace=NS_INSTANCE, Dimensions=[{"Name": "EndpointName", "Value": endpoint.name}]
                )
                for page in pages:
                    for metric in page.get("Metrics", []):
                        spec = _instance_spec(endpoint.name, metric)
                        if spec is not None:
                            specs.append(spec)
            except ClientError as exc:
                errors.append(ScanError("ListMetrics", error_code(exc), error_message(exc), endpoint.name))
        return sorted(set(specs)), errors

    def container_metrics(self, endpoints: Sequence[Endpoint]) -> tuple[list[MetricSpec], list[str]]:
        """ContainerLatency of every container of the scanned endpoints that publish it (serial inference
        pipelines, multi-container endpoints): one paginated ListMetrics for the region, not one per endpoint.
        A failed listing is a warning (the containers are detail; the scan is whole without them)."""
        names = {e.name for e in endpoints if not e.is_async}
        if not names:
            return [], []
        specs: list[MetricSpec] = []
        try:
            pages = self.client.get_paginator("list_metrics").paginate(
                Namespace=NS_RUNTIME, MetricName="ContainerLatency"
            )
            for page in pages:
                for metric in page.get("Metrics", []):
                    specs += _container_specs(names, metric)
        except ClientError as exc:
            return [], [
                f"containers' latency not read (ListMetrics ContainerLatency: {error_code(exc)}: "
                f"{error_message(exc)[:200]})"
            ]
        return sorted(set(specs)), []


def _container_specs(names: set[str], metric: Mapping[str, Any]) -> list[MetricSpec]:
    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
    if set(dims) != {"EndpointName", "VariantName", CONTAINER_DIMENSION} or dims["EndpointName"] not in names:
        return []
    return [
        container_metric(dims["EndpointName"], dims["VariantName"], dims[CONTAINER_DIMENSION], stat)
        for stat in ("Average", "Maximum")
    ]


def _instance_spec(endpoint: str, metric: Mapping[str, Any]) -> MetricSpec | None:
    if metric.get("MetricName") not in IMBALANCE_METRICS:
        return None
    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
    allowed = {"EndpointName", "VariantName", INSTANCE_DIMENSION, ACCELERATOR_DIMENSION}
    if dims.get("EndpointName") != endpoint or INSTANCE_DIMENSION not in dims or "VariantName" not in dims:
        return None
    if set(dims) - allowed:
        return None  # e.g. per container: not a sibling of the instances
    return instance_metric(
        endpoint,
        dims["VariantName"],
        str(metric["MetricName"]),
        dims[INSTANCE_DIMENSION],
        dims.get(ACCELERATOR_DIMENSION),
    )
