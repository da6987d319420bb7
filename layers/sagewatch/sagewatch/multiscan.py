"""Scans of several accounts and regions as one report (pure): every finding with its `account` and `region`,
the targets that could not be scanned named, never left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagewatch import textable
from sagewatch.formats import iso_z, money
from sagewatch.scan_report import FINDING_COLUMNS, ScanReport, finding_row, finding_table

MULTI_SCHEMA = "sagewatch.multi-scan-report/1"


@dataclass(frozen=True)
class TargetFailure:
    """An account and region that could not be scanned (the role could not be assumed, the region is off)."""

    account: str | None
    region: str
    error: str


@dataclass
class MultiScanReport:
    generated_at: datetime
    reports: list[ScanReport] = field(default_factory=list)
    failures: list[TargetFailure] = field(default_factory=list)

    def _sorted(self) -> list[ScanReport]:
        return sorted(self.reports, key=lambda r: (r.account or "", r.region))

    @property
    def totals(self) -> dict[str, Any]:
        return {
            "targets": len(self.reports) + len(self.failures),
            "scanned": len(self.reports),
            "failed": len(self.failures),
            "endpoints": sum(r.endpoints for r in self.reports),
            "findings": sum(len(r.findings) for r in self.reports),
            "fleet_monthly_cost_usd": round(sum(r.fleet_monthly_cost_usd for r in self.reports), 2),
            "monthly_savings_usd": round(sum(r.monthly_savings_usd for r in self.reports), 2),
        }

    def to_dict(self) -> dict[str, Any]:
        findings = []
        for r in self._sorted():
            findings += [{"account": r.account, "region": r.region, **f} for f in r.to_dict()["findings"]]
        return {
            "schema": MULTI_SCHEMA,
            "generated_at": iso_z(self.generated_at, seconds=True),
            "totals": self.totals,
            "targets": [
                {
                    "account": r.account,
                    "region": r.region,
                    "endpoints": r.endpoints,
                    "findings": len(r.findings),
                    "fleet_monthly_cost_usd": round(r.fleet_monthly_cost_usd, 2),
                    "monthly_savings_usd": r.monthly_savings_usd,
                    "errors": [e.to_dict() for e in r.errors],
                    "skipped": [s.to_dict() for s in r.skipped],
                    "warnings": r.warnings,
                }
                for r in self._sorted()
            ],
            "failed": [{"account": f.account, "region": f.region, "error": f.error} for f in self.failures],
            "findings": findings,
        }


def render_table(report: MultiScanReport, width: int | None = None) -> str:
    """Every finding with its account and region; then each account and region with something to say, and one
    line per account for the regions with nothing (no endpoint, no error, nothing skipped); what was skipped and
    what could not be scanned. With a `width`, every line fits it."""
    t = report.totals
    lines = [
        f"sagewatch scan of {t['scanned']} account/region pairs at {report.generated_at:%Y-%m-%d %H:%M} UTC: "
        f"{t['endpoints']} endpoints costing {money(t['fleet_monthly_cost_usd'])}/month; {t['findings']} findings "
        f"could save {money(t['monthly_savings_usd'])}/month",
        "",
    ]
    rows = [[r.account or "?", r.region, *finding_row(f)] for r in report._sorted() for f in r.sorted_findings()]
    lines += finding_table(["ACCOUNT", "REGION", *FINDING_COLUMNS], rows, width, before=2) if rows else ["No findings."]
    lines += ["", "Per account and region:"]
    empty: dict[str, list[str]] = {}
    for r in report._sorted():
        if not (r.endpoints or r.errors or r.skipped):  # nothing priced: a price warning says nothing there
            empty.setdefault(r.account or "?", []).append(r.region)
            continue
        note = f"; {len(r.errors)} endpoints not judged" if r.errors else ""
        note += "".join(f"; WARNING: {w}" for w in r.warnings[:2])
        lines.append(
            f"  {r.account or '?'} / {r.region}: {r.endpoints} endpoints, {len(r.findings)} findings, "
            f"{money(r.fleet_monthly_cost_usd)}/month{note}"
        )
    for account, regions in empty.items():
        plural = "s" if len(regions) != 1 else ""
        lines.append(f"  {account}: no endpoints in {len(regions)} region{plural} ({', '.join(regions)})")
    skipped = [(r, s) for r in report._sorted() for s in r.skipped]
    if skipped:
        lines += ["", "Skipped:"]
        lines += [f"  {r.account or '?'} / {r.region} / {s.endpoint}: {s.reason}" for r, s in skipped]
    if report.failures:
        lines += ["", "NOT SCANNED (their endpoints are not in this report):"]
        lines += [f"  {f.account or '-'} / {f.region}: {f.error}" for f in report.failures]
    return "\n".join(textable.fit(lines, width))
