"""The fleet scan: discover endpoints, read their metrics in batches, apply the rules, report; on schedule,
also decide what is worth announcing, send one digest and remember what was said."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sagewatch import hidden
from sagewatch.app.extras import extra
from sagewatch.app.ports import Lock, MetricsReader, Notifier
from sagewatch.app.serving import ServingChecks, keep_serving
from sagewatch.awsview import NOT_ASKED, AwsIdle, annotate
from sagewatch.cadence import Conclusion, Conclusions, Depth, carried, deep_reason, merge, thresholds_key
from sagewatch.catalog import Catalog
from sagewatch.digest import Digest
from sagewatch.formats import iso_z
from sagewatch.lifecycle import (
    Announcement,
    Decision,
    FindingState,
    Reason,
    SnoozeAnchor,
    StateUnavailableError,
    announce_all,
    decide,
    snoozes,
)
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
from sagewatch.org import SCAN_SUMMARY_DETAIL_TYPE, scan_summary
from sagewatch.owners import DEFAULT_OWNER_TAGS, EndpointRef, Owner, TrailFacts, from_tags, refs_of, with_trail
from sagewatch.requests import ScanRequest
from sagewatch.rules import Need, judge_endpoint, latency_target
from sagewatch.rules.consolidate import consolidate
from sagewatch.scan_report import ScanReport
from sagewatch.scantime import ScanTime
from sagewatch.schedule import Rhythm
from sagewatch.settings import ScanSettings, Thresholds


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
    saw as they are, their other findings carried from it; the endpoints it did not see so, judged in full."""
    windows = Windows.ending_at(now, thresholds)
    discovery = inventory.discover()
    reads = _Counted(metrics)
    known = carry.endpoints if carry is not None else {}
    full = [e for e in discovery.endpoints if carry is None or not _describes(known.get(e.name), e)]
    in_full = {e.name for e in full}
    per_instance, metric_errors = reads.instance_metrics(full) if full else ([], [])
    per_container, container_problems = reads.container_metrics(full) if full else ([], [])
    listed: dict[str, list[MetricSpec]] = {}  # the listed series by endpoint (each names its EndpointName)
    for spec in per_instance + per_container:
        listed.setdefault(dict(spec.dimensions).get("EndpointName", ""), []).append(spec)
    findings = []
    needs: list[Need] | None = [] if carry is None else None  # consolidation: the deep scan's, fleet-wide
    concluded: dict[str, tuple[list[Finding], dict[str, Rhythm]]] = {}
    fleet_cost = 0.0
    costs: dict[str, float | None] = {}
    tag_problems = []
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
                tag_problems.append(problem)
            owner = with_trail(from_tags(endpoint.tags, owner_tags), None, endpoint.creation_time)
            past = history if endpoint.name in changed else None
            if endpoint.name in in_full:
                kept: dict[str, Rhythm] = {}
                judged = judge_endpoint(
                    endpoint, results, catalog, thresholds, windows, past, needs, schedule, keep_rhythms=kept
                )
                concluded[endpoint.name] = ([f for f in judged if carried(f.kind)], kept)
            else:
                conclusion = known[endpoint.name]
                quick = judge_endpoint(
                    endpoint, results, catalog, thresholds, windows, past, rhythms=conclusion.rhythms
                )
                judged = merge(quick, conclusion)
            findings += [replace(f, owner=owner) for f in judged]
            for variant in (*endpoint.variants, *endpoint.shadow_variants):
                fleet_cost += variant.monthly_cost(catalog) or 0.0
            costs[endpoint.name] = hidden.endpoint_cost(endpoint, catalog)
        # dropped before the next chunk is read: else two chunks' datapoints are held while it is
        del results, schedule, history
    if account is None and discovery.endpoints:
        account = discovery.endpoints[0].arn.split(":")[4]
    tags = {e.name: e.tags for e in discovery.endpoints} | {e.name: e.tags for e in discovery.ignored}
    grouped = consolidate(needs, catalog, thresholds, windows, account=account, region=region) if needs else []
    for group in grouped:  # kept with the endpoint it is filed under
        concluded[group.endpoint][0].append(group)
    findings += [replace(f, owner=_owner(tags[f.endpoint], owner_tags)) for f in grouped]
    before = {f.id for f in findings}
    findings, serving_problems = keep_serving(
        discovery, findings, serving, catalog, thresholds, windows, now=now, region=region, account=account
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
        errors=discovery.errors + metric_errors,
        fleet_monthly_cost_usd=round(fleet_cost, 2),
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
        + tag_problems
        + container_problems
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
            "judged_in_full": len(full),
            "carried_findings": sum(1 for f in findings if f.as_of is not None),
            "metric_series": reads.series,
        },
    )
    # what to keep for the hourly scans: only what a whole judgement found (a metrics error hides findings)
    if report.complete:
        modified = {e.name: e.last_modified_time for e in discovery.endpoints}
        report.concluded = {
            name: Conclusion(name, now, modified[name], tuple(found), rhythms)
            for name, (found, rhythms) in concluded.items()
            if name in report.judged
        }
    return report


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


class OwnerDirectory(Protocol):
    def facts(
        self, refs: Sequence[EndpointRef], look_up: set[str], now: datetime
    ) -> tuple[dict[str, TrailFacts], list[str]]: ...


def attach_owners(report: ScanReport, directory: OwnerDirectory, look_up: set[str], now: datetime) -> list[str]:
    """CloudTrail's creator (and last updater) onto findings whose endpoint no tag names an owner of: from the
    cache, looked up only for endpoints in `look_up`. Returns what to warn of (a lookup refused or cut short)."""
    # an endpoint not described (one stuck Updating) has no creation time to look CloudTrail up from
    unknown = {f.endpoint for f in report.findings if not f.owner.known and f.endpoint in report.endpoint_times}
    if not unknown:
        return []
    facts, warnings = directory.facts(refs_of(unknown, report.endpoint_times), look_up & unknown, now)
    report.findings = [
        replace(
            f,
            owner=with_trail(
                f.owner, facts.get(f.endpoint), report.endpoint_times[f.endpoint][0], asked=f.endpoint in look_up
            ),
        )
        if f.endpoint in unknown
        else f
        for f in report.findings
    ]
    return warnings


class EventSink(Protocol):
    def put(self, announcements: list[Announcement], *, account: str | None, region: str) -> int: ...
    def put_document(self, detail_type: str, doc: dict[str, Any]) -> str | None: ...


class StateStore(Protocol):
    def load(self) -> dict[str, FindingState]: ...
    def save(self, states: list[FindingState]) -> None: ...
    def anchors(self) -> dict[str, SnoozeAnchor]: ...  # read by load()
    def save_anchors(self, anchors: dict[str, SnoozeAnchor]) -> None: ...
    def conclusions(self) -> Conclusions: ...  # the deep scans' conclusions, read by load()
    def save_conclusions(
        self,
        found: Mapping[str, Conclusion],
        *,
        deep: datetime | None,
        thresholds: str,
        seconds_per_endpoint: float | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class ScanDependencies:
    inventory: Inventory
    metrics: MetricsReader
    publisher: Notifier
    events: EventSink
    state: StateStore
    catalog: Catalog
    account: str | None
    owners: OwnerDirectory
    lock: Lock | None = None  # with ReserveConcurrency=false only: reserved concurrency 1 does it otherwise
    serving: ServingChecks | None = None  # the keep-serving checks' reads (quotas, dependencies, logs)
    aws_view: AwsView | None = None  # Compute Optimizer's idle recommendations


def digest_of(
    report: ScanReport, lifecycle: Decision, *, state_available: bool = True, remediation: bool = True
) -> Digest:
    return Digest(
        hidden=tuple(report.hidden + hidden.snoozed(lifecycle.snoozed, report.endpoint_costs)),
        account=report.account,
        region=report.region,
        generated_at=report.generated_at,
        announcements=lifecycle.announcements,
        unchanged=lifecycle.unchanged,
        snoozed={e: d.isoformat() for e, d in lifecycle.snoozed.items()},
        open_savings_usd=report.monthly_savings_usd,
        state_available=state_available,
        warnings=tuple(report.warnings),
        endpoint_tags=report.tags,
        remediation=remediation,
    )


def preview_digest(report: ScanReport, *, remediation: bool) -> Digest:
    """The digest a first scan of this fleet would send (every finding new; snoozes applied), from a stack that
    deploys remediation or not (its commands and buttons differ)."""
    active, _, _ = snoozes(report.tags, report.generated_at.date())
    lifecycle = announce_all(f for f in report.findings if f.endpoint not in active)
    lifecycle.snoozed = active
    return digest_of(report, lifecycle, remediation=remediation)


def _new_endpoints(
    report: ScanReport, previous: Mapping[str, FindingState] | None, snoozed: Mapping[str, Any]
) -> set[str]:
    """Endpoints with a finding that has never been announced (all of them when there is no state)."""
    out = set()
    for f in report.findings:
        state = previous.get(f.id) if previous is not None else None
        if f.endpoint not in snoozed and (state is None or not state.open or state.last_notified is None):
            out.add(f.endpoint)
    return out


def scheduled_scan(
    settings: ScanSettings,
    request: ScanRequest,
    deps: ScanDependencies,
    now: datetime | None = None,
    *,
    budget_seconds: float | None = None,
) -> tuple[ScanReport, dict[str, Any]]:
    """Scan, decide what is worth announcing, send one digest, remember what was said.

    The digest goes out before state is written: if the function fails in between, the next scan
    announces again rather than never. If the state table is unreadable, the digest lists every
    current finding and says so.
    """
    now = now or datetime.now(UTC)
    started = time.monotonic()
    warnings: list[str] = []
    try:
        previous: dict[str, FindingState] | None = deps.state.load()
    except StateUnavailableError as exc:
        warnings.append(str(exc))
        previous = None
    # hourly, carrying the deep scan's conclusions; or deep (the day's first scan, or nothing to carry)
    stored = deps.state.conclusions() if previous is not None else None
    key = thresholds_key(settings.thresholds.to_dict())
    why_deep = deep_reason(request.depth, stored, now, hour=settings.deep_scan_hour, thresholds=key)
    report = run_scan(
        deps.inventory,
        deps.metrics,
        deps.catalog,
        settings.thresholds,
        now=now,
        region=settings.region,
        account=deps.account,
        owner_tags=settings.owner_tags,
        serving=deps.serving,
        aws_view=deps.aws_view,
        carry=None if why_deep else stored,
    )
    report = replace(report, remediation_function=settings.remediation)  # its findings' commands: function or --local
    if why_deep:
        report.cadence["reason"] = why_deep
    # will the next scans still finish? (the reads are most of a scan's time; what follows is short)
    deep_rate = stored.seconds_per_endpoint if stored is not None and not why_deep else None
    timing = ScanTime(time.monotonic() - started, len(report.listed), budget_seconds, deep_rate)
    warnings += list(report.warnings) + ([timing.warning] if timing.warning else [])
    # a snooze is capped from the day its tag value was first seen (kept in the state table)
    active, snooze_problems, anchors = snoozes(
        report.tags, now.date(), max_days=settings.max_snooze_days, anchors=deps.state.anchors()
    )
    warnings += snooze_problems
    # CloudTrail is asked only about endpoints of findings about to be announced as new (and not snoozed)
    warnings += extra(
        "owners from CloudTrail",
        lambda: attach_owners(report, deps.owners, _new_endpoints(report, previous, active), now),
        ["owners could not be looked up this scan (see the function's log)"],
    )
    state_available = previous is not None
    if previous is not None:
        lifecycle = decide(
            report.findings,
            previous,
            now=now,
            renotify_days=settings.renotify_days,
            judged=report.judged,
            listed=set(report.listed),
            complete=report.complete,
            snoozed=active,
        )
    else:
        lifecycle = announce_all(f for f in report.findings if f.endpoint not in active)
        lifecycle.snoozed = active
    digest = digest_of(report, lifecycle, state_available=state_available, remediation=settings.remediation)
    message_ids: list[str] = []
    failed_events = 0
    if request.publish:
        if lifecycle.announcements:
            message_ids = deps.publisher.publish(digest)
            failed_events = deps.events.put(lifecycle.announcements, account=report.account, region=report.region)
        if state_available:
            try:
                deps.state.save(lifecycle.states)
                deps.state.save_anchors(anchors)
                # last: a deep scan whose conclusions are not all written is done again by the next scan
                deps.state.save_conclusions(
                    report.concluded,
                    deep=now if why_deep and report.complete else None,
                    thresholds=key,
                    seconds_per_endpoint=timing.seconds_per_endpoint,
                )
            except StateUnavailableError as exc:
                warnings.append(str(exc))  # the next scan announces again: duplicates, never silence
        # Last, after state: every scheduled scan reports in, findings or not (the central account takes
        # a member's silence for a broken member). Failing here fails the run loudly; nothing is re-announced.
        summary = scan_summary(report, interval_seconds=settings.interval_seconds, hidden=digest.hidden)
        if deps.events.put_document(SCAN_SUMMARY_DETAIL_TYPE, summary) is None:
            failed_events += 1
    result = {
        "schema": "sagewatch.scan-result/2",
        "endpoints": report.endpoints,
        "findings": len(report.findings),
        "findings_by_kind": report.counts_by_kind(),
        "announced": {r.value: digest.count(r) for r in Reason}
        | {"unchanged": lifecycle.unchanged, "snoozed": len(active)},
        "skipped": len(report.skipped),
        "errors": len(report.errors),
        "fleet_monthly_cost_usd": report.fleet_monthly_cost_usd,
        "monthly_savings_usd": report.monthly_savings_usd,
        "published_message_ids": message_ids,
        "failed_events": failed_events,
        "state_available": state_available,
        "timing": timing.to_dict(),
        "cadence": report.cadence,
        "warnings": warnings,
    }
    return report, result


def exclusive_scan(
    settings: ScanSettings,
    request: ScanRequest,
    deps: ScanDependencies,
    *,
    holder: str,
    lease_seconds: float,
    now: datetime | None = None,
    budget_seconds: float | None = None,
) -> tuple[ScanReport | None, dict[str, Any]]:
    """scheduled_scan, one at a time. With a lock (ReserveConcurrency=false) a publishing scan first takes it for
    `lease_seconds` (what the invocation has left, and a margin); while another run holds it, this one reads
    nothing and says so: its schedule runs it again. A scan that does not publish announces nothing and writes no
    state, so it needs no lock. If the lock itself cannot be reached the scan goes on without it and warns: a
    digest twice is better than none."""
    if deps.lock is None or not request.publish:
        return scheduled_scan(settings, request, deps, now, budget_seconds=budget_seconds)
    now = now or datetime.now(UTC)
    warnings: list[str] = []
    try:
        lease = deps.lock.acquire(holder, now, now + timedelta(seconds=lease_seconds))
    except Exception as exc:  # any failure of the lock table: scan without it, and say so
        warnings.append(f"the scan lock could not be taken ({type(exc).__name__}: {str(exc)[:200]}); scanned anyway")
        lease = None
    if lease is not None and not lease.taken:
        return None, {
            "schema": "sagewatch.scan-result/2",
            "status": "overlapping",
            "reason": f"another scan ({lease.holder}) holds lock#scan until {iso_z(lease.until)}: this one did nothing",
            "warnings": [],
        }
    try:
        report, result = scheduled_scan(settings, request, deps, now, budget_seconds=budget_seconds)
    finally:
        if lease is not None:
            try:
                deps.lock.release(holder)
            except Exception as exc:  # the lease ends by itself: the next scan is not blocked for long
                lapses = iso_z(lease.until)
                warnings.append(f"the scan lock was not given back ({type(exc).__name__}); it lapses at {lapses}")
    result["warnings"] = [*warnings, *result["warnings"]]
    return report, result
