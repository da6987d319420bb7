"""Batch candidates: an always-on real-time variant that serves nearly all its traffic within a few hours a day
(95% within 3 hours), every week read; that work may suit batch transform or asynchronous inference with scale
to zero. sagewatch does not move workloads: the action is investigate (pure)."""

from __future__ import annotations

from typing import Any

from sagewatch.formats import iso_z, money
from sagewatch.models import Action, Finding, Kind, Recommendation, Variant
from sagewatch.rules.common import Judge, savings_severity
from sagewatch.schedule import batch_pattern


def batch_candidate(ctx: Judge, variant: Variant, off_hours: Finding | None = None) -> list[Finding]:
    """`off_hours`: the same variant's off-hours finding, if any; its savings are not counted twice."""
    profile = ctx.profiles.get(variant.name)
    spec = ctx.spec(variant)
    if profile is None or spec is None or variant.instance_count == 0 or variant.uses_inference_components:
        return []
    pattern = batch_pattern(profile)
    if pattern is None:
        return []
    cost = ctx.variant_cost(variant) or 0.0
    busy_cost = round(cost * pattern.hours / 24, 2)
    savings = round(cost - busy_cost, 2)
    already = (off_hours.monthly_savings_usd or 0.0) if off_hours is not None else 0.0
    if savings - already < max(ctx.thresholds.min_monthly_savings_usd, 0.01):
        return []
    evidence: dict[str, Any] = {
        "window_start": iso_z(ctx.profile_start),
        "window_end": iso_z(ctx.windows.end),
        **pattern.to_evidence(),
        "schedule_days": ctx.thresholds.schedule_days,
        "timezone": ctx.thresholds.schedule_timezone,
        "profile": profile.to_evidence(),
        "monthly_cost_usd": round(cost, 2),
        "cost_of_busy_hours_usd": busy_cost,
    }
    if off_hours is not None:
        evidence["note"] = (
            f"the off-hours schedule of the same variant saves {money(already)} of this; the rest needs batch or "
            "asynchronous inference"
        )
    window = f"{pattern.start:02d}:00-{(pattern.start + pattern.hours) % 24:02d}:00"
    rec = Recommendation(
        Action.INVESTIGATE,
        None,
        None,
        f"{ctx.endpoint.name}/{variant.name} serves {100 * pattern.share:.0f}% of its traffic within {pattern.hours} "
        f"h a day ({window}, {ctx.thresholds.schedule_timezone}) but runs {variant.instance_count} x "
        f"{variant.instance_type} all day: batch transform, or asynchronous inference that scales to zero, would "
        f"pay for about {pattern.hours} h a day ({money(busy_cost)}/month instead of {money(cost)}).",
        busy_cost,
    )
    counted = round(savings - already, 2)
    return [ctx.finding(Kind.BATCH_CANDIDATE, savings_severity(counted), variant, evidence, rec, cost, counted)]
