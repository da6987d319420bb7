"""The rules, one module per concern, each a pure function of one endpoint's usage and the thresholds:

- `idle`: nothing served over the idle window (endpoint, variant, inference component, provisioned concurrency)
- `sizing`: saturated or oversized at the peak (type, count, auto scaling limits)
- `errors`: server errors above the rate threshold
- `imbalance`: one instance or GPU far busier than its siblings
- `latency`: p99 above its target (`slow`); no smaller size for a variant near its target; serverless
  `cold-starts`; a p99 much worse since the endpoint's last change (`latency-regression`)
- `cache`: a multi-model endpoint whose model cache thrashes (`cache-thrashing`)
- `offhours`: quiet every night or weekend day: scheduled scaling (`off-hours`)
- `batch`: all its traffic within a few hours a day (`batch-candidate`)
- `consolidate`: across endpoints, small single-model endpoints that would share instances (`consolidate`)
- `hygiene`: settings nobody revisits: a busy endpoint capturing most of its requests (`data-capture`),
  serverless provisioned concurrency mostly unused (`provisioned-concurrency`), shadow variants left running
  (`shadow-variant`)

`judge_endpoint` applies them in that order: an idle endpoint says nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sagewatch.catalog import Catalog
from sagewatch.metrics import MetricResults, Windows
from sagewatch.models import Endpoint, Finding, Kind
from sagewatch.rules import batch, cache, consolidate, errors, hygiene, idle, imbalance, latency, offhours, sizing
from sagewatch.rules.common import Judge, finding_id, savings_severity
from sagewatch.rules.consolidate import Need
from sagewatch.rules.imbalance import imbalance_of
from sagewatch.rules.latency import latency_target
from sagewatch.schedule import Rhythm, rhythm_of
from sagewatch.settings import Thresholds
from sagewatch.usage import provisioned_use, variant_profile, variant_usage

__all__ = ["Judge", "Need", "finding_id", "imbalance_of", "judge_endpoint", "latency_target", "savings_severity"]


_FIX_FIRST = (Kind.IDLE, Kind.OVERSIZED, Kind.SATURATED)


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
        analysed = offhours.analyse(ctx, variant)
        quiet = offhours.off_hours_finding(ctx, variant, analysed)
        findings += quiet
        findings += batch.batch_candidate(ctx, variant, quiet[0] if quiet else None)
        findings += hygiene.provisioned_concurrency(ctx, variant)
        note = None if quiet else offhours.unstable_note(analysed)
        if note:
            findings = [
                replace(f, evidence={**f.evidence, "schedule_note": note}) if f.variant == variant.name else f
                for f in findings
            ]
    findings += hygiene.data_capture(ctx)
    findings += hygiene.shadow_variants(ctx)
    return findings


def judge_endpoint(
    endpoint: Endpoint,
    results: MetricResults,
    catalog: Catalog,
    thresholds: Thresholds,
    windows: Windows,
    history: MetricResults | None = None,
    needs: list[Need] | None = None,
    schedule: MetricResults | None = None,
    *,
    rhythms: Mapping[str, Rhythm] | None = None,
    keep_rhythms: dict[str, Rhythm] | None = None,
) -> list[Finding]:
    """Every rule on one endpoint; `history`: its latency over the regression window (recently changed only).
    `needs`: when given, the endpoint's peak needs are added to it if it is a consolidation candidate (the fleet
    is judged for consolidation once every endpoint has been: sagewatch.rules.consolidate). `schedule`: the
    hourly series read over ScheduleDays (sagewatch.app.scan reads them); without it, no off-hours,
    batch-candidate or provisioned-concurrency findings; with `rhythms` instead (an hourly scan's, kept by the deep
    scan), the idle rule still tells a habitual silence from a new one. `keep_rhythms`: filled with each
    variant's rhythm from its profile, for the hourly scans to come."""
    usages = {v.name: variant_usage(endpoint, v, results, windows, busiest=bool(rhythms)) for v in endpoint.variants}
    slo, _ = latency.latency_target(endpoint.name, endpoint.tags, thresholds.latency_p99_ms)
    profiles = {
        v.name: variant_profile(
            endpoint,
            v,
            schedule,
            windows.schedule(thresholds),
            thresholds.schedule_timezone,
            getattr(catalog.get(v.instance_type), "vcpu", 0),
        )
        for v in endpoint.variants
        if schedule is not None
    }
    provisioned = {
        v.name: use
        for v in endpoint.variants
        if schedule is not None
        and (use := provisioned_use(endpoint, v, schedule, windows.schedule(thresholds))) is not None
    }
    if keep_rhythms is not None:  # from the days before this scan's silence window: the next hours' own are no habit
        keep_rhythms.update({v: rhythm_of(p, windows.idle_start) for v, p in profiles.items() if p is not None})
    found = judge(
        Judge(endpoint, usages, catalog, thresholds, windows, slo, history, profiles, provisioned, rhythms or {})
    )
    # an idle or oversized endpoint has a simpler fix first (and its saving is not counted twice)
    if needs is not None and len(endpoint.variants) == 1 and not any(f.kind in _FIX_FIRST for f in found):
        hours = (windows.end - windows.utilization_start).total_seconds() / 3600
        need = consolidate.need_of(endpoint, usages[endpoint.variants[0].name], catalog, hours)
        if need is not None:
            needs.append(need)
    return found
