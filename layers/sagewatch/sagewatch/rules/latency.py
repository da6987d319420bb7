"""Latency: is it fast enough? A variant (or inference component) whose p99 ModelLatency is above its target
is `slow`; a right-sizing that would make a variant close to its target slower is held back (pure).

The target is the endpoint's tag `sagewatch:latency-p99-ms` (milliseconds), else the stack's default
(`LatencyP99Ms`; 0: none). Without a target there is no verdict, and fewer than 100 requests in the window
give none either (one slow request is not a p99).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sagewatch.bounds import bounded
from sagewatch.formats import iso_z, money
from sagewatch.metrics import ORIGIN, MetricSpec, component_metric, new_config_latency, variant_metric
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.rules.common import Judge
from sagewatch.usage import MIN_LATENCY_REQUESTS, Latency

LATENCY_TAG = "sagewatch:latency-p99-ms"
HOLD_BACK_SHARE = 0.8  # no smaller size for a variant whose p99 is already at 80% of its target
HIGH_OVER = 2.0  # p99 at twice its target or more: high; 1.25x or more: medium; else low
MEDIUM_OVER = 1.25


def latency_target(endpoint: str, tags: Mapping[str, str], default_ms: float) -> tuple[float | None, str | None]:
    """The endpoint's p99 target in ms (None: none), and what is wrong with its tag (a scan warning)."""
    fallback = default_ms if default_ms > 0 else None
    raw = next((v for k, v in tags.items() if k.lower() == LATENCY_TAG), None)
    if raw is None:
        return fallback, None
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        instead = f"the default target of {fallback:g} ms is used" if fallback else "it has no latency target"
        return fallback, (
            f"{endpoint}: tag {LATENCY_TAG}={bounded(repr(raw), 60)} is not a positive number of milliseconds; "
            f"{instead}"
        )
    return value, None


def window(ctx: Judge) -> str:
    return f"{iso_z(ctx.windows.idle_start)}/{iso_z(ctx.windows.end)}"


def containers(ctx: Judge, variant: Variant) -> tuple[list[dict[str, Any]], str]:
    """The variant's containers by their average ContainerLatency, slowest first, and a clause naming the
    slowest ("" for a single-container variant)."""
    found = ctx.usages[variant.name].containers
    ranked = sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0]))
    docs = [{"container": name, "avg_ms": avg, "max_ms": peak} for name, (avg, peak) in ranked]
    if not ranked:
        return [], ""
    name, (avg, _) = ranked[0]
    return docs, f"; the slowest container is {name} ({avg:g} ms on average)"


def holds_back(ctx: Judge, variant: Variant) -> str | None:
    """Why no smaller size may be proposed (p99 at or above 80% of its target), or None."""
    latency = ctx.usages[variant.name].latency
    slo = ctx.slo_p99_ms
    if slo is None or latency is None or not latency.judged or latency.p99_ms is None:
        return None
    if latency.p99_ms < HOLD_BACK_SHARE * slo:
        return None
    return (
        f"its p99 latency is {latency.p99_ms:g} ms, {latency.p99_ms / slo:.0%} of its {slo:g} ms target: "
        "a smaller size would make it slower"
    )


def slow(ctx: Judge, variant: Variant, saturated: Finding | None) -> list[Finding]:
    """`slow` findings of a variant (or of each of its inference components) over their p99 target;
    `saturated`: the variant's saturated finding, whose added capacity is then the recommendation."""
    slo = ctx.slo_p99_ms
    if slo is None:
        return []
    usage = ctx.usages[variant.name]
    if variant.uses_inference_components:
        return [
            f
            for ic, latency in sorted(usage.component_latency.items())
            if (f := _slow(ctx, variant, latency, slo, saturated, ic)) is not None
        ]
    found = _slow(ctx, variant, usage.latency, slo, saturated, None) if usage.latency else None
    return [found] if found else []


def _slow(
    ctx: Judge, variant: Variant, latency: Latency, slo: float, saturated: Finding | None, component: str | None
) -> Finding | None:
    if not latency.judged or latency.p99_ms is None or latency.p99_ms <= slo:
        return None
    ratio = latency.p99_ms / slo
    severity = Severity.HIGH if ratio >= HIGH_OVER else Severity.MEDIUM if ratio >= MEDIUM_OVER else Severity.LOW
    evidence: dict[str, Any] = {
        "latency": {**latency.to_evidence(window(ctx)), "slo_p99_ms": slo, "over_by_pct": round((ratio - 1) * 100, 1)},
        "window_start": iso_z(ctx.windows.idle_start),
        "window_end": iso_z(ctx.windows.end),
    }
    where = f"{ctx.endpoint.name}/{variant.name}" + (f" (component {component})" if component else "")
    listed, slowest = containers(ctx, variant)
    if listed:
        evidence["containers"] = listed
    head = (
        f"{where}: p99 {latency.p99_ms:g} ms over its {slo:g} ms target ({ratio:.1f}x; p50 {latency.p50_ms} ms)"
        + slowest
    )
    cost = ctx.variant_cost(variant)
    rec, after = _recommendation(ctx, variant, latency, saturated, head)
    savings = None if cost is None or after is None else round(cost - after, 2)
    return ctx.finding(
        Kind.SLOW, severity, variant, evidence, rec, cost, savings if savings is not None else 0.0, component
    )


def _recommendation(
    ctx: Judge, variant: Variant, latency: Latency, saturated: Finding | None, head: str
) -> tuple[Recommendation, float | None]:
    """From what the metrics show: saturated -> the saturated finding's added capacity (scale out, or the
    auto scaling limits; never a cheaper instance); SageMaker's overhead dominant -> say so; otherwise
    investigate. Returns it and the variant's monthly cost after it (None: unknown or unchanged)."""
    if saturated is not None and saturated.recommendation.action is not Action.INVESTIGATE:
        rec = saturated.recommendation
        return replace(rec, summary=f"{head}, and it is saturated: {rec.summary}"), rec.monthly_cost_usd
    if saturated is not None:
        return replace(
            saturated.recommendation, summary=f"{head}, and it is saturated: {saturated.recommendation.summary}"
        ), None
    if latency.overhead_ms is not None and latency.p50_ms is not None and latency.overhead_ms > latency.p50_ms:
        summary = (
            f"{head}. Most of each request is SageMaker's overhead (OverheadLatency {latency.overhead_ms:g} ms against "
            f"a model p50 of {latency.p50_ms:g} ms): look at payload sizes, serialization and, for serverless, cold "
            "starts before the model."
        )
    else:
        summary = (
            f"{head}. It is not saturated: look at the model itself (a recent deployment, input sizes, batch "
            "settings); a larger or accelerated instance may help, never a cheaper one."
        )
    return Recommendation(Action.INVESTIGATE, None, None, summary), None


COLD_START_SHARE = 0.05  # cold starts at least 5% of invocations...
COLD_START_P99_MS = 1000.0  # ...and their p99 over a second


def cold_starts(ctx: Judge, variant: Variant) -> list[Finding]:
    """A serverless variant whose requests often wait for a container to start (ModelSetupTime)."""
    usage = ctx.usages[variant.name]
    spec = variant.serverless
    if spec is None or usage.invocations < MIN_LATENCY_REQUESTS or usage.cold_start_p99_ms is None:
        return []
    share = usage.cold_starts / usage.invocations
    if share < COLD_START_SHARE or usage.cold_start_p99_ms <= COLD_START_P99_MS:
        return []
    one = ctx.catalog.provisioned_concurrency_monthly_cost(spec.memory_mb, 1)
    price = (
        f"each slot of {spec.memory_mb} MB costs {money(one, cents=True)}/month, billed used or not"
        if one is not None
        else "its price needs the region's provisioned concurrency rate (stack parameter "
        "ProvisionedConcurrencyUsdPerGbSecond)"
    )
    evidence: dict[str, Any] = {
        "cold_starts": int(usage.cold_starts),
        "invocations": int(usage.invocations),
        "cold_start_pct": round(share * 100, 1),
        "cold_start_p99_ms": usage.cold_start_p99_ms,
        "provisioned_concurrency": spec.provisioned_concurrency,
        "provisioned_concurrency_monthly_usd_per_slot": one,
        "window_start": iso_z(ctx.windows.idle_start),
        "window_end": iso_z(ctx.windows.end),
    }
    summary = (
        f"{ctx.endpoint.name}/{variant.name}: {share:.0%} of {int(usage.invocations):,} requests waited for a cold "
        f"start (p99 {usage.cold_start_p99_ms / 1000:.1f} s). Provisioned concurrency keeps containers warm: {price}."
    )
    severity = Severity.HIGH if share >= 0.2 else Severity.MEDIUM
    rec = Recommendation(Action.INVESTIGATE, None, None, summary)
    return [ctx.finding(Kind.COLD_STARTS, severity, variant, evidence, rec, ctx.variant_cost(variant), 0.0)]


REGRESSION_RATIO = 1.5  # p99 since the change at least 1.5x the week before...
REGRESSION_MIN_MS = 50.0  # ...and at least 50 ms worse


def regression(ctx: Judge, variant: Variant) -> list[Finding]:
    """A variant (or component) whose p99 since the endpoint's last change is much worse than the week before:
    `latency-regression` (no target needed). Read from `ctx.history` (recently changed endpoints only)."""
    history = ctx.history
    if history is None or ctx.endpoint.is_async:
        return []
    changed_at = ctx.endpoint.last_modified_time
    pairs: list[tuple[str | None, MetricSpec, MetricSpec]]
    if variant.uses_inference_components:
        pairs = [
            (ic, component_metric(ic, "ModelLatency", "p99"), component_metric(ic, "Invocations", "Sum"))
            for ic in variant.inference_components
        ]
    else:
        name, v = ctx.endpoint.name, variant.name
        pairs = [(None, variant_metric(name, v, "ModelLatency", "p99"), variant_metric(name, v, "Invocations", "Sum"))]
    out = []
    for component, p99, requests in pairs:
        if not (history.known(p99) and history.known(requests)):
            continue
        points = history.points(p99)
        if component is None:  # the new config's own series, after a blue/green deployment, when published
            own = history.points(new_config_latency(ctx.endpoint, variant.name))
            at = changed_at.timestamp() - ORIGIN
            if own:
                points = {t: v for t, v in points.items() if t < at} | {t: v for t, v in own.items() if t >= at}
        found = _regression(ctx, variant, component, points, history.points(requests), changed_at)
        if found is not None:
            out.append(found)
    return out


def _split(points: Mapping[int, float], at: float) -> tuple[dict[int, float], dict[int, float]]:
    return {t: v for t, v in points.items() if t < at}, {t: v for t, v in points.items() if t >= at}


def _p99(values: Mapping[int, float], requests: Mapping[int, float]) -> tuple[float | None, float]:
    weights = {t: requests.get(t, 0.0) for t in values}
    total = sum(weights.values())
    if not values:
        return None, 0.0
    if total <= 0:
        return round(sum(values.values()) / len(values) / 1000, 2), 0.0
    return round(sum(v * weights[t] for t, v in values.items()) / total / 1000, 2), total


def _regression(
    ctx: Judge,
    variant: Variant,
    component: str | None,
    p99s: Mapping[int, float],
    requests: Mapping[int, float],
    changed_at: datetime,
) -> Finding | None:
    at = changed_at.timestamp() - ORIGIN
    before_p99, after_p99 = _split(p99s, at)
    before_req, after_req = _split(requests, at)
    before, served_before = _p99(before_p99, before_req)
    after, served_after = _p99(after_p99, after_req)
    if before is None or after is None or min(served_before, served_after) < MIN_LATENCY_REQUESTS:
        return None
    if after < REGRESSION_RATIO * before or after - before < REGRESSION_MIN_MS:
        return None
    where = f"{ctx.endpoint.name}/{variant.name}" + (f" (component {component})" if component else "")
    evidence: dict[str, Any] = {
        "before_p99_ms": before,
        "after_p99_ms": after,
        "changed_at": iso_z(changed_at),
        "requests_before": int(served_before),
        "requests_after": int(served_after),
        "current_endpoint_config": ctx.endpoint.config_name,
        "previous_endpoint_config": None,  # SageMaker does not say; the scan's config cache may not know
        "baseline": "the 7 days before the change",
    }
    listed, slowest = containers(ctx, variant)
    if listed:
        evidence["containers"] = listed
    ratio = after / before if before else math.inf
    rec = Recommendation(
        Action.INVESTIGATE,
        None,
        None,
        f"{where}: p99 latency went from {before:g} ms to {after:g} ms ({ratio:.1f}x) after the endpoint changed "
        f"at {iso_z(changed_at, seconds=True)} (endpoint config {ctx.endpoint.config_name}){slowest}. Check what the "
        "deployment changed (model, container, instance type); roll back with UpdateEndpoint to the previous "
        "endpoint config if it is the cause.",
    )
    severity = Severity.HIGH if ratio >= 3 else Severity.MEDIUM
    return ctx.finding(
        Kind.LATENCY_REGRESSION, severity, variant, evidence, rec, ctx.variant_cost(variant), 0.0, component
    )
