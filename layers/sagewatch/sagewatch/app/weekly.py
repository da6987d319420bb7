"""Where the money goes: the cost report (CLI and weekly function), and the weekly run that stores it in the
bucket and sends a short digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sagewatch import hidden
from sagewatch.app.ports import MetricsReader, Notifier
from sagewatch.catalog import Catalog
from sagewatch.commitments import Commitments, Waste, waste_of
from sagewatch.costs import CostReport, Reservation, build_cost_report, plan_report_queries, report_windows
from sagewatch.lifecycle import MAX_SNOOZE_DAYS, snoozes
from sagewatch.models import Discovery, Endpoint, ScanError
from sagewatch.notify import WeeklyNotice
from sagewatch.requests import ReportRequest
from sagewatch.settings import ReportSettings, Thresholds
from sagewatch.timewaste import waste_in_time
from sagewatch.weekly import ReportLocation, cost_summary


class CommitmentsSource(Protocol):
    def commitments(self, now: datetime, waste: Sequence[Waste]) -> Commitments: ...


class CostInventory(Protocol):
    def discover(self) -> Discovery: ...

    def reservations(self, endpoints: list[Endpoint]) -> tuple[dict[str, Reservation], list[ScanError]]: ...


def cost_report(
    inventory: CostInventory,
    metrics: MetricsReader,
    catalog: Catalog,
    *,
    days: int,
    target_utilization_pct: float,
    now: datetime,
    region: str,
    account: str | None,
    max_snooze_days: int = MAX_SNOOZE_DAYS,
    schedule_timezone: str = "UTC",
    commitments: CommitmentsSource | None = None,
) -> CostReport:
    """What every endpoint, variant and inference component cost in the `days` before `now` (read-only); with
    `commitments`, the account's Savings Plans and the commitment advice net of the waste found here."""
    windows = report_windows(now, days)
    discovery = inventory.discover()
    reservations, reservation_errors = inventory.reservations(discovery.endpoints)
    results, metric_errors = metrics.fetch(plan_report_queries(discovery.endpoints), windows)
    if account is None and discovery.endpoints:
        account = discovery.endpoints[0].arn.split(":")[4]
    report = build_cost_report(
        discovery.endpoints,
        reservations,
        results,
        catalog,
        windows,
        target_utilization_pct=target_utilization_pct,
        generated_at=now,
        region=region,
        account=account,
        not_costed=discovery.skipped,
        errors=discovery.errors + reservation_errors + metric_errors,
    )
    # what tags keep out of the findings still costs money: named with its cost (a cost report keeps no
    # state, so a snooze's cap counts from today)
    snoozed, _, _ = snoozes({e.name: e.tags for e in discovery.endpoints}, now.date(), max_days=max_snooze_days)
    costs = {e.name: hidden.endpoint_cost(e, catalog) for e in discovery.endpoints}
    report.hidden = hidden.ignored(discovery.ignored, catalog) + hidden.snoozed(snoozed, costs)
    # the hours it serves nothing in, from the same hourly reads (the scan's rules, thresholds of the report)
    thresholds = Thresholds(
        target_utilization_pct=target_utilization_pct,
        saturation_pct=max(90.0, min(100.0, target_utilization_pct + 1)),
        utilization_days=max(1, min(90, days)),
        schedule_timezone=schedule_timezone,
    )
    report.time_waste, report.consolidation = waste_in_time(
        discovery.endpoints, results, catalog, windows, thresholds, account=account, region=region
    )
    if commitments is not None:
        report.commitments = commitments.commitments(now, waste_of(report))
    return report


class ReportArchive(Protocol):
    def latest(self) -> dict[str, Any] | None: ...
    def put(self, report: CostReport) -> ReportLocation: ...


@dataclass
class WeeklyDependencies:
    inventory: CostInventory
    metrics: MetricsReader
    catalog: Catalog
    archive: ReportArchive
    publisher: Notifier
    account: str | None
    commitments: CommitmentsSource | None = None


def weekly_report(
    settings: ReportSettings, request: ReportRequest, deps: WeeklyDependencies, now: datetime | None = None
) -> dict[str, Any]:
    """Cost report of the last `settings.days` days into the bucket, then a short digest on the topic."""
    report = cost_report(
        deps.inventory,
        deps.metrics,
        deps.catalog,
        days=settings.days,
        target_utilization_pct=settings.target_utilization_pct,
        now=now or datetime.now(UTC),
        region=settings.region,
        account=deps.account,
        max_snooze_days=settings.max_snooze_days,
        schedule_timezone=settings.schedule_timezone,
        commitments=deps.commitments,
    )
    previous = deps.archive.latest()
    if previous and previous.get("period", {}).get("end", "") >= report.period["end"]:
        previous = None  # a rerun of the same period is no trend
    where = deps.archive.put(report)
    summary = cost_summary(report, previous, where)
    ids = deps.publisher.publish(WeeklyNotice(summary)) if request.publish else []
    message_id = ids[0] if ids else None
    return {
        "schema": "sagewatch.weekly-result/1",
        "totals": summary["totals"],
        "change_pct": summary["change_pct"],
        "report": summary["report"],
        "rows": len(report.rows),
        "errors": len(report.errors),
        "published_message_id": message_id,
    }
