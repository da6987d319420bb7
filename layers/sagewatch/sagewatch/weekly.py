"""The weekly cost digest: this period's totals against the previous report's, the top costs and the top waste,
and where the full report lies. Pure; sagewatch.notify.weekly renders it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagewatch import commitments
from sagewatch.costs import CostReport
from sagewatch.hidden import LISTED_MAX, total

SUMMARY_SCHEMA = "sagewatch.cost-summary/1"
TOP = 5
TOP_FOR_ORGANIZATION = 20  # what a member forwards, so the organization report can rank its top endpoints


def _change(now: float, before: float | None) -> float | None:
    if before is None or before == 0:
        return None
    return round((now - before) / before * 100, 1)


@dataclass(frozen=True)
class ReportLocation:
    bucket: str
    keys: dict[str, str]  # format -> object key


def family_of(instance_type: str | None) -> str:
    """ml.g5.2xlarge -> g5; serverless (no type) and anything unexpected keep a readable name."""
    if not instance_type:
        return "serverless"
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 else instance_type


def by_family(report: CostReport) -> dict[str, dict[str, float]]:
    """Cost and waste in the period per instance family, over variants (what is known)."""
    out: dict[str, dict[str, float]] = {}
    for r in report.rows:
        if r.level != "variant":
            continue
        row = out.setdefault(family_of(r.instance_type), {"cost_usd": 0.0, "waste_usd": 0.0})
        row["cost_usd"] = round(row["cost_usd"] + (r.cost_usd or 0.0), 2)
        row["waste_usd"] = round(row["waste_usd"] + (r.waste_usd or 0.0), 2)
    return dict(sorted(out.items()))


WASTE_FORWARDED_MAX = 200  # variants a member forwards; the rest is under a cent an hour in any real fleet


def cost_summary(report: CostReport, previous: Mapping[str, Any] | None, where: ReportLocation) -> dict[str, Any]:
    """The digest document. `previous` is the last stored report (its JSON), or None for the first one."""
    totals = report.totals
    before: Mapping[str, Any] | None = previous.get("totals") if previous else None
    earlier = None
    if previous and before:
        earlier = {
            "period": previous.get("period"),
            "cost_usd": before.get("cost_usd"),
            "waste_usd": before.get("waste_usd"),
        }
    ends = report.endpoints()
    top_costs = sorted((r for r in ends if r.cost_usd), key=lambda r: -(r.cost_usd or 0.0))[:TOP]
    top_waste = sorted((r for r in ends if r.waste_usd), key=lambda r: -(r.waste_usd or 0.0))[:TOP]
    return {
        "schema": SUMMARY_SCHEMA,
        "account": report.account,
        "region": report.region,
        "period": report.period,
        "totals": {
            "cost_usd": totals.cost_usd,
            "monthly_cost_usd": totals.monthly_cost_usd,
            "waste_usd": totals.waste_usd,
            "waste_share": totals.waste_share,
            "invocations": totals.invocations,
        },
        "previous": earlier,
        "change_pct": {
            "cost": _change(totals.cost_usd, before.get("cost_usd") if before else None),
            "waste": _change(totals.waste_usd, before.get("waste_usd") if before else None),
        },
        "top_costs": [{"endpoint": r.endpoint, "cost_usd": r.cost_usd} for r in top_costs],
        "top_waste": [{"endpoint": r.endpoint, "waste_usd": r.waste_usd} for r in top_waste],
        "by_family": by_family(report),
        "top_endpoints": [
            {"endpoint": r.endpoint, "instance_type": r.instance_type, "cost_usd": r.cost_usd, "waste_usd": r.waste_usd}
            for r in sorted((r for r in ends if r.cost_usd), key=lambda r: -(r.cost_usd or 0.0))[:TOP_FOR_ORGANIZATION]
        ],
        "waste_in_time": report.waste_in_time(top=TOP),
        "consolidation": report.consolidation[:TOP],
        "commitments": commitments.summary(report.commitments),
        # for the organization's commitment advice (sagewatch.orgcost): the waste paid per hour, largest first
        "commitment_waste": [w.to_dict() for w in commitments.waste_of(report)[:WASTE_FORWARDED_MAX]],
        "report": {"bucket": where.bucket, "keys": where.keys},
        "warnings": list(report.warnings),
        "hidden": [h.to_dict() for h in report.hidden[:LISTED_MAX]],
        "hidden_count": len(report.hidden),
        "hidden_monthly_cost_usd": total(report.hidden),
    }
