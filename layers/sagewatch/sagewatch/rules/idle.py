"""Idle: an endpoint, variant, inference component or provisioned concurrency that served nothing over the
idle window (pure)."""

from __future__ import annotations

from typing import Any

from sagewatch.formats import iso_z
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.rules.common import Judge, savings_severity
from sagewatch.schedule import habitually_quiet, quiet_by_rhythm


def idle(ctx: Judge) -> list[Finding]:
    # Younger than the window (since creation or the last update): no history to call it idle on.
    if ctx.endpoint.history_start > ctx.windows.idle_start:
        return []
    # If any variant's traffic is unknown, nothing about idleness is certain.
    if not all(ctx.usages[v.name].traffic_known for v in ctx.endpoint.variants):
        return []
    # silent over the idle window, unless that is its weekly rhythm (a weekday-only endpoint on a Sunday): the
    # off-hours rule speaks of that, and "delete" would be wrong every weekend
    idle = [v for v in ctx.endpoint.variants if ctx.is_idle(v) and not _quiet_by_habit(ctx, v)]
    if not idle:
        return []
    evidence = _idle_evidence(ctx, idle)
    if len(idle) == len(ctx.endpoint.variants):
        return _idle_endpoint(ctx, evidence)
    findings = []
    for variant in idle:
        if variant.serverless is not None:
            if variant.serverless.provisioned_concurrency:
                findings.append(_provisioned_concurrency(ctx, variant, evidence))
            continue  # without provisioned concurrency an idle serverless variant costs nothing
        cost = ctx.variant_cost(variant)
        if not cost:
            continue
        rec = Recommendation(
            Action.REMOVE_VARIANT,
            None,
            0,
            f"Remove variant {variant.name} from {ctx.endpoint.name}: it served no requests in "
            f"{ctx.thresholds.idle_hours} h while the other variants did.",
            0.0,
        )
        findings.append(ctx.finding(Kind.IDLE, savings_severity(cost), variant, evidence, rec, cost, cost))
    return findings


def _quiet_by_habit(ctx: Judge, variant: Variant) -> bool:
    profile = ctx.profiles.get(variant.name)
    if profile is not None:
        return habitually_quiet(profile, ctx.windows.idle_start, ctx.windows.end)
    rhythm = ctx.rhythms.get(variant.name)  # an hourly scan: the rhythm the deep scan read
    busiest = ctx.usages[variant.name].busiest_hour
    return rhythm is not None and quiet_by_rhythm(rhythm, busiest, ctx.windows.idle_start, ctx.windows.end)


def _idle_evidence(ctx: Judge, idle: list[Variant]) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "window_start": iso_z(ctx.windows.idle_start),
        "window_end": iso_z(ctx.windows.end),
        "idle_hours": ctx.thresholds.idle_hours,
        "invocations": 0,
        "endpoint_age_hours": round((ctx.windows.end - ctx.endpoint.history_start).total_seconds() / 3600, 1),
        "idle_variants": [v.name for v in idle],
    }
    if ctx.endpoint.is_async:
        evidence["metric"] = "InvocationsProcesssed"
        evidence["backlog_peak"] = 0
    components = [ic for v in idle for ic in v.inference_components]
    if any(v.uses_inference_components for v in idle):
        evidence["metric"] = "Invocations per InferenceComponentName"
        evidence["inference_components"] = components
    return evidence


def _idle_endpoint(ctx: Judge, evidence: dict[str, Any]) -> list[Finding]:
    # deleting it also stops its shadow variants' instances
    costs = [ctx.variant_cost(v) for v in (*ctx.endpoint.variants, *ctx.endpoint.shadow_variants)]
    cost = None if any(c is None for c in costs) else round(sum((c for c in costs if c), 0.0), 2)
    instances = sum(v.instance_count for v in ctx.endpoint.variants)
    hours = ctx.thresholds.idle_hours
    if ctx.endpoint.is_async:
        if instances == 0:
            return []  # already scaled to zero: costs nothing
        rec = Recommendation(
            Action.SCALE_TO_ZERO,
            None,
            0,
            f"Let {ctx.endpoint.name} scale to zero instances when its queue is empty (auto scaling minimum "
            f"capacity 0): it processed no requests in {hours} h.",
            0.0,
        )
        return [ctx.finding(Kind.IDLE, savings_severity(cost), None, evidence, rec, cost, cost)]
    if instances == 0:
        warm = [v for v in ctx.endpoint.variants if v.serverless and v.serverless.provisioned_concurrency]
        if warm:
            return [_provisioned_concurrency(ctx, v, evidence) for v in warm]
        # Serverless only: idle costs nothing, so there is nothing to save by deleting it.
        evidence["note"] = "serverless endpoints are billed per request and cost nothing while idle"
        rec = Recommendation(
            Action.INVESTIGATE,
            None,
            None,
            f"{ctx.endpoint.name} is serverless and served no requests in {hours} h; "
            "delete it if it is no longer used.",
        )
        return [ctx.finding(Kind.IDLE, Severity.LOW, None, evidence, rec, cost, 0.0)]
    intermittent = _intermittent_components(ctx, evidence, cost)
    if intermittent is not None:
        return [intermittent]
    what = (
        "hosts no inference components"
        if evidence.get("inference_components") == []
        else (f"served no requests in {hours} h")
    )
    rec = Recommendation(
        Action.DELETE_ENDPOINT,
        None,
        0,
        f"Delete endpoint {ctx.endpoint.name}: it {what}. Its endpoint config and models are kept.",
        0.0,
    )
    return [ctx.finding(Kind.IDLE, savings_severity(cost), None, evidence, rec, cost, cost)]


def _provisioned_concurrency(ctx: Judge, variant: Variant, evidence: dict[str, Any]) -> Finding:
    """An idle serverless variant with provisioned concurrency: the warm capacity is billed whether or not it
    is called, so removing it saves all of it; the endpoint stays and is billed per request."""
    sv = variant.serverless
    assert sv is not None
    cost = ctx.variant_cost(variant)
    rate = ctx.catalog.provisioned_concurrency_usd_per_gb_second
    evidence = {
        **evidence,
        "provisioned_concurrency": sv.provisioned_concurrency,
        "memory_mb": sv.memory_mb,
        "provisioned_concurrency_usd_per_gb_second": rate,
    }
    if cost is None:
        evidence["note"] = (
            "provisioned concurrency is billed while idle, but the catalog has no price for it: set the stack "
            "parameter ProvisionedConcurrencyUsdPerGbSecond (or catalog refresh --provisioned-concurrency-price)"
        )
    rec = Recommendation(
        Action.REMOVE_PROVISIONED_CONCURRENCY,
        None,
        None,
        f"Remove the provisioned concurrency of {ctx.endpoint.name}/{variant.name} "
        f"({sv.provisioned_concurrency} x {sv.memory_mb} MB kept warm): it served no requests in "
        f"{ctx.thresholds.idle_hours} h. The endpoint stays, billed per request.",
        0.0,
    )
    return ctx.finding(Kind.IDLE, savings_severity(cost), variant, evidence, rec, cost, cost)


def _intermittent_components(ctx: Judge, evidence: dict[str, Any], cost: float | None) -> Finding | None:
    """An inference-component endpoint idle over the idle window but used earlier in the utilization window
    is intermittent, not gone: it can scale to zero (managed instance scaling minimum 0, copies to 0) and
    come back when called, instead of being deleted."""
    variants = ctx.endpoint.variants
    if not evidence.get("inference_components") or not all(v.uses_inference_components for v in variants):
        return None
    earlier = sum(ctx.usages[v.name].window_invocations for v in variants)
    if earlier <= 0:
        return None
    evidence["window_invocations"] = int(earlier)
    days = ctx.thresholds.utilization_days
    rec = Recommendation(
        Action.SCALE_TO_ZERO,
        None,
        0,
        f"Let {ctx.endpoint.name} scale to zero when unused (managed instance scaling minimum 0, its inference "
        f"components' copies to 0): it served no requests in {ctx.thresholds.idle_hours} h but "
        f"{int(earlier):,} in the last {days} days, so it is intermittent, not gone.",
        0.0,
    )
    return ctx.finding(Kind.IDLE, savings_severity(cost), None, evidence, rec, cost, cost)
