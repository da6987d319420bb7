"""One place for Powertools logging, metrics and tracing. Service name and metrics namespace come
from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (set once in the template's Globals).

Metrics() reads its namespace when it is made, so the scan function makes its own at cold start (new_metrics)
rather than sharing one made whenever this module happened to be imported first."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from sagewatch.metrics import FINDINGS_METRIC, SCAN_METRICS
from sagewatch.models import Kind
from sagewatch.scan_report import ScanReport

logger = Logger()
tracer = Tracer()


def new_metrics() -> Metrics:
    return Metrics()


def record_scan_metrics(metrics: Metrics, report: ScanReport) -> None:
    """EMF metrics of one scan: fleet size, cost, waste, errors and findings by kind."""
    count, usd = MetricUnit.Count, MetricUnit.NoUnit
    figures = (
        (count, report.endpoints),
        (count, len(report.skipped)),
        (count, len(report.errors)),
        (usd, report.fleet_monthly_cost_usd),
        (usd, report.monthly_savings_usd),
    )
    for name, (unit, value) in zip(SCAN_METRICS, figures, strict=True):
        metrics.add_metric(name=name, unit=unit, value=value)
    counts = report.counts_by_kind()
    for kind in (k.value for k in Kind):
        # A dimension per kind (zeros included) so dashboards and alarms see every series.
        with single_metric(
            name=FINDINGS_METRIC, unit=MetricUnit.Count, value=counts.get(kind, 0), namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="Kind", value=kind)
