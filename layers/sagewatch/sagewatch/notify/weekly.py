"""The weekly cost digest in every form (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagewatch.bounds import NAME_MAX, bounded
from sagewatch.formats import money
from sagewatch.hidden import LISTED_MAX, Hidden, summary_line
from sagewatch.notify.core import Chatbot, Rendering, as_mapping, bounded_tree, escaped_chunks, header, payload, section
from sagewatch.notify.limits import SLACK_BLOCKS_MAX, SLACK_SECTION_MAX, chat
from sagewatch.weekly import SUMMARY_SCHEMA


@dataclass(frozen=True)
class WeeklyNotice:
    """A cost summary document (sagewatch.weekly.cost_summary)."""

    summary: Mapping[str, Any]

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> WeeklyNotice:
        if doc.get("schema") != SUMMARY_SCHEMA or not isinstance(doc.get("totals"), Mapping):
            raise ValueError("not a sagewatch cost summary")
        return cls(doc)


def _money(value: object) -> str:
    return money(value, cents=True)


def _trend(change: object) -> str:
    if not isinstance(change, int | float):
        return "no earlier report to compare with"
    return f"{change:+.1f}% against the previous report"


def subject(doc: Mapping[str, Any]) -> str:
    t = as_mapping(doc.get("totals"))
    change = as_mapping(doc.get("change_pct")).get("cost")
    trend = f" ({change:+.0f}%)" if isinstance(change, int | float) else ""
    return (
        f"sagewatch weekly cost {doc.get('account') or ''}/{doc.get('region')}: {_money(t.get('cost_usd'))}{trend}, "
        f"{_money(t.get('waste_usd'))} wasted"
    )


def title(doc: Mapping[str, Any]) -> str:
    return f"sagewatch weekly cost report, {doc.get('account') or 'account'}/{doc.get('region')}"


def lines(doc: Mapping[str, Any]) -> list[str]:
    t, period = as_mapping(doc.get("totals")), as_mapping(doc.get("period"))
    change = as_mapping(doc.get("change_pct"))
    share = t.get("waste_share")
    share_text = f" ({share:.0%})" if isinstance(share, int | float) else ""
    days = period.get("days")
    report = as_mapping(doc.get("report"))
    rows = [as_mapping(r) for r in doc.get("top_costs") or []]
    waste = [as_mapping(r) for r in doc.get("top_waste") or []]
    when = f"{days:g} days to {period.get('end')}" if isinstance(days, int | float) else f"To {period.get('end')}"
    return [
        *[f"WARNING: {w}" for w in doc.get("warnings") or [] if isinstance(w, str)],
        f"{when}: {_money(t.get('cost_usd'))} on instances ({_trend(change.get('cost'))}); "
        f"{_money(t.get('monthly_cost_usd'))} a month at this size.",
        f"Waste: {_money(t.get('waste_usd'))}{share_text} ({_trend(change.get('waste'))}).",
        "",
        "Top costs:",
        *[f"  {r.get('endpoint')}: {_money(r.get('cost_usd'))}" for r in rows],
        "",
        "Top waste:",
        *([f"  {r.get('endpoint')}: {_money(r.get('waste_usd'))}" for r in waste] or ["  none"]),
        *_time(doc),
        *commitment_lines(doc),
        *_hidden(doc),
        "",
        "Full report (CSV, HTML, JSON):",
        *[f"  s3://{report.get('bucket')}/{key}" for key in as_mapping(report.get("keys")).values()],
    ]


def _time(doc: Mapping[str, Any]) -> list[str]:
    """Waste in time (off-hours and batch-candidate hours priced) and the consolidation groups."""
    time = as_mapping(doc.get("waste_in_time"))
    items = [as_mapping(i) for i in time.get("items") or []]
    out = []
    if items:
        out += [
            "",
            f"Waste in time: {_money(time.get('period_usd'))} in the period, {_money(time.get('monthly_usd'))} a "
            "month (hours it serves almost nothing):",
            *[
                f"  {i.get('endpoint')}{'/' + str(i.get('variant')) if i.get('variant') else ''} ({i.get('kind')}): "
                f"{_money(i.get('monthly_usd'))}/month"
                for i in items
            ],
        ]
    groups = [as_mapping(g) for g in doc.get("consolidation") or []]
    if groups:
        out += ["", "Could share instances (inference components on one endpoint):"]
        for g in groups:
            names = [str(n) for n in g.get("endpoints") or []][:20]
            out.append(
                f"  {', '.join(names)} -> {g.get('instance_count')} x {g.get('instance_type')}: saves "
                f"{_money(g.get('monthly_savings_usd'))}/month"
            )
    return out


def commitment_lines(doc: Mapping[str, Any]) -> list[str]:
    """SageMaker Savings Plans: coverage, utilization, plans ending within 60 days, the advice net of waste."""
    c = as_mapping(doc.get("commitments"))
    if not c:
        return []
    out = ["", "Commitments (SageMaker Savings Plans):"]
    if not c.get("available"):
        out.append(f"  not available: {bounded(str(c.get('reason')), 300)}")
    cov, use = c.get("coverage_pct"), c.get("utilization_pct")
    if isinstance(cov, int | float):
        out.append(f"  coverage {cov:g}%" + (f", utilization {use:g}%" if isinstance(use, int | float) else ""))
    for p in [as_mapping(p) for p in c.get("ending_soon") or []][:10]:
        out.append(
            f"  plan {bounded(str(p.get('id')), NAME_MAX)} ({_money(p.get('commitment_per_hour_usd'))}/hour) ends "
            f"{str(p.get('end') or '?')[:10]}, in {p.get('days_left')} days: renew it, or let it lapse on purpose"
        )
    hourly, net = c.get("hourly_commitment_usd"), c.get("net_hourly_commitment_usd")
    if isinstance(hourly, int | float) and hourly > 0 and isinstance(net, int | float):
        out.append(
            f"  Cost Explorer recommends ${hourly:,.3f}/hour ({c.get('term')}); net of the waste sagewatch found "
            f"${net:,.3f}/hour: fix the waste before committing to it"
            if net < hourly
            else f"  Cost Explorer recommends ${hourly:,.3f}/hour ({c.get('term')}); no waste found to take out"
        )
    return out if len(out) > 2 else []


def _hidden(doc: Mapping[str, Any]) -> list[str]:
    """Ignored and snoozed endpoints with their cost: a tag quiets sagewatch, it does not hide the money."""
    listed = []
    for raw in (doc.get("hidden") or [])[:LISTED_MAX]:
        try:
            listed.append(Hidden.from_dict(raw))
        except ValueError:
            continue
    head = summary_line(listed)
    if head is None:
        return []
    return ["", head, *[f"  {bounded(h.line(), 400)}" for h in listed]]


def render(notice: WeeklyNotice) -> Rendering:
    doc = bounded_tree(notice.summary, NAME_MAX, 20)
    body = lines(doc)
    return Rendering(
        subject=subject(doc),
        text="\n".join([title(doc), "", *body]),
        document=dict(doc),
        chatbot=Chatbot(
            title=title(doc),
            description=chat("\n".join(body), 3400),
            keywords=["sagewatch", "cost-report", str(doc.get("region"))],
            thread_id=f"sagewatch-cost-{doc.get('account')}-{doc.get('region')}",
            event_type="sagewatch-cost-report",
            context={"account": str(doc.get("account") or ""), "region": str(doc.get("region"))},
        ),
        attributes={"kind": ["cost-report"], "reason": ["weekly"]},
    )


def notice_blocks(heading: str, body: list[str]) -> list[dict[str, Any]]:
    """A short notice (weekly cost digest, executed remediation) as one Block Kit message: the lines in code
    blocks, escaped, split across sections."""
    chunks = escaped_chunks("\n".join(body).replace("`", "'"), SLACK_SECTION_MAX - 6) or [" "]
    sections = [section(f"```{c}```") for c in chunks]
    return [header(heading), *sections[: SLACK_BLOCKS_MAX - 1]]


def slack(notice: WeeklyNotice) -> list[dict[str, Any]]:
    doc = bounded_tree(notice.summary, NAME_MAX, 20)
    return [payload(title(doc), notice_blocks(title(doc), lines(doc)))]
