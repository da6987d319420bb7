"""The organization's weekly cost report, from the cost summaries members forward (pure): cost, waste and
findings per account, per region and per instance family, the organization's top endpoints, and the trend
against the week before. CSV, JSON and self-contained HTML, like a member's report."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagewatch import commitments as commitment_advice
from sagewatch.bounds import NAME_MAX, bounded
from sagewatch.commitments import Commitments, Waste
from sagewatch.formats import iso_z, money
from sagewatch.org import OrgEventError, instant_field, number_field
from sagewatch.weekly import SUMMARY_SCHEMA

ORG_COST_SCHEMA = "sagewatch.org-cost-report/1"
ORG_COST_SUMMARY_SCHEMA = "sagewatch.org-cost-summary/1"
TOP = 20
MAX_FAMILIES = 100
WASTE_MAX = 200  # waste items kept of one member (sagewatch.weekly forwards its largest 200)
CURRENT_WITHIN_DAYS = 8  # a member's summary older than this is last week's: the member is named as missing


@dataclass(frozen=True)
class MemberCost:
    """One member's weekly cost summary, checked and bounded on arrival."""

    account: str
    region: str
    start: datetime
    end: datetime
    cost_usd: float
    monthly_cost_usd: float
    waste_usd: float
    previous_cost_usd: float | None
    by_family: dict[str, dict[str, float]]
    top_endpoints: list[dict[str, Any]]
    # the waste it pays per hour (sagewatch.commitments.waste_of): what the organization's commitment nets out
    waste: tuple[Waste, ...] = ()

    @classmethod
    def from_detail(cls, account: str, region: str, doc: Mapping[str, Any]) -> MemberCost:
        """A member's cost summary (sagewatch.weekly.cost_summary). Raises OrgEventError naming the problem."""
        if doc.get("schema") != SUMMARY_SCHEMA:
            raise OrgEventError(f"not a cost summary: schema is {bounded(repr(doc.get('schema')), 60)}")
        totals, period = doc.get("totals"), doc.get("period")
        if not isinstance(totals, Mapping) or not isinstance(period, Mapping):
            raise OrgEventError("a cost summary needs totals and period objects")
        previous = doc.get("previous")
        before = None
        if isinstance(previous, Mapping) and previous.get("cost_usd") is not None:
            before = number_field(previous, "cost_usd")
        families = {} if doc.get("by_family") is None else doc["by_family"]
        if not isinstance(families, Mapping):
            raise OrgEventError("by_family must be an object")
        tops = [] if doc.get("top_endpoints") is None else doc["top_endpoints"]
        if not isinstance(tops, list):
            raise OrgEventError("top_endpoints must be a list")
        wasted = [] if doc.get("commitment_waste") is None else doc["commitment_waste"]
        if not isinstance(wasted, list):
            raise OrgEventError("commitment_waste must be a list")
        return cls(
            account=account,
            region=region,
            start=instant_field(period, "start"),
            end=instant_field(period, "end"),
            cost_usd=number_field(totals, "cost_usd"),
            monthly_cost_usd=number_field(totals, "monthly_cost_usd"),
            waste_usd=number_field(totals, "waste_usd"),
            previous_cost_usd=before,
            by_family={
                bounded(k, 32): {"cost_usd": number_field(v, "cost_usd"), "waste_usd": number_field(v, "waste_usd")}
                for k, v in list(families.items())[:MAX_FAMILIES]
                if isinstance(v, Mapping)
            },
            top_endpoints=[
                {
                    "endpoint": bounded(t.get("endpoint"), NAME_MAX),
                    "instance_type": bounded(t.get("instance_type") or "", 64) or None,
                    "cost_usd": number_field(t, "cost_usd"),
                    "waste_usd": number_field(t, "waste_usd") if t.get("waste_usd") is not None else 0.0,
                }
                for t in tops[:TOP]
                if isinstance(t, Mapping)
            ],
            waste=tuple(
                Waste(
                    endpoint=bounded(w.get("endpoint"), NAME_MAX),
                    variant=bounded(w["variant"], NAME_MAX) if w.get("variant") else None,
                    kind=bounded(w.get("kind") or "?", 32),
                    hourly_usd=number_field(w, "hourly_usd"),
                    account=account,
                    region=region,
                )
                for w in wasted[:WASTE_MAX]
                if isinstance(w, Mapping)
            ),
        )

    def to_doc(self) -> dict[str, Any]:
        """What the org table keeps (and from_detail reads back)."""
        return {
            "schema": SUMMARY_SCHEMA,
            "period": {"start": iso_z(self.start), "end": iso_z(self.end)},
            "totals": {
                "cost_usd": self.cost_usd,
                "monthly_cost_usd": self.monthly_cost_usd,
                "waste_usd": self.waste_usd,
            },
            "previous": {"cost_usd": self.previous_cost_usd},
            "by_family": self.by_family,
            "top_endpoints": self.top_endpoints,
            "commitment_waste": [w.to_dict() for w in self.waste],
        }


@dataclass(frozen=True)
class Row:
    key: str
    name: str | None
    cost_usd: float
    waste_usd: float
    findings: int | None = None

    @property
    def waste_share(self) -> float | None:
        return round(self.waste_usd / self.cost_usd, 3) if self.cost_usd else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "cost_usd": self.cost_usd, "waste_usd": self.waste_usd}
        out["waste_share"] = self.waste_share
        if self.name is not None:
            out["name"] = self.name
        if self.findings is not None:
            out["findings"] = self.findings
        return out


@dataclass
class OrgCostReport:
    generated_at: datetime
    members: list[MemberCost]
    names: Mapping[str, str] = field(default_factory=dict)
    findings: Mapping[tuple[str, str], int] = field(default_factory=dict)  # open findings per member
    missing: list[tuple[str, str]] = field(default_factory=list)  # members without a current summary
    family_findings: Mapping[str, int] = field(default_factory=dict)  # open findings per instance family
    # the organization's Savings Plans and Cost Explorer's advice net of every member's waste (None: not read)
    commitments: Commitments | None = None

    def waste(self) -> list[Waste]:
        """Every reporting member's waste per hour, what the organization's commitment must not pay for."""
        return [w for m in self.members for w in m.waste]

    def _rows(self, key_of: Any) -> dict[str, list[float]]:
        sums: dict[str, list[float]] = {}
        for m in self.members:
            entry = sums.setdefault(key_of(m), [0.0, 0.0, 0.0])
            entry[0] += m.cost_usd
            entry[1] += m.waste_usd
            entry[2] += self.findings.get((m.account, m.region), 0)
        return sums

    def by_account(self) -> list[Row]:
        sums = self._rows(lambda m: m.account)
        rows = [Row(k, self.names.get(k), round(c, 2), round(w, 2), int(f)) for k, (c, w, f) in sums.items()]
        return sorted(rows, key=lambda r: (-r.cost_usd, r.key))

    def by_region(self) -> list[Row]:
        sums = self._rows(lambda m: m.region)
        rows = [Row(k, None, round(c, 2), round(w, 2), int(f)) for k, (c, w, f) in sums.items()]
        return sorted(rows, key=lambda r: (-r.cost_usd, r.key))

    def by_family(self) -> list[Row]:
        sums: dict[str, list[float]] = {}
        for m in self.members:
            for family, v in m.by_family.items():
                entry = sums.setdefault(family, [0.0, 0.0])
                entry[0] += v["cost_usd"]
                entry[1] += v["waste_usd"]
        rows = [Row(k, None, round(c, 2), round(w, 2), self.family_findings.get(k, 0)) for k, (c, w) in sums.items()]
        return sorted(rows, key=lambda r: (-r.cost_usd, r.key))

    def top_endpoints(self) -> list[dict[str, Any]]:
        every = [{"account": m.account, "region": m.region, **t} for m in self.members for t in m.top_endpoints]
        return sorted(every, key=lambda t: (-t["cost_usd"], t["account"], t["endpoint"]))[:TOP]

    @property
    def totals(self) -> dict[str, Any]:
        cost = round(sum(m.cost_usd for m in self.members), 2)
        waste = round(sum(m.waste_usd for m in self.members), 2)
        return {
            "cost_usd": cost,
            "monthly_cost_usd": round(sum(m.monthly_cost_usd for m in self.members), 2),
            "waste_usd": waste,
            "waste_share": round(waste / cost, 3) if cost else None,
            "members": len(self.members),
            "accounts": len({m.account for m in self.members}),
            "regions": len({m.region for m in self.members}),
            "open_findings": sum(self.findings.get((m.account, m.region), 0) for m in self.members),
        }

    @property
    def trend(self) -> dict[str, Any]:
        """Against the week before, over the members that had one (a new member is no growth)."""
        compared = [m for m in self.members if m.previous_cost_usd is not None]
        now = round(sum(m.cost_usd for m in compared), 2)
        before = round(sum(m.previous_cost_usd or 0.0 for m in compared), 2)
        return {
            "members_compared": len(compared),
            "cost_usd": now,
            "previous_cost_usd": before if compared else None,
            "change_pct": round((now - before) / before * 100, 1) if before else None,
        }

    @property
    def period(self) -> dict[str, str | None]:
        if not self.members:
            return {"start": None, "end": None}
        return {"start": iso_z(min(m.start for m in self.members)), "end": iso_z(max(m.end for m in self.members))}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": ORG_COST_SCHEMA,
            "generated_at": iso_z(self.generated_at, seconds=True),
            "period": self.period,
            "totals": self.totals,
            "trend": self.trend,
            "by_account": [r.to_dict() for r in self.by_account()],
            "by_region": [r.to_dict() for r in self.by_region()],
            "by_family": [r.to_dict() for r in self.by_family()],
            "top_endpoints": self.top_endpoints(),
            "members": [
                {"account": m.account, "region": m.region, "cost_usd": m.cost_usd, "waste_usd": m.waste_usd}
                for m in sorted(self.members, key=lambda m: (m.account, m.region))
            ],
            "missing": [{"account": a, "region": r} for a, r in self.missing],
            "commitments": self.commitments.to_dict() if self.commitments is not None else None,
        }


def current_members(
    stored: Iterable[MemberCost], known: Iterable[tuple[str, str]], now: datetime
) -> tuple[list[MemberCost], list[tuple[str, str]]]:
    """This week's summaries (one per member, the newest), and known members without one."""
    newest: dict[tuple[str, str], MemberCost] = {}
    for m in stored:
        if (now - m.end).days >= CURRENT_WITHIN_DAYS:
            continue
        key = (m.account, m.region)
        if key not in newest or m.end > newest[key].end:
            newest[key] = m
    missing = sorted(set(known) - set(newest))
    return sorted(newest.values(), key=lambda m: (m.account, m.region)), missing


# --- renderings ----------------------------------------------------------------------------------


def to_csv(report: OrgCostReport) -> str:
    """One table: dimension (account, region, family, endpoint), key, name, cost, waste, share, findings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dimension", "key", "name", "region", "cost_usd", "waste_usd", "waste_share", "findings"])

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formulas in a spreadsheet

    for dimension, rows in (
        ("account", report.by_account()),
        ("region", report.by_region()),
        ("family", report.by_family()),
    ):
        for r in rows:
            writer.writerow(
                [dimension, cell(r.key), cell(r.name), "", r.cost_usd, r.waste_usd, r.waste_share, r.findings]
            )
    for t in report.top_endpoints():
        share = round(t["waste_usd"] / t["cost_usd"], 3) if t["cost_usd"] else None
        writer.writerow(
            [
                "endpoint",
                cell(t["endpoint"]),
                cell(report.names.get(t["account"]) or t["account"]),
                t["region"],
                t["cost_usd"],
                t["waste_usd"],
                share,
                "",
            ]
        )
    return out.getvalue()


def _commitment_lines(found: Commitments | None) -> list[str]:
    """The organization's Savings Plans in a sentence or two, and the advice net of every member's waste."""
    if found is None:
        return []
    doc = found.to_dict()
    if not doc["available"] and doc["coverage_pct"] is None:
        return ["", f"Commitments: not available ({bounded(str(doc['reason']), 300)})."]
    out = ["", "Commitments (SageMaker Savings Plans, as Cost Explorer sees them from this account):"]
    if doc["coverage_pct"] is not None:
        use = doc["utilization_pct"]
        out.append(f"  coverage {doc['coverage_pct']:g}%" + (f", utilization {use:g}%" if use is not None else ""))
    for p in found.ending_soon[:10]:
        out.append(f"  plan {bounded(p.id, NAME_MAX)} ends {(p.end or '?')[:10]}, in {p.days_left} days")
    r = doc["recommendation"]
    if r and r["hourly_commitment_usd"]:
        out.append(
            f"  Cost Explorer recommends ${r['hourly_commitment_usd']:,.3f}/hour ({r['term']}); net of the waste "
            f"sagewatch found across members ${r['net_hourly_commitment_usd']:,.3f}/hour"
        )
    if len(out) == 2:
        out.append("  no SageMaker Savings Plan, no spend covered, and no recommendation")
    return out


def render_table(report: OrgCostReport) -> str:
    t, trend = report.totals, report.trend
    change = trend["change_pct"]
    lines = [
        f"Organization cost {report.period['start'] or '?'} .. {report.period['end'] or '?'}: "
        f"{money(t['cost_usd'], cents=True)}, {money(t['waste_usd'], cents=True)} wasted"
        + (f" ({t['waste_share']:.0%})" if t["waste_share"] is not None else "")
        + f"; {t['members']} members in {t['accounts']} accounts and {t['regions']} regions.",
        "Trend: "
        + (
            f"{change:+.1f}% against the week before ({trend['members_compared']} members compared)."
            if change is not None
            else "no earlier week to compare with."
        ),
    ]
    for title, rows in (
        ("Account", report.by_account()),
        ("Region", report.by_region()),
        ("Family", report.by_family()),
    ):
        lines += ["", f"{title:<36} {'cost':>12} {'waste':>12} {'findings':>9}"]
        for r in rows:
            label = bounded(f"{r.name} ({r.key})" if r.name else r.key, 36)
            found = "" if r.findings is None else str(r.findings)
            lines.append(
                f"{label:<36} {money(r.cost_usd, cents=True):>12} {money(r.waste_usd, cents=True):>12} {found:>9}"
            )
    lines += _commitment_lines(report.commitments)
    lines += ["", "Top endpoints"]
    for e in report.top_endpoints():
        lines.append(
            f"  {money(e['cost_usd'], cents=True):>12}  {e['account']}/{e['region']} {bounded(e['endpoint'], 80)}"
            f" ({e['instance_type'] or 'serverless'}), waste {money(e['waste_usd'], cents=True)}"
        )
    if report.missing:
        lines += ["", "No cost summary this week from: " + ", ".join(f"{a}/{r}" for a, r in report.missing)]
    return "\n".join(lines) + "\n"


def _html_table(title: str, head: list[str], rows: list[list[str]]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    heads = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<h2>{html.escape(title)}</h2><table><thead><tr>{heads}</tr></thead><tbody>{cells}</tbody></table>"


def render_html(report: OrgCostReport) -> str:
    """Self-contained (no script, no remote asset); every string from a member is escaped."""
    e = html.escape
    t = report.totals

    def rows(items: list[Row]) -> list[list[str]]:
        return [
            [
                e(f"{r.name} ({r.key})" if r.name else r.key),
                money(r.cost_usd, cents=True),
                money(r.waste_usd, cents=True),
                "" if r.waste_share is None else f"{r.waste_share:.0%}",
                "" if r.findings is None else str(r.findings),
            ]
            for r in items
        ]

    head = ["", "cost", "waste", "waste share", "open findings"]
    body = [
        f"<h1>sagewatch organization cost, {e(str(report.period['start']))} to {e(str(report.period['end']))}</h1>",
        f"<p>{e(render_table(report).splitlines()[0])}<br>{e(render_table(report).splitlines()[1])}</p>",
        _html_table("Per account", head, rows(report.by_account())),
        _html_table("Per region", head, rows(report.by_region())),
        _html_table("Per instance family", head, rows(report.by_family())),
        _html_table(
            "Top endpoints",
            ["account", "region", "endpoint", "instance type", "cost", "waste"],
            [
                [
                    e(report.names.get(x["account"]) or x["account"]),
                    e(x["region"]),
                    e(x["endpoint"]),
                    e(x["instance_type"] or "serverless"),
                    money(x["cost_usd"], cents=True),
                    money(x["waste_usd"], cents=True),
                ]
                for x in report.top_endpoints()
            ],
        ),
    ]
    if report.missing:
        body.append(
            "<p>No cost summary this week from: " + e(", ".join(f"{a}/{r}" for a, r in report.missing)) + "</p>"
        )
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:first-child{text-align:left}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sagewatch organization cost</title>'
        f"<style>{style}</style></head><body>{''.join(body)}<p>{t['members']} members.</p></body></html>\n"
    )


def org_cost_summary(report: OrgCostReport, bucket: str, keys: Mapping[str, str]) -> dict[str, Any]:
    """The digest document of the organization report (what OrgCostNotice renders)."""
    return {
        "schema": ORG_COST_SUMMARY_SCHEMA,
        "period": report.period,
        "totals": report.totals,
        "trend": report.trend,
        "by_account": [r.to_dict() for r in report.by_account()[:10]],
        "top_endpoints": report.top_endpoints()[:5],
        "missing": [{"account": a, "region": r} for a, r in report.missing],
        "commitments": commitment_advice.summary(report.commitments),
        "report": {"bucket": bucket, "keys": dict(keys)},
    }
