"""The fleet scan: discover endpoints, read their metrics in batches, apply the rules, report; on schedule,
also decide what is worth announcing, send one digest and remember what was said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sagewatch.app.ports import MetricsReader, Notifier
from sagewatch.catalog import Catalog
from sagewatch.digest import Digest
from sagewatch.formats import iso_z
from sagewatch.lifecycle import (
    Announcement,
    Decision,
    FindingState,
    Reason,
    StateUnavailableError,
    announce_all,
    decide,
    snoozes,
)
from sagewatch.metrics import Windows, plan_queries
from sagewatch.models import Discovery
from sagewatch.org import SCAN_SUMMARY_DETAIL_TYPE, scan_summary
from sagewatch.requests import ScanRequest
from sagewatch.rules import judge_endpoint
from sagewatch.scan_report import ScanReport
from sagewatch.settings import ScanSettings, Thresholds


class Inventory(Protocol):
    def discover(self) -> Discovery: ...


def run_scan(
    inventory: Inventory,
    metrics: MetricsReader,
    catalog: Catalog,
    thresholds: Thresholds,
    *,
    now: datetime,
    region: str,
    account: str | None,
) -> ScanReport:
    windows = Windows.ending_at(now, thresholds)
    discovery = inventory.discover()
    per_instance, listing_errors = metrics.instance_metrics(discovery.endpoints)
    results, metric_errors = metrics.fetch(plan_queries(discovery.endpoints) + per_instance, windows)
    metric_errors = listing_errors + metric_errors
    findings = []
    fleet_cost = 0.0
    for endpoint in discovery.endpoints:
        findings += judge_endpoint(endpoint, results, catalog, thresholds, windows)
        for variant in endpoint.variants:
            fleet_cost += variant.monthly_cost(catalog) or 0.0
    if account is None and discovery.endpoints:
        account = discovery.endpoints[0].arn.split(":")[4]
    return ScanReport(
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
        windows={
            "start": iso_z(windows.start),
            "end": iso_z(windows.end),
            "idle_start": iso_z(windows.idle_start),
            "utilization_start": iso_z(windows.utilization_start),
            "period_seconds": windows.period,
        },
        thresholds=thresholds.to_dict(),
        catalog={"region": catalog.region, "as_of": catalog.as_of},
        warnings=catalog.warnings_for(region)
        + catalog.unpriced_warnings(v.instance_type for e in discovery.endpoints for v in e.variants),
        listed=list(discovery.listed),
        tags={e.name: dict(e.tags) for e in discovery.endpoints},
    )


class EventSink(Protocol):
    def put(self, announcements: list[Announcement], *, account: str | None, region: str) -> int: ...
    def put_document(self, detail_type: str, doc: dict[str, Any]) -> str | None: ...


class StateStore(Protocol):
    def load(self) -> dict[str, FindingState]: ...
    def save(self, states: list[FindingState]) -> None: ...


@dataclass(frozen=True)
class ScanDependencies:
    inventory: Inventory
    metrics: MetricsReader
    publisher: Notifier
    events: EventSink
    state: StateStore
    catalog: Catalog
    account: str | None


def digest_of(report: ScanReport, lifecycle: Decision, *, state_available: bool = True) -> Digest:
    return Digest(
        account=report.account,
        region=report.region,
        generated_at=report.generated_at,
        announcements=lifecycle.announcements,
        unchanged=lifecycle.unchanged,
        snoozed={e: d.isoformat() for e, d in lifecycle.snoozed.items()},
        open_savings_usd=report.monthly_savings_usd,
        state_available=state_available,
        warnings=tuple(report.warnings),
    )


def preview_digest(report: ScanReport) -> Digest:
    """The digest a first scan of this fleet would send (every finding new; snoozes applied)."""
    active, _ = snoozes(report.tags, report.generated_at.date())
    lifecycle = announce_all(f for f in report.findings if f.endpoint not in active)
    lifecycle.snoozed = active
    return digest_of(report, lifecycle)


def scheduled_scan(
    settings: ScanSettings, request: ScanRequest, deps: ScanDependencies, now: datetime | None = None
) -> tuple[ScanReport, dict[str, Any]]:
    """Scan, decide what is worth announcing, send one digest, remember what was said.

    The digest goes out before state is written: if the function fails in between, the next scan
    announces again rather than never. If the state table is unreadable, the digest lists every
    current finding and says so.
    """
    now = now or datetime.now(UTC)
    report = run_scan(
        deps.inventory,
        deps.metrics,
        deps.catalog,
        settings.thresholds,
        now=now,
        region=settings.region,
        account=deps.account,
    )
    active, snooze_problems = snoozes(report.tags, now.date())
    warnings = list(report.warnings) + list(snooze_problems)
    state_available = True
    try:
        lifecycle = decide(
            report.findings,
            deps.state.load(),
            now=now,
            renotify_days=settings.renotify_days,
            judged=report.judged,
            listed=set(report.listed),
            complete=report.complete,
            snoozed=active,
        )
    except StateUnavailableError as exc:
        warnings.append(str(exc))
        state_available = False
        lifecycle = announce_all(f for f in report.findings if f.endpoint not in active)
        lifecycle.snoozed = active
    digest = digest_of(report, lifecycle, state_available=state_available)
    message_ids: list[str] = []
    failed_events = 0
    if request.publish:
        if lifecycle.announcements:
            message_ids = deps.publisher.publish(digest)
            failed_events = deps.events.put(lifecycle.announcements, account=report.account, region=report.region)
        if state_available:
            try:
                deps.state.save(lifecycle.states)
            except StateUnavailableError as exc:
                warnings.append(str(exc))  # the next scan announces again: duplicates, never silence
        # Last, after state: every scheduled scan reports in, findings or not (the central account takes
        # a member's silence for a broken member). Failing here fails the run loudly; nothing is re-announced.
        summary = scan_summary(report, interval_seconds=settings.interval_seconds)
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
        "warnings": warnings,
    }
    return report, result
