"""Hand-made endpoints and metric results for unit tests of the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sagewatch.metrics import MetricResults, MetricSpec, Windows
from sagewatch.models import Endpoint, Finding, ServerlessSpec, Variant
from sagewatch.settings import Thresholds

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/{}"


def variant(
    name: str = "AllTraffic",
    instance_type: str | None = "ml.m5.xlarge",
    count: int = 1,
    *,
    components: tuple[str, ...] = (),
    serverless: bool = False,
    provisioned: int = 0,
    hosts_components: bool | None = None,
) -> Variant:
    return Variant(
        name=name,
        instance_type=None if serverless else instance_type,
        instance_count=0 if serverless else count,
        serverless=ServerlessSpec(2048, 5, provisioned) if serverless else None,
        uses_inference_components=bool(components) if hosts_components is None else hosts_components,
        inference_components=components,
    )


def endpoint(
    name: str = "ep",
    *variants: Variant,
    age: timedelta = timedelta(days=30),
    modified_ago: timedelta | None = None,
    is_async: bool = False,
    components_known: bool = True,
    tags: dict[str, str] | None = None,
) -> Endpoint:
    created = NOW - age
    return Endpoint(
        name=name,
        arn=ARN.format(name),
        status="InService",
        creation_time=created,
        last_modified_time=NOW - modified_ago if modified_ago is not None else created,
        config_name=f"{name}-config",
        is_async=is_async,
        variants=variants or (variant(),),
        inference_components_known=components_known,
        tags=dict(tags or {}),
    )


def windows(thresholds: Thresholds | None = None) -> Windows:
    return Windows.ending_at(NOW, thresholds or Thresholds())


def hourly(value: float, hours: int, *, end: datetime = NOW) -> list[tuple[datetime, float]]:
    """`hours` hourly datapoints of `value` ending at `end`."""
    return [(end - timedelta(hours=h), value) for h in range(hours, 0, -1)]


def results(
    *pairs: tuple[MetricSpec, list[tuple[datetime, float]]], failed: tuple[MetricSpec, ...] = ()
) -> MetricResults:
    out = MetricResults()
    for spec, points in pairs:
        out.add(spec, points)
    for spec in failed:
        out.failed[spec] = "InternalError"
    return out


def oversized_finding() -> Finding:
    """An oversized finding as the rules judge it: docs/AllTraffic, 3 x ml.m5.4xlarge peaking at 12% CPU."""
    from sagewatch.catalog import Catalog
    from sagewatch.metrics import utilization_metric, variant_metric
    from sagewatch.rules import judge_endpoint

    ep = endpoint("docs", variant("AllTraffic", "ml.m5.4xlarge", 3))
    res = results(
        (variant_metric("docs", "AllTraffic", "Invocations", "Sum"), hourly(100, 168)),
        (utilization_metric("docs", "AllTraffic", "CPUUtilization"), hourly(0.12 * 1600, 168)),
        (utilization_metric("docs", "AllTraffic", "MemoryUtilization"), hourly(18, 168)),
    )
    return judge_endpoint(ep, res, Catalog.load(), Thresholds(), windows())[0]
