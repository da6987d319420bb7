"""The scan report: its JSON form (schema sagewatch.scan-report/2) and its human renderings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagewatch import textable
from sagewatch.awsview import NOT_ASKED, unread_section
from sagewatch.bounds import bounded
from sagewatch.cadence import Conclusion
from sagewatch.commands import command_for
from sagewatch.formats import iso_z, money
from sagewatch.hidden import Hidden
from sagewatch.models import SERVING_KINDS, UNPRICED_KINDS, Action, Finding, Kind, ScanError, Severity, Skipped

REPORT_SCHEMA = "sagewatch.scan-report/2"
_SEVERITY_ORDER = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}


@dataclass
class ScanReport:
    account: str | None
    region: str
    generated_at: datetime
    endpoints: int
    variants: int
    inference_components: int
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    fleet_monthly_cost_usd: float = 0.0
    windows: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, Any] = field(default_factory=dict)
    catalog: dict[str, str] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)  # every endpoint listed, judged or not
    # Compute Optimizer's idle view beside sagewatch's (sagewatch.awsview.annotate); None: not asked
    aws_view: dict[str, Any] | None = None
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # tags of the judged endpoints
    hidden: list[Hidden] = field(default_factory=list)  # tagged sagewatch:ignore=true, with their cost
    endpoint_costs: dict[str, float | None] = field(default_factory=dict)  # judged endpoints' monthly cost
    warnings: list[str] = field(default_factory=list)  # what a reader must know to trust the figures
    # (creation, last modification) of every judged endpoint: whose CloudTrail events are whose
    endpoint_times: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    # the scanning account's stack has its remediation function: commands invoke it (else they carry --local)
    remediation_function: bool = False
    # hourly or deep (sagewatch.cadence): when the carried findings were concluded, how many series were read
    cadence: dict[str, Any] = field(default_factory=dict)
    # what this scan concluded of each endpoint it judged in full, for the state table (not in the JSON)
    concluded: dict[str, Conclusion] = field(default_factory=dict)

    @property
    def judged(self) -> set[str]:
        """Endpoints judged in full this scan."""
        return set(self.tags) - {e.endpoint for e in self.errors if e.endpoint}

    @property
    def complete(self) -> bool:
        """No scan-wide error (metrics or component listing): absence of a finding means something."""
        return not any(e.endpoint is None for e in self.errors)

    def sorted_findings(self) -> list[Finding]:
        return sorted(
            self.findings,
            key=lambda f: (
                _SEVERITY_ORDER[f.severity],
                -(f.monthly_savings_usd or 0),
                f.endpoint,
                f.variant or "",
            ),
        )

    @property
    def monthly_savings_usd(self) -> float:
        return round(sum(f.monthly_savings_usd or 0.0 for f in self.findings), 2)

    def counts_by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.kind.value] = counts.get(f.kind.value, 0) + 1
        return counts

    def _with_command(self, finding: Finding) -> dict[str, Any]:
        doc = finding.to_dict()
        doc["recommendation"]["command"] = command_for(finding, self.region, local=not self.remediation_function)
        return doc

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "account": self.account,
            "region": self.region,
            "generated_at": iso_z(self.generated_at, seconds=True),
            "scanned": {
                "endpoints": self.endpoints,
                "variants": self.variants,
                "inference_components": self.inference_components,
            },
            "skipped": [s.to_dict() for s in sorted(self.skipped, key=lambda s: s.endpoint)],
            "hidden": [h.to_dict() for h in self.hidden],
            "findings": [self._with_command(f) for f in self.sorted_findings()],
            "errors": [e.to_dict() for e in self.errors],
            "totals": {
                "fleet_monthly_cost_usd": round(self.fleet_monthly_cost_usd, 2),
                "monthly_savings_usd": self.monthly_savings_usd,
                "findings_by_kind": self.counts_by_kind(),
            },
            "windows": self.windows,
            "thresholds": self.thresholds,
            "catalog": self.catalog,
            "warnings": self.warnings,
            "aws_view": self.aws_view or unread_section(NOT_ASKED),
            "cadence": self.cadence,
        }


def _money(value: float | None) -> str:
    return money(value, unknown="?")


FINDING_COLUMNS = [
    "SEVERITY",
    "KIND",
    "ENDPOINT",
    "VARIANT",
    "INSTANCES",
    "P99",
    "COST/MO",
    "CHANGE/MO",
    "OWNER",
    "RECOMMENDATION",
]
FINDING_FIGURES = (5, 6, 7)  # P99, COST/MO, CHANGE/MO: right-aligned
FINDING_LEAD = 4  # the narrow layout's first line: severity, kind, endpoint, variant
FINDING_ALONE = ("OWNER", "RECOMMENDATION")  # long cells: a line of their own in the narrow layout


def finding_row(f: Finding) -> list[str]:
    """One finding as a table row (FINDING_COLUMNS)."""
    target = f.variant or "-"
    if f.inference_component:
        target += f" / {f.inference_component}"
    size = f.size
    rec = f.recommendation
    action = rec.action.value
    if rec.action is Action.SET_SCALING_LIMITS:
        action += f" -> min {rec.min_capacity}, max {rec.max_capacity}"
    elif rec.action is Action.SCHEDULE_SCALING and rec.schedule:
        action += f" -> {rec.schedule.get('min_capacity')} off-hours ({rec.schedule.get('hours_per_week')} h a week)"
    elif f.kind is Kind.QUOTA_RISK:
        action += _quota_ask(f.evidence.get("quota"))
    elif rec.instance_type:
        action += f" -> {rec.instance_count} x {rec.instance_type}"
        if rec.min_capacity is not None:
            action += f" (auto scaling {rec.min_capacity}-{rec.max_capacity})"
    cost, saves = ("-" if f.kind in SERVING_KINDS | UNPRICED_KINDS else _money(f.monthly_cost_usd)), f.saving_cell()
    owner = bounded(f.owner.name, 40) if f.owner.name else "?"
    return [f.severity.value, f.kind.value, f.endpoint, target, size, p99_text(f), cost, saves, owner, action]


def _quota_ask(quota: Any) -> str:
    """A quota-risk finding's ask, in a table cell: the quota raised to what can be reached, or how full it is."""
    if not isinstance(quota, dict) or not all(isinstance(quota.get(k), int | float) for k in ("quota", "can_reach")):
        return ""
    if quota["can_reach"] > quota["quota"]:
        return f" -> quota {quota['quota']:g} to {quota['can_reach']:g}"
    return f" -> quota {quota['quota']:g} ({quota.get('in_use')} in use)"


def p99_text(f: Finding) -> str:
    """The finding's p99 ModelLatency (its evidence), with its target when it has one; "-" when unknown."""
    latency = f.evidence.get("latency")
    p99 = latency.get("p99_ms") if isinstance(latency, dict) else f.evidence.get("after_p99_ms")
    if not isinstance(p99, int | float) or isinstance(p99, bool):
        return "-"
    slo = latency.get("slo_p99_ms") if isinstance(latency, dict) else None
    return f"{p99:.0f} ms" + (f"/{slo:g}" if isinstance(slo, int | float) and not isinstance(slo, bool) else "")


def finding_table(headers: list[str], rows: list[list[str]], width: int | None, *, before: int = 0) -> list[str]:
    """Finding rows (FINDING_COLUMNS after `before` columns of their own) as a table that fits `width`."""
    return textable.table(
        headers,
        rows,
        width=width,
        lead=before + FINDING_LEAD,
        right=[before + i for i in FINDING_FIGURES],
        alone=FINDING_ALONE,
    )


def render_table(report: ScanReport, width: int | None = None) -> str:
    """The report as a terminal table: findings by severity and savings, then skipped and errors. With a
    `width` (the terminal's), every line fits it: a table too wide for it is laid out narrow."""
    lines = [
        f"sagewatch scan of {report.account or 'unknown account'} / {report.region} at "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC: {report.endpoints} endpoints judged"
        # the progress line counted every endpoint listed: say the difference (skipped, ignored) here too
        + (f" of {len(report.listed)} listed" if len(report.listed) != report.endpoints else "")
        + f", {report.variants} variants, {report.inference_components} inference components",
        f"prices: {report.catalog.get('region')} on-demand as of {report.catalog.get('as_of')}"
        + ("" if report.warnings else " (the scanned region's)"),
        *[f"WARNING: {w}" for w in report.warnings],
        "",
    ]
    findings = report.sorted_findings()
    if findings:
        rows = [finding_row(f) for f in findings]
        lines += finding_table(FINDING_COLUMNS, rows, width)
    else:
        lines.append("No findings.")
    lines += [
        "",
        f"Fleet cost {_money(report.fleet_monthly_cost_usd)}/month; "
        f"{len(findings)} findings could save {_money(report.monthly_savings_usd)}/month.",
    ]
    lines += _aws_view_lines(report.aws_view)
    if report.skipped:
        lines += ["", "Skipped:"]
        lines += [f"  {s.endpoint}: {s.reason}" for s in report.skipped]
    if report.errors:
        lines += ["", "Errors (these endpoints were not judged):"]
        lines += [f"  {e.endpoint or '-'}: {e.operation} {e.code}: {e.message}" for e in report.errors]
    return "\n".join(textable.fit(lines, width))


def _aws_view_lines(view: dict[str, Any] | None) -> list[str]:
    """AWS Compute Optimizer beside sagewatch: where they agree, and each disagreement with sagewatch's reason."""
    if not view:
        return []
    out = _hub_lines(view.get("cost_optimization_hub") or {})
    if view.get("status") != "read":
        note = view.get("note")
        return out if note == "not asked" else ["", f"AWS Compute Optimizer: {bounded(str(note), 200)}.", *out]
    agree, differ = view.get("agree") or [], view.get("disagreements") or []
    head = [
        "",
        f"AWS Compute Optimizer finds {view.get('idle_endpoints')} endpoints idle; it agrees with sagewatch on "
        f"{len(agree)}" + (", differs on:" if differ else "."),
    ]
    for d in differ:
        head.append(
            f"  {d['endpoint']}: AWS says {d['aws']}, sagewatch {d['sagewatch']}: {bounded(str(d['reason']), 300)}"
        )
    return head + out


def _hub_lines(hub: dict[str, Any]) -> list[str]:
    """Cost Optimization Hub's SageMaker endpoint recommendations, each beside what sagewatch finds there."""
    if hub.get("status") != "read":
        note = hub.get("note")
        return [] if not note or note == "not asked" else [f"AWS {bounded(str(note), 200)}."]
    recs = hub.get("recommendations") or []
    if not recs:
        return ["AWS Cost Optimization Hub recommends nothing for these endpoints."]
    out = [f"AWS Cost Optimization Hub recommends acting on {hub.get('count', len(recs))} endpoints:"]
    for r in recs:
        saving = r.get("estimated_monthly_savings_usd")
        saves = f" (saves {money(saving)}/month)" if isinstance(saving, int | float) else ""
        ours = "; ".join(bounded(str(x), 60) for x in r.get("sagewatch") or [])
        out.append(f"  {bounded(str(r['endpoint']), 63)}: {bounded(str(r['action']), 32)}{saves}; sagewatch: {ours}")
    return out
