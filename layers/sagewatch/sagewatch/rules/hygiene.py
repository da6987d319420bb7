"""Configuration hygiene (pure): settings that cost money every day and that nobody revisits.

- `data-capture`: an endpoint capturing a high share of its requests to S3 when it is busy. Each captured
  request is a JSON Lines record in S3 (its payload and the model's answer): a busy endpoint at 100% writes
  millions a day, which nothing (Model Monitor included) needs. The finding gives the sampling percentage that
  keeps a stated number of samples a day. Its storage is not priced (payload sizes are not published), so it
  carries no cost or saving; whether the destination bucket expires what it holds (a lifecycle rule) is added
  by the keep-serving reads (sagewatch.app.serving), once a day.
- `provisioned-concurrency`: a serverless variant's provisioned concurrency (billed every second it is
  configured) busy less than 20% of the time over ScheduleDays: what its busiest minute used is kept.
- `shadow-variant`: shadow variants (a shadow test's copies of production traffic) running for longer than
  14 days: their instances are billed like production's, and nothing serves their answers.
"""

from __future__ import annotations

import math
from typing import Any

from sagewatch.formats import iso_z
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.rules.common import MIN_UTILIZATION_COVERAGE, Judge, savings_severity

SAMPLES_PER_DAY = 10_000  # plenty for Model Monitor's baselines and drift checks (hourly schedules read ~400/h)
MIN_SAMPLING_PCT = 20.0  # below this, capture is already sampled: not flagged
EXCESS = 3.0  # flagged when it captures this many times the samples a day it needs


def data_capture(ctx: Judge) -> list[Finding]:
    capture = ctx.endpoint.data_capture
    if capture is None or not capture.enabled or capture.sampling_pct < MIN_SAMPLING_PCT:
        return []
    usages = [ctx.usages[v.name] for v in ctx.endpoint.variants if v.name in ctx.usages]
    if not usages or not all(u.traffic_known for u in usages):
        return []
    days = max((ctx.windows.end - ctx.windows.utilization_start).total_seconds() / 86400, 1 / 24)
    per_day = sum(u.window_invocations for u in usages) / days
    captured = per_day * capture.sampling_pct / 100
    if captured < SAMPLES_PER_DAY * EXCESS:
        return []
    keep = max(1, min(100, math.ceil(SAMPLES_PER_DAY / per_day * 100)))
    evidence: dict[str, Any] = {
        "window_start": iso_z(ctx.windows.utilization_start),
        "window_end": iso_z(ctx.windows.end),
        "sampling_pct": capture.sampling_pct,
        "requests_per_day": round(per_day),
        "captured_per_day": round(captured),
        "destination": capture.destination,
        "capture_modes": list(capture.modes),
        "recommended_sampling_pct": keep,
        "samples_per_day_target": SAMPLES_PER_DAY,
        "lifecycle_rule": None,  # not read yet (sagewatch.app.serving adds it)
    }
    rec = Recommendation(
        Action.INVESTIGATE,
        None,
        None,
        f"{ctx.endpoint.name} captures {capture.sampling_pct:g}% of {round(per_day):,} requests a day to "
        f"{capture.destination or 'S3'}: {keep}% keeps about {SAMPLES_PER_DAY:,} samples a day. Deploy an "
        "endpoint config with a lower InitialSamplingPercentage (UpdateEndpoint), and expire old captures with an "
        "S3 lifecycle rule.",
    )
    return [ctx.finding(Kind.DATA_CAPTURE, Severity.LOW, None, evidence, rec, None, None)]


PC_UNUSED_BELOW = 0.20  # flagged when its slots were busy less than this share of the time


def provisioned_concurrency(ctx: Judge, variant: Variant) -> list[Finding]:
    """A serverless variant whose provisioned concurrency was mostly unused over ScheduleDays: the slots are
    billed every second they are configured. It keeps what its busiest minute used (so nothing that ran warm
    runs cold); when that was all of them, the fix is to scale the slots with the traffic, not fewer slots."""
    sv, use = variant.serverless, ctx.provisioned.get(variant.name)
    if sv is None or not sv.provisioned_concurrency or use is None:
        return []
    window_hours = ctx.thresholds.schedule_days * 24
    if use.hours < window_hours * MIN_UTILIZATION_COVERAGE or use.mean >= PC_UNUSED_BELOW:
        return []
    slots = sv.provisioned_concurrency
    keep = min(slots, max(1, math.ceil(round(use.peak * slots, 6))))
    cost = ctx.variant_cost(variant)
    unused = None if cost is None else round(cost * (1 - use.mean), 2)
    after = None if cost is None else round(cost * keep / slots, 2)
    savings = None if cost is None or after is None else round(cost - after, 2)
    days = round(use.hours / 24, 1)
    evidence: dict[str, Any] = {
        "window_start": iso_z(use.since),
        "window_end": iso_z(ctx.windows.end),
        "days": days,
        "provisioned_concurrency": slots,
        "memory_mb": sv.memory_mb,
        "utilization_pct": round(use.mean * 100, 1),
        "peak_utilization_pct": round(use.peak * 100, 1),
        "recommended_provisioned_concurrency": keep,
        "unused_monthly_cost_usd": unused,
        "provisioned_concurrency_usd_per_gb_second": ctx.catalog.provisioned_concurrency_usd_per_gb_second,
    }
    if cost is None:
        evidence["note"] = (
            "provisioned concurrency is billed used or not, but the catalog has no price for it: set the stack "
            "parameter ProvisionedConcurrencyUsdPerGbSecond (or catalog refresh --provisioned-concurrency-price)"
        )
    where = f"{ctx.endpoint.name}/{variant.name}"
    used = f"its {slots} provisioned slots were busy {use.mean * 100:.1f}% of the time over {days:g} days"
    if keep < slots:
        summary = (
            f"Lower the provisioned concurrency of {where} from {slots} to {keep}: {used}, and its busiest minute "
            f"used {keep}. Deploy an endpoint config with ServerlessConfig.ProvisionedConcurrency={keep} "
            "(UpdateEndpoint), or let Application Auto Scaling track SageMakerVariantProvisionedConcurrencyUtilization."
        )
    else:
        summary = (
            f"Scale the provisioned concurrency of {where} with its traffic: {used}, but its busiest minute used "
            "all of them. Application Auto Scaling on sagemaker:variant:DesiredProvisionedConcurrency (target "
            "tracking on SageMakerVariantProvisionedConcurrencyUtilization, or scheduled actions) keeps the peak "
            "warm without paying for it all day."
        )
        savings = None  # what scaling saves depends on the policy chosen
    rec = Recommendation(Action.INVESTIGATE, None, None, summary, after if keep < slots else None)
    severity = savings_severity(savings) if savings is not None else Severity.LOW
    return [ctx.finding(Kind.PROVISIONED_CONCURRENCY, severity, variant, evidence, rec, cost, savings)]


SHADOW_DAYS = 14  # a shadow test that has run this long has answered its question


def shadow_variants(ctx: Judge) -> list[Finding]:
    """Each shadow variant of an endpoint unchanged for SHADOW_DAYS. Its start is not published: the endpoint's
    last change (LastModifiedTime) is the latest it can have begun, so the days counted are at least that many."""
    days = (ctx.windows.end - ctx.endpoint.history_start).total_seconds() / 86400
    if not ctx.endpoint.shadow_variants or days < SHADOW_DAYS:
        return []
    production = [v.name for v in ctx.endpoint.variants]
    findings = []
    for shadow in ctx.endpoint.shadow_variants:
        cost = ctx.variant_cost(shadow)
        size = f"{shadow.instance_count} x {shadow.instance_type}" if shadow.instance_type else "serverless"
        evidence: dict[str, Any] = {
            "window_start": iso_z(ctx.endpoint.history_start),
            "window_end": iso_z(ctx.windows.end),
            "running_since": iso_z(ctx.endpoint.history_start),
            "days_running": round(days, 1),
            "shadow_variant": shadow.name,
            "instance_type": shadow.instance_type,
            "instance_count": shadow.instance_count,
            "production_variants": production,
        }
        rec = Recommendation(
            Action.INVESTIGATE,
            None,
            None,
            f"End the shadow test on {ctx.endpoint.name}: shadow variant {shadow.name} ({size}) has received a "
            f"copy of its traffic for at least {days:.0f} days and answers no one. Promote it, or deploy an "
            "endpoint config without ShadowProductionVariants (UpdateEndpoint).",
            0.0,
        )
        severity = savings_severity(cost) if cost is not None else Severity.MEDIUM
        findings.append(ctx.finding(Kind.SHADOW_VARIANT, severity, shadow, evidence, rec, cost, cost))
    return findings
