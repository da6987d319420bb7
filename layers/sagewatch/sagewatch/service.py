"""Entry points the Lambda handlers call: one domain function each, with its dependencies injected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sagewatch.catalog import Catalog
from sagewatch.events import ScanRequest
from sagewatch.report import ScanReport
from sagewatch.scan import Inventory, MetricsReader, run_scan
from sagewatch.settings import ScanSettings


class Publisher(Protocol):
    def publish_summary(self, report: ScanReport) -> str: ...


@dataclass(frozen=True)
class ScanDependencies:
    inventory: Inventory
    metrics: MetricsReader
    publisher: Publisher
    catalog: Catalog
    account: str | None


def scheduled_scan(
    settings: ScanSettings, request: ScanRequest, deps: ScanDependencies, now: datetime | None = None
) -> tuple[ScanReport, dict[str, Any]]:
    """Scan the region and, when there are findings, publish their summary. Returns the report and
    the small result the function hands back to its caller."""
    report = run_scan(
        deps.inventory,
        deps.metrics,
        deps.catalog,
        settings.thresholds,
        now=now or datetime.now(UTC),
        region=settings.region,
        account=deps.account,
    )
    message_id = None
    if request.publish and report.findings:
        message_id = deps.publisher.publish_summary(report)
    result = {
        "schema": "sagewatch.scan-result/1",
        "endpoints": report.endpoints,
        "findings": len(report.findings),
        "findings_by_kind": report.counts_by_kind(),
        "skipped": len(report.skipped),
        "errors": len(report.errors),
        "fleet_monthly_cost_usd": report.fleet_monthly_cost_usd,
        "monthly_savings_usd": report.monthly_savings_usd,
        "published_message_id": message_id,
    }
    return report, result
