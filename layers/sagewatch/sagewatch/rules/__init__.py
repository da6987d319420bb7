"""The rules, one module per concern, each a pure function of one endpoint's usage and the thresholds:

- `idle`: nothing served over the idle window (endpoint, variant, inference component, provisioned concurrency)
- `sizing`: saturated or oversized at the peak (type, count, auto scaling limits)
- `errors`: server errors above the rate threshold
- `imbalance`: one instance or GPU far busier than its siblings
- `latency`: p99 above its target (`slow`); no smaller size for a variant near its target; serverless
  `cold-starts`; a p99 much worse since the endpoint's last change (`latency-regression`)
- `cache`: a multi-model endpoint whose model cache thrashes (`cache-thrashing`)

`judge_endpoint` applies them in that order: an idle endpoint says nothing else.
"""

from __future__ import annotations

from sagewatch.catalog import Catalog
from sagewatch.metrics import MetricResults, Windows
from sagewatch.models import Endpoint, Finding, Kind
from sagewatch.rules import cache, errors, idle, imbalance, latency, sizing
from sagewatch.rules.common import Judge, finding_id, savings_severity
from sagewatch.rules.imbalance import imbalance_of
from sagewatch.rules.latency import latency_target
from sagewatch.settings import Thresholds
from sagewatch.usage import variant_usage

__all__ = ["Judge", "finding_id", "imbalance_of", "judge_endpoint", "latency_target", "savings_severity"]


def judge(ctx: Judge) -> list[Finding]:
    findings = idle.idle(ctx)
    idle_variants = {f.variant for f in findings}
    if None in idle_variants:
        return findings  # the whole endpoint is idle: nothing else to say
    for variant in ctx.endpoint.variants:
        if variant.name in idle_variants:
            continue
        sized = sizing.sizing(ctx, variant)
        findings += sized
        findings += latency.slow(ctx, variant, next((f for f in sized if f.kind is Kind.SATURATED), None))
        findings += latency.cold_starts(ctx, variant)
        findings += latency.regression(ctx, variant)
        findings += cache.cache_thrashing(ctx, variant)
        findings += errors.errors(ctx, variant)
        findings += imbalance.imbalance(ctx, variant)
    return findings


def judge_endpoint(
    endpoint: Endpoint,
    results: MetricResults,
    catalog: Catalog,
    thresholds: Thresholds,
    windows: Windows,
    history: MetricResults | None = None,
) -> list[Finding]:
    """Every rule on one endpoint; `history`: its latency over the regression window (recently changed only)."""
    usages = {v.name: variant_usage(endpoint, v, results, windows) for v in endpoint.variants}
    slo, _ = latency.latency_target(endpoint.name, endpoint.tags, thresholds.latency_p99_ms)
    return judge(Judge(endpoint, usages, catalog, thresholds, windows, slo, history))
