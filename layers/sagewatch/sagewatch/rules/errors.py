"""Errors: a variant or inference component whose server errors exceed the rate threshold (pure)."""

from __future__ import annotations

from typing import Any

from sagewatch.formats import iso_z
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.rules.common import Judge


def errors(ctx: Judge, variant: Variant) -> list[Finding]:
    usage = ctx.usages[variant.name]
    if not usage.traffic_known:
        return []
    cost = ctx.variant_cost(variant)
    if variant.uses_inference_components:
        return [
            f
            for ic, c in usage.components.items()
            if (f := _error_finding(ctx, variant, c.invocations, c.errors_5xx, c.errors_4xx, None, cost, ic))
        ]
    found = _error_finding(
        ctx, variant, usage.invocations, usage.errors_5xx, usage.errors_4xx, usage.latency_ms, cost, None
    )
    return [found] if found else []


def _error_finding(
    ctx: Judge,
    variant: Variant,
    invocations: float,
    errors_5xx: float,
    errors_4xx: float,
    latency_ms: float | None,
    cost: float | None,
    component: str | None,
) -> Finding | None:
    if invocations < ctx.thresholds.min_error_invocations:
        return None
    rate = 100.0 * errors_5xx / invocations
    if rate <= ctx.thresholds.error_rate_pct:
        return None
    failures = "InvocationFailures" if ctx.endpoint.is_async else "Invocation5XXErrors"
    evidence: dict[str, Any] = {
        "window_start": iso_z(ctx.windows.idle_start),
        "window_end": iso_z(ctx.windows.end),
        "invocations": int(invocations),
        "errors_5xx": int(errors_5xx),
        "errors_4xx": int(errors_4xx),
        "error_rate_pct": round(rate, 2),
        "threshold_pct": ctx.thresholds.error_rate_pct,
        "metric": failures,
    }
    if latency_ms is not None:
        evidence["model_latency_ms_avg"] = latency_ms
    where = f"{ctx.endpoint.name}/{variant.name}" + (f" (component {component})" if component else "")
    rec = Recommendation(
        Action.INVESTIGATE,
        None,
        None,
        f"{where}: {rate:.1f}% of {int(invocations):,} requests failed with server errors in "
        f"{ctx.thresholds.idle_hours} h. Check the model container's CloudWatch logs "
        f"(/aws/sagemaker/Endpoints/{ctx.endpoint.name}).",
    )
    severity = Severity.HIGH if rate >= 5 * ctx.thresholds.error_rate_pct else Severity.MEDIUM
    return ctx.finding(Kind.ERRORS, severity, variant, evidence, rec, cost, 0.0, component)
