"""Imbalance: one instance or GPU of a variant far busier than its siblings, which averages hide (pure)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from sagewatch.formats import iso_z
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.rules.common import MIN_UTILIZATION_COVERAGE, Judge

# The busiest instance (or GPU) at least this busy, and this many points above its siblings' median.
IMBALANCE_MIN_BUSIEST_PCT = 50.0
IMBALANCE_MIN_GAP_PCT = 30.0


def imbalance(ctx: Judge, variant: Variant) -> list[Finding]:
    """Enhanced metrics only: one instance (or GPU) far busier than its siblings."""
    spec = ctx.spec(variant)
    usage = ctx.usages[variant.name]
    if spec is None or not usage.unit_means:
        return []
    gpus = spec.gpus
    worst = None
    for (metric, per_device), units in sorted(usage.unit_means.items()):
        resource = "gpu" if metric == "GPUUtilization" else "cpu"
        scale = 1.0 if per_device else float(spec.vcpu if resource == "cpu" else gpus)
        found = imbalance_of(units, scale) if scale else None
        if found and (worst is None or found[1] - found[2] > worst[1][1] - worst[1][2]):
            worst = ((resource, "GPU" if per_device else "instance"), found)
    if worst is None:
        return []
    (resource, unit), (busiest, busiest_pct, median, loads) = worst
    hours = max(n for units in usage.unit_means.values() for _, n in units.values())
    evidence = {
        "resource": resource,
        "unit": unit.lower(),
        "busiest": busiest,
        "busiest_pct": round(busiest_pct, 1),
        "siblings_median_pct": round(median, 1),
        "per_unit_pct": loads,
        "hours_observed": hours,
        "window_start": iso_z(usage.utilization_since or ctx.windows.utilization_start),
        "window_end": iso_z(ctx.windows.end),
    }
    summary = (
        f"{unit} {busiest} averages {busiest_pct:.0f}% {resource.upper()} while its {len(loads) - 1} "
        f"siblings' median is {median:.0f}%: work is not spread evenly (check the routing strategy, sticky "
        "clients, or a model loaded on one device only). The averages hide it."
    )
    rec = Recommendation(Action.INVESTIGATE, None, None, summary)
    severity = Severity.HIGH if busiest_pct >= ctx.thresholds.saturation_pct else Severity.MEDIUM
    return [ctx.finding(Kind.IMBALANCED, severity, variant, evidence, rec, ctx.variant_cost(variant), None)]


def imbalance_of(
    units: Mapping[str, tuple[float, int]], scale: float
) -> tuple[str, float, float, dict[str, float]] | None:
    """(busiest unit, its %, the others' median %, every unit's %) when one unit is far busier than the rest."""
    most_hours = max(hours for _, hours in units.values())
    # A unit seen for only part of the window (replaced, scaled in) is no fair sibling.
    loads = {u: mean / scale for u, (mean, hours) in units.items() if hours >= MIN_UTILIZATION_COVERAGE * most_hours}
    if len(loads) < 2:
        return None
    busiest = max(sorted(loads), key=lambda u: loads[u])
    median = statistics.median(v for u, v in loads.items() if u != busiest)
    if loads[busiest] < IMBALANCE_MIN_BUSIEST_PCT or loads[busiest] - median < IMBALANCE_MIN_GAP_PCT:
        return None
    return busiest, loads[busiest], median, {u: round(v, 1) for u, v in sorted(loads.items())}
