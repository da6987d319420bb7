"""AWS's own view of idle endpoints (Compute Optimizer's idle recommendations) beside sagewatch's, and why they
differ; and Cost Optimization Hub's SageMakerEndpoint recommendations beside sagewatch's findings (pure).

Compute Optimizer flags a SageMaker endpoint idle from 14 days of its metrics, per endpoint; sagewatch judges
each variant over its own window and knows what Compute Optimizer does not see (a queue an asynchronous
endpoint serves, the traffic inference components carry, a weekly rhythm). Each idle finding says what Compute
Optimizer thinks (`evidence.aws_view`), and the report lists every endpoint on which the two disagree, with
sagewatch's reason in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sagewatch.bounds import bounded, optional
from sagewatch.models import Endpoint, Finding, Kind, Skipped

IDLE = "idle"
NOT_IDLE = "not idle"
NO_RECOMMENDATION = "no recommendation"
NOT_ENROLLED = "not enrolled"
NOT_READ = "not read"
CO_DAYS = 14  # Compute Optimizer needs this many days of metrics before it recommends
LISTED_MAX = 100
TIME_KINDS = (Kind.OFF_HOURS, Kind.BATCH_CANDIDATE)


@dataclass(frozen=True)
class HubView:
    """Cost Optimization Hub's recommendations for this region's SageMaker endpoints, by endpoint name; or why
    it said nothing (not enrolled: the hub is opt-in, per organization or account; denied)."""

    status: str  # "read" | NOT_ENROLLED | NOT_READ
    recommendations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    note: str | None = None


def hub_from_api(pages: Iterable[Mapping[str, Any]], region: str) -> HubView:
    """ListRecommendations' pages (resource type SageMakerEndpoint) -> this region's, by endpoint name; the
    largest saving where the hub has several for one endpoint."""
    out: dict[str, Mapping[str, Any]] = {}
    for page in pages:
        for rec in page.get("items") or []:
            if not isinstance(rec, Mapping) or rec.get("currentResourceType") not in (None, "SageMakerEndpoint"):
                continue
            if rec.get("region") not in (None, region):
                continue
            name = _name(rec.get("resourceArn")) or optional(rec.get("resourceId"), 63)
            if not name:
                continue
            saving, cost = _usd(rec.get("estimatedMonthlySavings")), _usd(rec.get("estimatedMonthlyCost"))
            known = out.get(name)
            if known is not None and (known["estimated_monthly_savings_usd"] or 0) >= (saving or 0):
                continue
            out[name] = {
                "action": bounded(rec.get("actionType") or "?", 32),
                "estimated_monthly_savings_usd": saving,
                "estimated_monthly_cost_usd": cost,
                "recommended": optional(rec.get("recommendedResourceSummary"), 200),
                "source": optional(rec.get("source"), 40),
            }
    return HubView("read", out)


def _usd(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


HUB_NOT_ASKED = HubView(NOT_READ, note="not asked")


def hub_section(hub: HubView, findings: Sequence[Finding]) -> dict[str, Any]:
    """The report's `aws_view.cost_optimization_hub`: each endpoint the hub recommends acting on, with what
    sagewatch finds there (its kinds and actions, or nothing: then sagewatch's reason is in `disagreements` when
    Compute Optimizer agrees with the hub, or it is another kind of advice sagewatch does not give)."""
    section: dict[str, Any] = {"status": hub.status, "note": hub.note, "recommendations": []}
    if hub.status != "read":
        return section
    ours: dict[str, list[Finding]] = {}
    for f in findings:
        ours.setdefault(_key(f.endpoint), []).append(f)
    rows = []
    for name in sorted(hub.recommendations, key=_key):
        mine = ours.get(_key(name), [])
        rows.append(
            {
                "endpoint": name,
                **hub.recommendations[name],
                "sagewatch": sorted({f"{f.kind.value}: {f.recommendation.action.value}" for f in mine})
                or ["no finding"],
            }
        )
    return section | {"recommendations": rows[:LISTED_MAX], "count": len(rows)}


@dataclass(frozen=True)
class AwsIdle:
    """What Compute Optimizer said for the account and region: the endpoints it finds idle, the ones it could not
    judge (its `errors`), or why it said nothing (not enrolled, denied)."""

    status: str  # "read" | NOT_ENROLLED | NOT_READ
    idle: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # endpoint name -> its recommendation
    unjudged: frozenset[str] = frozenset()
    note: str | None = None
    hub: HubView = HUB_NOT_ASKED  # Cost Optimization Hub, read beside Compute Optimizer

    def view_of(self, endpoint: str, age_days: float | None) -> str:
        if self.status != "read":
            return self.status
        if endpoint in self.idle:
            return IDLE
        if endpoint in self.unjudged or (age_days is not None and age_days < CO_DAYS):
            return NO_RECOMMENDATION
        return NOT_IDLE


def idle_from_api(pages: Iterable[Mapping[str, Any]]) -> AwsIdle:
    """GetIdleRecommendations' pages (resource type SageMakerEndpoint) -> the endpoints named, by name."""
    idle: dict[str, Mapping[str, Any]] = {}
    unjudged: set[str] = set()
    for page in pages:
        for rec in page.get("idleRecommendations") or []:
            if not isinstance(rec, Mapping) or rec.get("resourceType") not in (None, "SageMakerEndpoint"):
                continue
            name = _name(rec.get("resourceArn")) or optional(rec.get("resourceId"), 63)
            if not name:
                continue
            saving = rec.get("savingsOpportunity") if isinstance(rec.get("savingsOpportunity"), Mapping) else {}
            monthly = (saving.get("estimatedMonthlySavings") or {}) if isinstance(saving, Mapping) else {}
            value = monthly.get("value") if isinstance(monthly, Mapping) else None
            idle[name] = {
                "finding": bounded(rec.get("finding") or "Idle", 32),
                "description": optional(rec.get("findingDescription"), 300),
                "lookback_days": rec.get("lookBackPeriodInDays")
                if isinstance(rec.get("lookBackPeriodInDays"), int | float)
                else None,
                "estimated_monthly_savings_usd": value if isinstance(value, int | float) else None,
            }
        for error in page.get("errors") or []:
            if isinstance(error, Mapping):
                name = _name(error.get("identifier"))
                if name:
                    unjudged.add(name)
    return AwsIdle("read", idle, frozenset(unjudged - set(idle)))


def _name(arn: object) -> str | None:
    """The endpoint name of an endpoint ARN (arn:aws:sagemaker:region:account:endpoint/NAME; ARNs are lowercase)."""
    text = optional(arn, 400) or ""
    if ":endpoint/" not in text:
        return None
    return text.rsplit(":endpoint/", 1)[1][:63] or None


def _key(name: str) -> str:
    return name.lower()  # SageMaker's ARNs carry endpoint names in lowercase


NOT_ASKED = AwsIdle(NOT_READ, note="not asked")


def unread_section(view: AwsIdle, findings: Sequence[Finding] = ()) -> dict[str, Any]:
    """The report's `aws_view` when Compute Optimizer said nothing (not enrolled, not read, not asked)."""
    return {
        "source": "compute-optimizer",
        "status": view.status,
        "note": view.note,
        "idle_endpoints": None,
        "agree": [],
        "disagreements": [],
        "cost_optimization_hub": hub_section(view.hub, findings),
    }


def annotate(
    findings: Sequence[Finding],
    endpoints: Sequence[Endpoint],
    skipped: Sequence[Skipped],
    view: AwsIdle,
    now: datetime,
) -> tuple[list[Finding], dict[str, Any]]:
    """Every idle finding with `evidence.aws_view`, and the report's `aws_view` section."""
    by_name = {_key(e.name): e for e in endpoints}
    ages = {_key(e.name): (now - e.creation_time).total_seconds() / 86400 for e in endpoints}
    aws = AwsIdle(
        view.status,
        {_key(k): v for k, v in view.idle.items()},
        frozenset(_key(n) for n in view.unjudged),
        view.note,
        view.hub,
    )
    out = []
    for f in findings:
        if f.kind is Kind.IDLE:
            f = replace(
                f, evidence={**f.evidence, "aws_view": aws.view_of(_key(f.endpoint), ages.get(_key(f.endpoint)))}
            )
        out.append(f)
    section = unread_section(view, findings)
    if view.status != "read":
        return out, section
    ours: dict[str, list[Finding]] = {}
    for f in findings:
        ours.setdefault(_key(f.endpoint), []).append(f)
    skipped_by = {_key(s.endpoint): s for s in skipped}
    names = {_key(e.name): e.name for e in endpoints} | {_key(s.endpoint): s.endpoint for s in skipped}
    agree, disagree = [], []
    for key in sorted(set(aws.idle) | {k for k, fs in ours.items() if any(f.kind is Kind.IDLE for f in fs)}):
        mine = ours.get(key, [])
        idle_mine = [f for f in mine if f.kind is Kind.IDLE]
        whole = [f for f in idle_mine if not f.variant and not f.inference_component]
        theirs = aws.view_of(key, ages.get(key))
        if theirs == IDLE and whole:
            agree.append(names.get(key, key))
            continue
        reason = _reason(theirs, mine, by_name.get(key), skipped_by.get(key), ages.get(key))
        disagree.append(
            {
                "endpoint": names.get(key, key),
                "sagewatch": "idle" if whole else ("a variant idle" if idle_mine else "not idle"),
                "aws": theirs,
                "reason": reason,
                "aws_finding": aws.idle.get(key),
            }
        )
    return out, section | {
        "idle_endpoints": len(aws.idle),
        "agree": agree[:LISTED_MAX],
        "disagreements": disagree[:LISTED_MAX],
    }


def _reason(
    theirs: str,
    mine: Sequence[Finding],
    endpoint: Endpoint | None,
    skipped: Skipped | None,
    age_days: float | None,
) -> str:
    """sagewatch's side, in words."""
    if theirs == IDLE:
        return _busy_to_sagewatch(mine, endpoint, skipped)
    return _idle_to_sagewatch(theirs, mine, endpoint, age_days)


def _busy_to_sagewatch(mine: Sequence[Finding], endpoint: Endpoint | None, skipped: Skipped | None) -> str:
    """Compute Optimizer says idle; sagewatch does not (or only part of it)."""
    idle_mine = [f for f in mine if f.kind is Kind.IDLE]
    if skipped is not None:
        return f"sagewatch did not judge it ({bounded(skipped.reason, 120)})"
    if endpoint is None:
        return "sagewatch does not see this endpoint (another region's, deleted, or not listed)"
    if idle_mine:
        parts = ", ".join(sorted({f.variant or f.inference_component or "?" for f in idle_mine}))
        return f"a variant idle beside a busy one: sagewatch flags {parts} only, the others serve traffic"
    if endpoint.is_async:
        return "an asynchronous endpoint serving its queue: its requests arrive through the queue"
    if any(v.inference_components for v in endpoint.variants):
        return "inference components carry its traffic: their invocations are counted per component"
    if any(f.kind in TIME_KINDS for f in mine):
        return "a weekly rhythm: busy in some hours, idle in others (sagewatch says when to scale it down)"
    return "it served requests within sagewatch's idle window (Compute Optimizer reads 14 days)"


def _idle_to_sagewatch(theirs: str, mine: Sequence[Finding], endpoint: Endpoint | None, age: float | None) -> str:
    """sagewatch says idle (the endpoint, or a variant); Compute Optimizer does not."""
    idle_mine = [f for f in mine if f.kind is Kind.IDLE]
    if theirs == NO_RECOMMENDATION and age is not None and age < CO_DAYS:
        return f"younger than Compute Optimizer's {CO_DAYS} days of metrics ({age:.0f} days old)"
    if theirs == NO_RECOMMENDATION:
        return "Compute Optimizer could not judge it (its recommendation lists it as an error)"
    if idle_mine and all(f.variant or f.inference_component for f in idle_mine):
        return "a variant idle beside a busy one: Compute Optimizer judges the whole endpoint, which serves traffic"
    if endpoint is not None and all(v.serverless for v in endpoint.variants):
        return "serverless: provisioned concurrency idle, which Compute Optimizer does not judge"
    return (
        "idle in sagewatch's recent window but busy earlier in Compute Optimizer's 14 days: traffic stopped "
        "recently (a retired model, a moved client)"
    )
