"""Sizing: a variant saturated on some resource (scale out, or its auto scaling's limits), or oversized at its
peak (a cheaper type or fewer instances, or a lower auto scaling floor) (pure)."""

from __future__ import annotations

import math
from typing import Any

from sagewatch.catalog import Accelerator, InstanceSpec
from sagewatch.formats import iso_z, money
from sagewatch.metrics import GPU_METRICS, UTILIZATION_METRICS
from sagewatch.models import Action, Autoscaling, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.rules.common import MIN_UTILIZATION_COVERAGE, Judge, savings_severity
from sagewatch.rules.latency import holds_back, window
from sagewatch.sizing import Option, Peaks, cheapest_option
from sagewatch.usage import VariantUsage


def sizing(ctx: Judge, variant: Variant) -> list[Finding]:
    spec = ctx.spec(variant)
    usage = ctx.usages[variant.name]
    if spec is None or variant.instance_count == 0 or not usage.utilization_known:
        return []
    peaks = Peaks.of(spec, usage.peaks)
    observed = peaks.observed()
    if not observed:
        return []
    hot = {k: v for k, v in observed.items() if v > ctx.thresholds.saturation_pct}
    if hot:
        return [_saturated(ctx, variant, spec, peaks, hot, usage)]
    oversized = _oversized(ctx, variant, spec, peaks, usage)
    return [oversized] if oversized else []


def _sizing_evidence(ctx: Judge, spec: InstanceSpec, peaks: Peaks, usage: VariantUsage) -> dict[str, Any]:
    raw = {
        k: (None if v is None else round(v, 1))
        for k, v in usage.peaks.items()
        if k in UTILIZATION_METRICS + GPU_METRICS
    }
    since = usage.utilization_since or ctx.windows.utilization_start
    doc = {
        "window_start": iso_z(since),
        "window_end": iso_z(ctx.windows.end),
        "hours_observed": usage.utilization_hours,
        "statistic": "highest hourly average",
        "peak_pct": peaks.observed(),
        "raw_peak": raw,
        "vcpu": spec.vcpu,
        "memory_gib": spec.memory_gib,
        "accelerators": spec.accelerator_count,
    }
    if usage.latency is not None:  # a person sees the margin to the latency target
        doc["latency"] = {**usage.latency.to_evidence(window(ctx)), "slo_p99_ms": ctx.slo_p99_ms}
    return doc


def _saturated(
    ctx: Judge, variant: Variant, spec: InstanceSpec, peaks: Peaks, hot: dict[str, float], usage: VariantUsage
) -> Finding:
    n = variant.instance_count
    target = ctx.thresholds.target_utilization_pct
    compute_peak = max([v for k, v in peaks.observed().items() if k in ("cpu", "gpu")], default=0.0)
    upper = max(n, math.ceil(n * compute_peak / target))
    # Hot resources must come under the target; the others may not get worse than today.
    limits = {k: target if k in hot else max(target, v) for k, v in peaks.observed().items()}
    option = cheapest_option(spec, n, peaks, ctx.catalog, limits, range(n, upper + 1))
    cost = spec.monthly_cost(n)
    evidence = _sizing_evidence(ctx, spec, peaks, usage)
    evidence["saturated"] = hot
    evidence["threshold_pct"] = ctx.thresholds.saturation_pct
    worst = max(hot.values())
    severity = Severity.HIGH if worst >= (ctx.thresholds.saturation_pct + 100) / 2 else Severity.MEDIUM
    hot_text = ", ".join(f"{k} {v:.0f}%" for k, v in hot.items())
    if option is None:
        rec = Recommendation(
            Action.INVESTIGATE,
            None,
            None,
            f"{ctx.endpoint.name}/{variant.name} peaks at {hot_text} and no {spec.accelerator.value} "
            f"instance in the catalog brings it under {target:g}%: shard the model or change its serving setup.",
        )
        return ctx.finding(Kind.SATURATED, severity, variant, evidence, rec, cost, 0.0)
    same_type = option.spec.instance_type == spec.instance_type
    if same_type and variant.autoscaling is not None:
        return _scaling_saturated(ctx, variant, spec, variant.autoscaling, option.count, evidence, severity, cost)
    action = Action.SCALE_OUT if same_type else Action.RESIZE_VARIANT
    verb = (
        f"Scale {ctx.endpoint.name}/{variant.name} out to {option.count} x {spec.instance_type}"
        if same_type
        else f"Resize {ctx.endpoint.name}/{variant.name} to {option.count} x {option.spec.instance_type}"
    )
    rec = _sized_recommendation(action, option, cost, f"{verb}: it peaks at {hot_text}.", variant)
    return ctx.finding(
        Kind.SATURATED,
        severity,
        variant,
        evidence,
        rec,
        cost,
        round(max(0.0, cost - option.monthly_cost), 2),
    )


def _scaling_saturated(
    ctx: Judge,
    variant: Variant,
    spec: InstanceSpec,
    scaling: Autoscaling,
    needed: int,
    evidence: dict[str, Any],
    severity: Severity,
    cost: float,
) -> Finding:
    """Saturated with auto scaling: at its ceiling it needs a higher one; below it, the policy is not
    keeping up (scaling out by hand would be undone by the autoscaler)."""
    where, n = f"{ctx.endpoint.name}/{variant.name}", variant.instance_count
    hot = ", ".join(f"{k} {v:.0f}%" for k, v in evidence["saturated"].items())
    if n >= scaling.max_capacity:
        rec = Recommendation(
            Action.SET_SCALING_LIMITS,
            spec.instance_type,
            needed,
            f"Raise the auto scaling maximum of {where} from {scaling.max_capacity} to {needed} (minimum stays "
            f"{scaling.min_capacity}): it runs at its ceiling of {n} x {spec.instance_type} and peaks at {hot}; "
            f"{needed} keep the peak under {ctx.thresholds.target_utilization_pct:g}%. Monthly cost at the "
            f"ceiling {money(spec.monthly_cost(scaling.max_capacity), cents=True)} -> "
            f"{money(spec.monthly_cost(needed), cents=True)}.",
            spec.monthly_cost(needed),
            min_capacity=scaling.min_capacity,
            max_capacity=needed,
        )
        return ctx.finding(Kind.SATURATED, severity, variant, evidence, rec, cost, 0.0)
    policy = scaling.target_tracking
    keeping = (
        f"its target tracking policy {policy.name} ({policy.metric} at {policy.target_value:g}) is not keeping "
        "up: lower the target, shorten the scale-out cooldown, or scale on a metric that moves with the load"
        if policy is not None and policy.target_value is not None
        else "no target tracking policy scales it out: add one"
    )
    rec = Recommendation(
        Action.INVESTIGATE,
        None,
        None,
        f"{where} peaks at {hot} with {n} of at most {scaling.max_capacity} instances: {keeping}.",
    )
    return ctx.finding(Kind.SATURATED, severity, variant, evidence, rec, cost, 0.0)


def _oversized(ctx: Judge, variant: Variant, spec: InstanceSpec, peaks: Peaks, usage: VariantUsage) -> Finding | None:
    # Right-sizing needs the whole window on today's hardware, and both CPU and memory seen.
    if usage.utilization_since is None or usage.utilization_since > ctx.windows.utilization_start:
        return None
    if peaks.cpu is None or peaks.memory is None:
        return None
    window_hours = (ctx.windows.end - ctx.windows.utilization_start).total_seconds() / 3600
    if usage.utilization_hours < MIN_UTILIZATION_COVERAGE * window_hours:
        return None
    # Component placement follows the components' reservations, which this rule does not see.
    if variant.uses_inference_components:
        return None
    # A multi-model endpoint's memory holds its model cache: low CPU is no reason to shrink it.
    if usage.cache is not None:
        return None
    n = variant.instance_count
    # Never below two instances when there are two or more: SageMaker spreads them over zones.
    counts = range(min(n, 2), n + 1)
    option = cheapest_option(spec, n, peaks, ctx.catalog, ctx.thresholds.target_utilization_pct, counts)
    cost = spec.monthly_cost(n)
    if option is None:
        return None
    scaling = variant.autoscaling
    if scaling is not None and option.spec.instance_type == spec.instance_type:
        return _lower_floor(ctx, variant, spec, scaling, option.count, peaks, usage)
    savings = round(cost - option.monthly_cost, 2)
    if savings < max(ctx.thresholds.min_monthly_savings_usd, 0.01):
        return None
    evidence = _sizing_evidence(ctx, spec, peaks, usage)
    evidence["target_pct"] = ctx.thresholds.target_utilization_pct
    evidence["alternatives"] = _arm64_alternatives(ctx, spec, n, peaks, counts, option.monthly_cost)
    peak_text = ", ".join(f"{k} {v:.0f}%" for k, v in peaks.observed().items())
    proposal = (
        f"Resize {ctx.endpoint.name}/{variant.name} from {n} x {spec.instance_type} to {option.count} x "
        f"{option.spec.instance_type}: its peaks ({peak_text}) would stay under "
        f"{ctx.thresholds.target_utilization_pct:g}%."
    )
    held = holds_back(ctx, variant)
    if held is not None:
        return _held_back(ctx, variant, evidence, proposal, held, cost, savings)
    rec = _sized_recommendation(Action.RESIZE_VARIANT, option, cost, proposal, variant)
    return ctx.finding(Kind.OVERSIZED, savings_severity(savings), variant, evidence, rec, cost, savings)


def _held_back(
    ctx: Judge,
    variant: Variant,
    evidence: dict[str, Any],
    proposal: str,
    reason: str,
    cost: float,
    savings: float,
) -> Finding:
    """Oversized on utilization, but too close to its latency target to shrink: said, not proposed."""
    evidence = {**evidence, "held_back": reason, "would_save_usd": savings}
    rec = Recommendation(
        Action.INVESTIGATE,
        None,
        None,
        f"Not proposed: {proposal.rstrip('.')} (saving {money(savings, cents=True)}/month), but {reason}. "
        "Make the model faster first, or keep the size.",
    )
    return ctx.finding(Kind.OVERSIZED, Severity.LOW, variant, evidence, rec, cost, 0.0)


def _arm64_alternatives(
    ctx: Judge, spec: InstanceSpec, n: int, peaks: Peaks, counts: range, beats: float
) -> list[dict[str, Any]]:
    """A Graviton option cheaper than the recommendation, offered apart: it needs an arm64 build of the
    container, which sagewatch cannot see, so it is never the recommendation itself."""
    if spec.arm64 or spec.accelerator is not Accelerator.CPU:
        return []
    target = ctx.thresholds.target_utilization_pct
    option = cheapest_option(spec, n, peaks, ctx.catalog, target, counts, arm64=True)
    if option is None or option.monthly_cost >= beats:
        return []
    return [
        {
            "instance_type": option.spec.instance_type,
            "instance_count": option.count,
            "monthly_cost_usd": option.monthly_cost,
            "architecture": "arm64",
            "note": "AWS Graviton: only if the model container is built for arm64",
        }
    ]


def _lower_floor(
    ctx: Judge,
    variant: Variant,
    spec: InstanceSpec,
    scaling: Autoscaling,
    needed: int,
    peaks: Peaks,
    usage: VariantUsage,
) -> Finding | None:
    """Oversized by count on an autoscaled variant: the autoscaler sizes it above its floor; only a floor
    that holds more instances than the peak needs keeps money burning."""
    if needed >= scaling.min_capacity:
        return None  # the instances above the floor are the autoscaler's to remove
    spare = scaling.min_capacity - needed
    savings = spec.monthly_cost(spare)
    if savings < max(ctx.thresholds.min_monthly_savings_usd, 0.01):
        return None
    evidence = _sizing_evidence(ctx, spec, peaks, usage)
    evidence["target_pct"] = ctx.thresholds.target_utilization_pct
    peak_text = ", ".join(f"{k} {v:.0f}%" for k, v in peaks.observed().items())
    held = holds_back(ctx, variant)
    if held is not None:
        proposal = f"Lower the auto scaling minimum of {ctx.endpoint.name}/{variant.name} to {needed}"
        return _held_back(ctx, variant, evidence, proposal, held, spec.monthly_cost(scaling.min_capacity), savings)
    rec = Recommendation(
        Action.SET_SCALING_LIMITS,
        spec.instance_type,
        needed,
        f"Lower the auto scaling minimum of {ctx.endpoint.name}/{variant.name} from {scaling.min_capacity} to "
        f"{needed} (maximum stays {scaling.max_capacity}): its peaks ({peak_text}) need {needed} x "
        f"{spec.instance_type} to stay under {ctx.thresholds.target_utilization_pct:g}%, and the floor keeps "
        f"{spare} more running for nothing. Monthly cost at the floor "
        f"{money(spec.monthly_cost(scaling.min_capacity), cents=True)} -> "
        f"{money(spec.monthly_cost(needed), cents=True)}.",
        spec.monthly_cost(needed),
        min_capacity=needed,
        max_capacity=scaling.max_capacity,
    )
    cost = spec.monthly_cost(variant.instance_count)
    return ctx.finding(Kind.OVERSIZED, savings_severity(savings), variant, evidence, rec, cost, savings)


def _sized_recommendation(
    action: Action, option: Option, cost: float, summary: str, variant: Variant
) -> Recommendation:
    """A resize or scale-out; on an autoscaled variant, a new type carries its limits over, scaled by how
    many of the new instances do the work of the old ones."""
    scaling, low, high = variant.autoscaling, None, None
    if scaling is not None and variant.instance_count:
        ratio = option.count / variant.instance_count
        low = math.ceil(scaling.min_capacity * ratio) if scaling.min_capacity else 0
        high = max(low, 1, math.ceil(scaling.max_capacity * ratio))
        summary += f" Auto scaling limits {scaling.min_capacity}-{scaling.max_capacity} become {low}-{high}."
    return Recommendation(
        action,
        option.spec.instance_type,
        option.count,
        f"{summary} Monthly cost {money(cost, cents=True)} -> {money(option.monthly_cost, cents=True)}.",
        option.monthly_cost,
        min_capacity=low,
        max_capacity=high,
    )
