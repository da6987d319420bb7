"""One place for Powertools logging, metrics and tracing. Service name and metrics namespace come
from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (set once in the template's Globals).

Metrics() reads its namespace when it is made, so the scan function makes its own at cold start (new_metrics)
rather than sharing one made whenever this module happened to be imported first."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, SchemaValidationError, single_metric

from sagewatch.metrics import FINDINGS_METRIC, FLEET_COST_METRIC, SCAN_METRICS, WASTE_METRIC
from sagewatch.models import Kind
from sagewatch.scan_report import ScanReport

logger = Logger()
tracer = Tracer()


def new_metrics() -> Metrics:
    return Metrics()


UNEXPECTED_ERRORS_METRIC = "UnexpectedErrors"
REFUSED_EVENTS_METRIC = "RefusedForwardedEvents"
SLACK_REFUSED_METRIC = "SlackRequestsRefused"  # by Status: 401 unsigned or stale, 400 not a click, 413, 503
SLACK_CLICKS_METRIC = "SlackClicks"  # by Outcome: planned, done, refused, changed, invalid...
SCANS_SKIPPED_METRIC = "ScansSkipped"  # a scan that found lock#scan held: ScansSkippedAlarm when it keeps happening


def count(name: str, **dimensions: str) -> None:
    """One EMF datapoint of `name` (Count 1) now, with the service and these dimensions; never raises."""
    try:
        with single_metric(name=name, unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="service", value=logger.service)
            for key, value in dimensions.items():
                metric.add_dimension(name=key, value=value)
    except SchemaValidationError as exc:  # no namespace (POWERTOOLS_METRICS_NAMESPACE): the log must do
        logger.warning(f"{name} could not be emitted: {exc}")


def unexpected_error(what: str) -> None:
    """An error no one foresaw (not a refusal of bad input): logged at ERROR with its traceback (call it in the
    `except` block) and counted apart, as UnexpectedErrors, which UnexpectedErrorsAlarm pages on. A refusal
    names the input's problem; this means sagewatch has a bug or met something new."""
    logger.exception(f"{what}: unforeseen error, acknowledged and counted ({UNEXPECTED_ERRORS_METRIC})")
    count(UNEXPECTED_ERRORS_METRIC)


SCAN_TIME_METRIC, SCAN_RATE_METRIC = "ScanTimeUsedPct", "ScanSecondsPerEndpoint"  # ScanNearTimeoutAlarm's


METRIC_SERIES_METRIC = "MetricSeriesRead"  # series a scan asked GetMetricData for (sagewatch.cadence)


def record_scan_metrics(metrics: Metrics, report: ScanReport, timing: Mapping[str, Any] | None = None) -> None:
    """EMF metrics of one scan: fleet size, cost, waste, errors and findings by kind; and how much of its
    function's timeout it used (sagewatch.scantime), which ScanNearTimeoutAlarm watches."""
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
    timing = timing or {}
    # this scan's share of its timeout, or the day's deep scan's projected one if larger (ScanNearTimeoutAlarm)
    shares = [timing.get(k) for k in ("used_pct", "deep_projected_pct")]
    known = [p for p in shares if isinstance(p, int | float)]
    if known:
        metrics.add_metric(name=SCAN_TIME_METRIC, unit=MetricUnit.Percent, value=max(known))
    if isinstance(timing.get("seconds_per_endpoint"), int | float):
        metrics.add_metric(name=SCAN_RATE_METRIC, unit=MetricUnit.Seconds, value=timing["seconds_per_endpoint"])
    series = report.cadence.get("metric_series")
    if isinstance(series, int):  # what GetMetricData bills ($0.01 per 1,000): hourly scans read far fewer
        metrics.add_metric(name=METRIC_SERIES_METRIC, unit=MetricUnit.Count, value=series)
    counts = report.counts_by_kind()
    for kind in (k.value for k in Kind):
        # A dimension per kind (zeros included) so dashboards and alarms see every series.
        with single_metric(
            name=FINDINGS_METRIC, unit=MetricUnit.Count, value=counts.get(kind, 0), namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="Kind", value=kind)


def record_org_metrics(metrics: Metrics, tick: Mapping[str, Any]) -> None:
    """EMF metrics of the central account, every digest tick: silent members (an alarm watches it), members,
    and the organization's cost, waste and findings by kind under the scan's names (the same dashboard)."""
    count, usd = MetricUnit.Count, MetricUnit.NoUnit
    metrics.add_metric(name="SilentMembers", unit=count, value=tick["silent_members"])
    metrics.add_metric(name="OrgMembers", unit=count, value=tick["members"])
    # sums of bounded numbers are finite; a non-finite one would make the whole EMF line invalid JSON
    for name, key in ((FLEET_COST_METRIC, "fleet_monthly_cost_usd"), (WASTE_METRIC, "monthly_savings_usd")):
        if math.isfinite(tick[key]):
            metrics.add_metric(name=name, unit=usd, value=tick[key])
    counts = tick["findings_by_kind"]
    for kind in (k.value for k in Kind):
        with single_metric(
            name=FINDINGS_METRIC, unit=count, value=counts.get(kind, 0), namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="Kind", value=kind)
