"""The weekly cost digest: this period's totals against the previous report's, the top costs and the top waste,
and where the full report lies. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagewatch.costs import CostReport

SUMMARY_SCHEMA = "sagewatch.cost-summary/1"
TOP = 5


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _change(now: float, before: float | None) -> float | None:
    if before is None or before == 0:
        return None
    return round((now - before) / before * 100, 1)


@dataclass(frozen=True)
class ReportLocation:
    bucket: str
    keys: dict[str, str]  # format -> object key


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
        "report": {"bucket": where.bucket, "keys": where.keys},
    }


def _trend(change: float | None) -> str:
    if change is None:
        return "no earlier report to compare with"
    return f"{change:+.1f}% against the previous report"


def summary_subject(doc: Mapping[str, Any]) -> str:
    t = doc["totals"]
    change = doc["change_pct"]["cost"]
    trend = "" if change is None else f" ({change:+.0f}%)"
    text = (
        f"sagewatch weekly cost {doc['account'] or ''}/{doc['region']}: {_money(t['cost_usd'])}{trend}, "
        f"{_money(t['waste_usd'])} wasted"
    )
    return text[:100]  # SNS subjects stop at 100 characters


def summary_title(doc: Mapping[str, Any]) -> str:
    return f"sagewatch weekly cost report, {doc['account'] or 'account'}/{doc['region']}"


def summary_lines(doc: Mapping[str, Any]) -> list[str]:
    t, period = doc["totals"], doc["period"]
    share = "" if t["waste_share"] is None else f" ({t['waste_share']:.0%})"
    lines = [
        f"{period['days']:g} days to {period['end']}: {_money(t['cost_usd'])} on instances "
        f"({_trend(doc['change_pct']['cost'])}); {_money(t['monthly_cost_usd'])} a month at this size.",
        f"Waste: {_money(t['waste_usd'])}{share} ({_trend(doc['change_pct']['waste'])}).",
        "",
        "Top costs:",
        *[f"  {r['endpoint']}: {_money(r['cost_usd'])}" for r in doc["top_costs"]],
        "",
        "Top waste:",
        *([f"  {r['endpoint']}: {_money(r['waste_usd'])}" for r in doc["top_waste"]] or ["  none"]),
        "",
        "Full report (CSV, HTML, JSON):",
        *[f"  s3://{doc['report']['bucket']}/{key}" for key in doc["report"]["keys"].values()],
    ]
    return lines


def summary_sns_body(doc: Mapping[str, Any], *, chatbot: bool) -> dict[str, str]:
    """SNS MessageStructure=json: text for email, the document for machines, Chatbot's format on https."""
    text = "\n".join([summary_title(doc), "", *summary_lines(doc)])
    machine = json.dumps(doc)
    https = machine
    if chatbot:
        https = json.dumps(
            {
                "version": "1.0",
                "source": "custom",
                "content": {
                    "textType": "client-markdown",
                    "title": summary_title(doc),
                    "description": "\n".join(summary_lines(doc))[:3500],
                },
            }
        )
    return {"default": text, "email": text, "email-json": machine, "sqs": machine, "lambda": machine, "https": https}
