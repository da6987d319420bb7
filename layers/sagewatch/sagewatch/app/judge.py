"""The fleet judged: each endpoint's metrics read and its rules applied (judge_part, on all of a region or one
fan-out chunk of it), then what only the whole fleet tells, once (finish_scan): the scan's report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from sagewatch import hidden
from sagewatch.app.ports import MetricsReader
from sagewatch.app.serving import ServingChecks, keep_serving
from sagewatch.awsview import NOT_ASKED, AwsIdle, annotate
from sagewatch.cadence import Conclusion, Conclusions, Depth, carried, merge
from sagewatch.catalog import Catalog
from sagewatch.formats import iso_z
from sagewatch.metrics import (
    MetricResults,
    MetricSpec,
    Windows,
    multi_model_variants,
    plan_hourly,
    plan_queries,
    profile_specs,
    recently_changed,
    regression_specs,
)
from sagewatch.models import Discovery, Endpoint, Finding, ScanError
from sagewatch.owners import DEFAULT_OWNER_TAGS, Owner, from_tags, with_trail
from sagewatch.rules import Need, judge_endpoint, latency_target
from sagewatch.rules.consolidate import consolidate
from sagewatch.scan_report import ScanReport
from sagewatch.schedule import Rhythm
from sagewatch.serving import DependencyFacts
from sagewatch.settings import Thresholds


class Inventory(Protocol):
    def discover(self) -> Discovery: ...


class AwsView(Protocol):
    def idle(self, now: datetime) -> AwsIdle: ...


def run_scan(
    inventory: Inventory,
    metrics: MetricsReader,
    catalog: Catalog,
    thresholds: Thresholds,
    *,
    now: datetime,
    region: str,
    account: str | None,
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS,
    serving: ServingChecks | None = None,
    aws_view: AwsView | None = None,
    carry: Conclusions | None = None,
) -> ScanReport:
    """One scan. Without `carry`, a deep scan: every series, every rule (the CLI's scan, the day's first
    scheduled one). With it, an hourly scan (sagewatch.cadence): the hourly series of the endpoints the deep scan
    saw as they are, their other findings carried from it; the endpoints it did not see so, judged in full.

    Two steps: each endpoint judged (judge_part: what a fan-out's chunks do, sagewatch.app.fanout), then what
    only the whole fleet tells (finish_scan: consolidation, quotas, AWS's view, the report)."""
    part = judge_part(inventory.discover(), metrics, catalog, thresholds, now=now, owner_tags=owner_tags, carry=carry)
    return finish_scan(
        [part],
        catalog,
        thresholds,
        now=now,
        region=region,
        account=account,
        owner_tags=owner_tags,
        serving=serving,
        aws_view=aws_view,
        carry=carry,
    )


@dataclass
class Part:
    """What judging some of the fleet's endpoints found: all that the fleet-wide step needs of them."""

    discovery: Discovery
    findings: list[Finding] = field(default_factory=list)
    # consolidation's inputs: the deep scan's only (None in an hourly scan)
    needs: list[Need] | None = None
    # what each endpoint judged in full concluded, for the hourly scans to carry (its findings, its rhythms)
    concluded: dict[str, Conclusion] = field(default_factory=dict)
    costs: dict[str, float | None] = field(default_factory=dict)
    tag_problems: list[str] = field(default_factory=list)
    container_problems: list[str] = field(default_factory=list)
    metric_errors: list[ScanError] = field(default_factory=list)
    series: int = 0  # metric series read (what GetMetricData bills)
    judged_in_full: int = 0
    seconds: float = 0.0  # a fan-out chunk's time (the merged scan's pace is what one function would take)
    # a fan-out chunk's dependency checks of its endpoints (keep-serving), and what they warned of; None: the
    # fleet-wide step checks them (one function's scan)
    dependencies: dict[str, DependencyFacts] | None = None
    dependency_warnings: list[str] = field(default_factory=list)


def judge_part(
    discovery: Discovery,
    metrics: MetricsReader,
    catalog: Catalog,
    thresholds: Thresholds,
    *,
    now: datetime,
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS,
    carry: Conclusions | None = None,
) -> Part:
    """Each discovered endpoint's metrics read and judged, SCAN_CHUNK endpoints at a time."""
    windows = Windows.ending_at(now, thresholds)
    reads = _Counted(metrics)
    known = carry.endpoints if carry is not None else {}
    full = [e for e in discovery.endpoints if carry is None or not _describes(known.get(e.name), e)]
    in_full = {e.name for e in full}
    per_instance, metric_errors = reads.instance_metrics(full) if full else ([], [])
    per_container, container_problems = reads.container_metrics(full) if full else ([], [])
    listed: dict[str, list[MetricSpec]] = {}  # the listed series by endpoint (each names its EndpointName)
    for spec in per_instance + per_container:
        listed.setdefault(dict(spec.dimensions).get("EndpointName", ""), []).append(spec)
    part = Part(
        discovery,
        needs=[] if carry is None else None,
        container_problems=list(container_problems),
        judged_in_full=len(full),
    )
    # Read and judged SCAN_CHUNK endpoints at a time: an endpoint's datapoints are dropped once it is judged,
    # so memory stays flat however large the fleet (make bench, 5,000 endpoints: 420 MiB peak held at once, 251 in
    # chunks, for 216 GetMetricData calls instead of 209)
    for first in range(0, len(discovery.endpoints), SCAN_CHUNK):
        chunk = discovery.endpoints[first : first + SCAN_CHUNK]
        deep = [e for e in chunk if e.name in in_full]
        hourly = [e for e in chunk if e.name not in in_full]
        extra_specs = [spec for e in deep for spec in listed.get(e.name, [])]
        results, schedule, history, changed, errors = _read_metrics(
            reads, deep, hourly, extra_specs, windows, thresholds
        )
        metric_errors += errors
        for endpoint in chunk:
            _, problem = latency_target(endpoint.name, endpoint.tags, thresholds.latency_p99_ms)
            if problem:  # a bad latency target is said, never a crash: the endpoint is judged without it
                part.tag_problems.append(problem)
            owner = with_trail(from_tags(endpoint.tags, owner_tags), None, endpoint.creation_time)
            past = history if endpoint.name in changed else None
            if endpoint.name in in_full:
                kept: dict[str, Rhythm] = {}
                judged = judge_endpoint(
                    endpoint, results, catalog, thresholds, windows, past, part.needs, schedule, keep_rhythms=kept
                )
                found = tuple(f for f in judged if carried(f.kind))
                part.concluded[endpoint.name] = Conclusion(endpoint.name, now, endpoint.last_modified_time, found, kept)
            else:
                conclusion = known[endpoint.name]
                quick = judge_endpoint(
                    endpoint, results, catalog, thresholds, windows, past, rhythms=conclusion.rhythms
                )
                judged = merge(quick, conclusion)
            part.findings += [replace(f, owner=owner) for f in judged]
            part.costs[endpoint.name] = hidden.endpoint_cost(endpoint, catalog)
        # dropped before the next chunk is read: else two chunks' datapoints are held while it is
        del results, schedule, history
    part.metric_errors = metric_errors
    part.series = reads.series
    return part


def finish_scan(
    parts: Sequence[Part],
    catalog: Catalog,
    thresholds: Thresholds,
    *,
    now: datetime,
    region: str,
    account: str | None,
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS,
    serving: ServingChecks | None = None,
    aws_view: AwsView | None = None,
    carry: Conclusions | None = None,
) -> ScanReport:
    """The report of the whole fleet from its judged parts (in listing order): what only the whole fleet tells
    (consolidation across endpoints, quotas summed over the region, AWS's own view) added once."""
    windows = Windows.ending_at(now, thresholds)
    discovery = _joined([p.discovery for p in parts])
    findings = [f for p in parts for f in p.findings]
    metric_errors = [e for p in parts for e in p.metric_errors]
    needs = None if carry is not None else [n for p in parts for n in p.needs or []]
    concluded = {name: c for p in parts for name, c in p.concluded.items()}
    costs = {name: cost for p in parts for name, cost in p.costs.items()}
    if account is None and discovery.endpoints:
        account = discovery.endpoints[0].arn.split(":")[4]
    tags = {e.name: e.tags for e in discovery.endpoints} | {e.name: e.tags for e in discovery.ignored}
    grouped = consolidate(needs, catalog, thresholds, windows, account=account, region=region) if needs else []
    for group in grouped:  # kept with the endpoint it is filed under
        kept = concluded[group.endpoint]
        concluded[group.endpoint] = replace(kept, findings=(*kept.findings, group))
    findings += [replace(f, owner=_owner(tags[f.endpoint], owner_tags)) for f in grouped]
    before = {f.id for f in findings}
    checked = None
    if parts and all(p.dependencies is not None for p in parts):  # each chunk checked its own
        checked = (
            {name: f for p in parts for name, f in (p.dependencies or {}).items()},
            list(dict.fromkeys(w for p in parts for w in p.dependency_warnings)),
        )
    findings, serving_problems = keep_serving(
        discovery,
        findings,
        serving,
        catalog,
        thresholds,
        windows,
        now=now,
        region=region,
        account=account,
        checked=checked,
    )
    findings = [
        f if f.id in before else replace(f, owner=_owner(tags.get(f.endpoint, {}), owner_tags)) for f in findings
    ]
    # AWS's own view beside ours: each idle finding says what Compute Optimizer thinks, and where they differ
    view = aws_view.idle(now) if aws_view is not None else NOT_ASKED
    findings, aws_section = annotate(findings, discovery.endpoints, discovery.skipped, view, now)
    report = ScanReport(
        account=account,
        region=region,
        generated_at=now,
        endpoints=len(discovery.endpoints),
        variants=sum(len(e.variants) for e in discovery.endpoints),
        inference_components=sum(len(v.inference_components) for e in discovery.endpoints for v in e.variants),
        findings=findings,
        skipped=discovery.skipped,
        errors=_once(discovery.errors + metric_errors),
        # summed endpoint by endpoint in listing order, whichever part judged it: the same figure to the cent
        fleet_monthly_cost_usd=round(_fleet_cost(discovery.endpoints, catalog), 2),
        hidden=hidden.ignored(discovery.ignored, catalog),
        endpoint_costs=costs,
        windows={
            "start": iso_z(windows.start),
            "end": iso_z(windows.end),
            "idle_start": iso_z(windows.idle_start),
            "utilization_start": iso_z(windows.utilization_start),
            "period_seconds": windows.period,
        },
        thresholds=thresholds.to_dict(),
        catalog={"region": catalog.region, "as_of": catalog.as_of},
        # another region's prices matter only when there is something to price
        warnings=(catalog.warnings_for(region) if discovery.endpoints or discovery.ignored else [])
        + catalog.unpriced_warnings(v.instance_type for e in discovery.endpoints for v in e.variants)
        + [w for p in parts for w in p.tag_problems]
        + list(dict.fromkeys(w for p in parts for w in p.container_problems))
        + serving_problems,
        listed=list(discovery.listed),
        aws_view=aws_section,
        tags={e.name: dict(e.tags) for e in discovery.endpoints},
        endpoint_times={
            e.name: (e.creation_time, e.last_modified_time) for e in [*discovery.ignored, *discovery.endpoints]
        },
        cadence={
            "depth": (Depth.DEEP if carry is None else Depth.HOURLY).value,
            "deep_scan_at": iso_z(carry.as_of if carry is not None and carry.as_of else now, seconds=True),
            "judged_in_full": sum(p.judged_in_full for p in parts),
            "carried_findings": sum(1 for f in findings if f.as_of is not None),
            "metric_series": sum(p.series for p in parts),
        },
    )
    # what to keep for the hourly scans: only what a whole judgement found (a metrics error hides findings)
    if report.complete:
        report.concluded = {name: c for name, c in concluded.items() if name in report.judged}
    return report


def _fleet_cost(endpoints: Sequence[Endpoint], catalog: Catalog) -> float:
    return sum(variant.monthly_cost(catalog) or 0.0 for e in endpoints for variant in (*e.variants, *e.shadow_variants))


def _joined(found: Sequence[Discovery]) -> Discovery:
    """One discovery of the parts' (in their order)."""
    out = Discovery()
    for d in found:
        out.endpoints += d.endpoints
        out.skipped += d.skipped
        out.errors += d.errors
        out.listed += d.listed
        out.ignored += d.ignored
        out.missing_configs += d.missing_configs
    return out


def _once(errors: Sequence[ScanError]) -> list[ScanError]:
    """An error about no endpoint in particular (a region-wide listing refused) said once, however many of a
    fan-out's parts met it."""
    seen: set[ScanError] = set()
    out = []
    for error in errors:
        if error.endpoint is None and error in seen:
            continue
        seen.add(error)
        out.append(error)
    return out


def _describes(conclusion: Conclusion | None, endpoint: Endpoint) -> bool:
    return conclusion is not None and conclusion.describes(endpoint)


class _Counted:
    """The scan's metrics reader, counting the series it asks for (what GetMetricData bills)."""

    def __init__(self, inner: MetricsReader) -> None:
        self.inner = inner
        self.series = 0

    def fetch(self, specs: Sequence[MetricSpec], windows: Windows) -> tuple[MetricResults, list[ScanError]]:
        if not specs:
            return MetricResults(), []
        self.series += len(specs)
        return self.inner.fetch(specs, windows)

    def instance_metrics(self, endpoints: Sequence[Endpoint]) -> tuple[list[MetricSpec], list[ScanError]]:
        return self.inner.instance_metrics(endpoints)

    def container_metrics(self, endpoints: Sequence[Endpoint]) -> tuple[list[MetricSpec], list[str]]:
        return self.inner.container_metrics(endpoints)


def _owner(tags: Mapping[str, str], owner_tags: Sequence[str]) -> Owner:
    return with_trail(from_tags(tags, owner_tags), None, None)


# Endpoints read and judged together: 1,000 fill ~40 GetMetricData calls, so the partly filled last call of each
# chunk's reads adds a few percent to a large fleet's calls (3% at 5,000 endpoints; nothing below 1,000).
SCAN_CHUNK = 1000


def _read_metrics(
    metrics: MetricsReader,
    deep: Sequence[Endpoint],
    hourly: Sequence[Endpoint],
    listed: list[MetricSpec],
    windows: Windows,
    thresholds: Thresholds,
) -> tuple[MetricResults, MetricResults, MetricResults | None, set[str], list[ScanError]]:
    """What the rules read of these endpoints: the scan window's series (every one the rules read for `deep`
    endpoints, with the `listed` per-instance and container ones; the hourly ones for `hourly` endpoints, in the
    same calls), the hour-of-week profiles of `deep`, and for endpoints changed within RegressionHours their p99
    in the week before the change; the names of those changed endpoints; the errors."""
    targets = {e.name for e in hourly if latency_target(e.name, e.tags, thresholds.latency_p99_ms)[0] is not None}
    results, errors = metrics.fetch(plan_queries(deep) + listed + plan_hourly(hourly, targets), windows)
    schedule, schedule_errors = _profiles(metrics, deep, windows, thresholds)
    errors += schedule_errors
    # the main window does not reach back a week before the change: one more small read
    changed = [e for e in (*deep, *hourly) if recently_changed(e, windows.end, thresholds.regression_hours)]
    history: MetricResults | None = None
    if changed:
        history, history_errors = metrics.fetch(
            [s for e in changed for s in regression_specs(e)], windows.history(thresholds)
        )
        errors += history_errors
    # Multi-model endpoints (those that publish ModelCacheHit): their loading metrics, in one more small read
    mme = multi_model_variants(deep, results)
    if mme:
        detail, detail_errors = metrics.fetch(mme, windows)
        results.series.update(detail.series)
        results.failed.update(detail.failed)
        errors += detail_errors
    return results, schedule, history, {e.name for e in changed}, errors


def _profiles(
    metrics: MetricsReader, endpoints: Sequence[Endpoint], windows: Windows, thresholds: Thresholds
) -> tuple[MetricResults, list[ScanError]]:
    """The series the hour-of-week profile is built from (hourly invocations and CPU, sagewatch.schedule), over
    ScheduleDays from the top of an hour: a read of their own (GetMetricData has one time range per call, and the
    scan's own window need not start on the hour), batched like every other."""
    specs = list(dict.fromkeys(s for e in endpoints for s in profile_specs(e)))
    if not specs:
        return MetricResults(), []
    return metrics.fetch(specs, windows.schedule(thresholds))
