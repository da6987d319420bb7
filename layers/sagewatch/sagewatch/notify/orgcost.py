"""The organization's weekly cost digest in every form (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagewatch.bounds import NAME_MAX
from sagewatch.formats import money
from sagewatch.notify.core import Chatbot, Rendering, as_mapping, bounded_tree, payload
from sagewatch.notify.limits import chat
from sagewatch.notify.weekly import commitment_lines, notice_blocks
from sagewatch.orgcost import ORG_COST_SUMMARY_SCHEMA


@dataclass(frozen=True)
class OrgCostNotice:
    """An organization cost summary document (sagewatch.orgcost.org_cost_summary)."""

    summary: Mapping[str, Any]

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> OrgCostNotice:
        if doc.get("schema") != ORG_COST_SUMMARY_SCHEMA or not isinstance(doc.get("totals"), Mapping):
            raise ValueError("not a sagewatch organization cost summary")
        return cls(doc)


def _money(value: object) -> str:
    return money(value, cents=True)


def subject(doc: Mapping[str, Any]) -> str:
    t, trend = as_mapping(doc.get("totals")), as_mapping(doc.get("trend"))
    change = trend.get("change_pct")
    text = f" ({change:+.0f}%)" if isinstance(change, int | float) else ""
    return (
        f"sagewatch organization weekly cost: {_money(t.get('cost_usd'))}{text}, {_money(t.get('waste_usd'))} wasted "
        f"({t.get('accounts')} accounts)"
    )


def lines(doc: Mapping[str, Any]) -> list[str]:
    t, trend, period = as_mapping(doc.get("totals")), as_mapping(doc.get("trend")), as_mapping(doc.get("period"))
    change = trend.get("change_pct")
    trend_text = (
        f"{change:+.1f}% against the week before, {trend.get('members_compared')} of {t.get('members')} members "
        "compared"
        if isinstance(change, int | float)
        else "no earlier week to compare with"
    )
    share = t.get("waste_share")
    out = [
        f"{period.get('start')} to {period.get('end')}: {_money(t.get('cost_usd'))} on instances ({trend_text}); "
        f"{_money(t.get('monthly_cost_usd'))} a month at this size.",
        f"Waste: {_money(t.get('waste_usd'))}" + (f" ({share:.0%})" if isinstance(share, int | float) else "") + ".",
        f"{t.get('members')} members in {t.get('accounts')} accounts and {t.get('regions')} regions; "
        f"{t.get('open_findings')} open findings.",
        "",
        "Per account:",
    ]
    for r in doc.get("by_account") or []:
        r = as_mapping(r)
        label = f"{r.get('name')} ({r.get('key')})" if r.get("name") else r.get("key")
        out.append(
            f"  {label}: {_money(r.get('cost_usd'))}, waste {_money(r.get('waste_usd'))}, {r.get('findings')} findings"
        )
    out += ["", "Top endpoints:"]
    for e in doc.get("top_endpoints") or []:
        e = as_mapping(e)
        out.append(f"  {e.get('account')}/{e.get('region')} {e.get('endpoint')}: {_money(e.get('cost_usd'))}")
    missing = [as_mapping(m) for m in doc.get("missing") or []]
    if missing:
        out += [
            "",
            "No cost summary this week from: " + ", ".join(f"{m.get('account')}/{m.get('region')}" for m in missing),
        ]
    out += commitment_lines(doc)  # the organization's Savings Plans, and the advice net of every member's waste
    report = as_mapping(doc.get("report"))
    out += ["", "Full report (CSV, HTML, JSON):"]
    out += [f"  s3://{report.get('bucket')}/{key}" for key in as_mapping(report.get("keys")).values()]
    return out


TITLE = "sagewatch organization cost report"


def render(notice: OrgCostNotice) -> Rendering:
    doc = bounded_tree(notice.summary, NAME_MAX, 30)
    body = lines(doc)
    return Rendering(
        subject=subject(doc),
        text="\n".join([TITLE, "", *body]),
        document=dict(doc),
        chatbot=Chatbot(
            title=subject(doc),
            description=chat("\n".join(body), 3400),
            keywords=["sagewatch", "cost-report", "organization"],
            thread_id="sagewatch-org-cost",
            event_type="sagewatch-org-cost-report",
        ),
        attributes={"kind": ["cost-report"], "reason": ["weekly"]},
    )


def slack(notice: OrgCostNotice) -> list[dict[str, Any]]:
    doc = bounded_tree(notice.summary, NAME_MAX, 30)
    return [payload(subject(doc), notice_blocks(TITLE, lines(doc)))]
