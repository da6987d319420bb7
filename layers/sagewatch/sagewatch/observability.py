"""One place for Powertools logging, metrics and tracing. Service name and metrics namespace come
from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (set once in the template's Globals)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from sagewatch.report import ScanReport

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def record_scan_metrics(report: ScanReport) -> None:
    """EMF metrics of one scan: fleet size, cost, waste, errors and findings by kind."""
    metrics.add_metric(name="EndpointsScanned", unit=MetricUnit.Count, value=report.endpoints)
    metrics.add_metric(name="EndpointsSkipped", unit=MetricUnit.Count, value=len(report.skipped))
    metrics.add_metric(name="ScanErrors", unit=MetricUnit.Count, value=len(report.errors))
    metrics.add_metric(name="FleetMonthlyCost", unit=MetricUnit.NoUnit, value=report.fleet_monthly_cost_usd)
    metrics.add_metric(name="MonthlyWaste", unit=MetricUnit.NoUnit, value=report.monthly_savings_usd)
    counts = report.counts_by_kind()
    for kind in ("idle", "oversized", "saturated", "errors"):
        # A dimension per kind (zeros included) so dashboards and alarms see every series.
        with single_metric(
            name="Findings", unit=MetricUnit.Count, value=counts.get(kind, 0), namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="Kind", value=kind)
