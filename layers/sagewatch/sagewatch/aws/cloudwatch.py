"""Batched metric reads: GetMetricData only, never one call per endpoint or per metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sagewatch.aws.clients import error_code, error_message
from sagewatch.metrics import MetricResults, MetricSpec, Windows, batches, datapoints_per_query
from sagewatch.models import ScanError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

MAX_PAGES_PER_BATCH = 1000  # NextToken loops are bounded


class CloudWatchMetrics:
    def __init__(self, client: CloudWatchClient):
        self.client = client

    def fetch(self, specs: Sequence[MetricSpec], windows: Windows) -> tuple[MetricResults, list[ScanError]]:
        results = MetricResults()
        errors: list[ScanError] = []
        points = datapoints_per_query(windows.start, windows.end, windows.period)
        for batch in batches(specs, points):
            try:
                self._fetch_batch(batch, windows, results)
            except ClientError as exc:
                for spec in batch:
                    results.failed[spec] = error_code(exc)
                errors.append(
                    ScanError(
                        "GetMetricData",
                        error_code(exc),
                        f"{error_message(exc)} ({len(batch)} metrics unread)",
                    )
                )
        return results, errors

    def _fetch_batch(self, batch: list[MetricSpec], windows: Windows, results: MetricResults) -> None:
        queries = [spec.to_query(f"m{i}", windows.period) for i, spec in enumerate(batch)]
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": windows.start,
            "EndTime": windows.end,
            "ScanBy": "TimestampAscending",
        }
        for _ in range(MAX_PAGES_PER_BATCH):
            page = self.client.get_metric_data(**kwargs)
            for item in page.get("MetricDataResults", []):
                spec = batch[int(item["Id"][1:])]
                results.add(spec, zip(item.get("Timestamps", []), item.get("Values", []), strict=False))
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
