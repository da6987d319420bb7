"""Multi-model cache thrashing: a multi-model endpoint whose models keep being unloaded and loaded again, so
requests wait for their model. More memory (or more instances) holds more models; low CPU is never a reason
to shrink such a variant (pure)."""

from __future__ import annotations

from typing import Any

from sagewatch.catalog import InstanceSpec
from sagewatch.formats import iso_z, money
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.rules.common import Judge

HIT_RATIO_BELOW = 0.8  # ModelCacheHit's average under this...
UNLOADS_PER_HOUR = 5.0  # ...while models are unloaded this often


def cache_thrashing(ctx: Judge, variant: Variant) -> list[Finding]:
    usage = ctx.usages[variant.name]
    cache = usage.cache
    if cache is None or cache.hit_ratio >= HIT_RATIO_BELOW or cache.unloads_per_hour < UNLOADS_PER_HOUR:
        return []
    spec = ctx.spec(variant)
    n = variant.instance_count
    cost = ctx.variant_cost(variant)
    evidence: dict[str, Any] = {
        "cache_hit_pct": round(cache.hit_ratio * 100, 1),
        "loads_per_hour": round(cache.loads_per_hour, 1),
        "unloads_per_hour": round(cache.unloads_per_hour, 1),
        "loading_wait_avg_ms": cache.wait_avg_ms,
        "loading_wait_max_ms": cache.wait_max_ms,
        "window_start": iso_z(ctx.windows.idle_start),
        "window_end": iso_z(ctx.windows.end),
    }
    head = (
        f"{ctx.endpoint.name}/{variant.name} is a multi-model endpoint whose cache serves {cache.hit_ratio:.0%} of "
        f"requests while it unloads {cache.unloads_per_hour:.0f} models an hour: requests wait for their model "
        f"(average {cache.wait_avg_ms} ms, at worst {cache.wait_max_ms} ms)"
    )
    bigger = _more_memory(ctx, spec) if spec is not None else None
    if spec is not None and bigger is not None:
        after = bigger.monthly_cost(n)
        evidence["monthly_cost_change_usd"] = round(after - (cost or 0.0), 2)
        rec = Recommendation(
            Action.RESIZE_VARIANT,
            bigger.instance_type,
            n,
            f"{head}. Give it more memory: {n} x {bigger.instance_type} ({bigger.memory_gib:g} GiB against "
            f"{spec.memory_gib:g}), {money(after, cents=True)}/month ({money(after - (cost or 0.0), cents=True)} "
            f"more), or add instances.",
            after,
        )
    else:
        rec = Recommendation(Action.INVESTIGATE, None, None, f"{head}. Add instances, or a type with more memory.")
    severity = Severity.HIGH if cache.hit_ratio < 0.5 else Severity.MEDIUM
    return [ctx.finding(Kind.CACHE_THRASHING, severity, variant, evidence, rec, cost, 0.0)]


def _more_memory(ctx: Judge, spec: InstanceSpec) -> InstanceSpec | None:
    """The cheapest catalog type with more memory and the same accelerator kind (and CPU architecture)."""
    options = [
        s
        for s in ctx.catalog
        if s.accelerator is spec.accelerator
        and s.arm64 == spec.arm64
        and not s.burstable
        and s.memory_gib > spec.memory_gib
        and s.accelerator_count >= spec.accelerator_count
    ]
    return min(options, key=lambda s: (s.price_per_hour_usd, s.instance_type), default=None)
