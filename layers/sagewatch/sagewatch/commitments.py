"""What the account has committed to (SageMaker Savings Plans) and what it is advised to commit to, net of the
waste sagewatch found (pure).

Cost Explorer's SageMaker Savings Plans recommendation is computed from past on-demand spend, waste included:
buying it commits to paying for idle and oversized endpoints for one or three years. sagewatch takes the on-demand
spend of the waste it found out of that commitment (`net_hourly_commitment_usd`), and says what it took out.

Everything here is read from other systems' answers (Cost Explorer, Savings Plans): each value is type-checked
where it is read, numbers arrive as strings, and a missing or malformed one is unknown (None), never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sagewatch.bounds import bounded, optional

if TYPE_CHECKING:
    from sagewatch.costs import CostReport

SCHEMA_VERSION = 1
ENDING_SOON_DAYS = 60  # a plan that ends within this many days is called out
HOURS_A_MONTH = 730.0
TERMS = {"ONE_YEAR": "1 year", "THREE_YEARS": "3 years"}
PAYMENT_OPTIONS = ("NO_UPFRONT", "PARTIAL_UPFRONT", "ALL_UPFRONT")
LOOKBACKS = {"SEVEN_DAYS": 7, "THIRTY_DAYS": 30, "SIXTY_DAYS": 60}
PLANS_LISTED_MAX = 50
WASTE_LISTED_MAX = 50
SAGEMAKER_PLAN = "SageMaker"  # DescribeSavingsPlans' savingsPlanType; Compute plans do not cover SageMaker
SERVICE = "Amazon SageMaker"  # Cost Explorer's SERVICE dimension value


# the options as flags and settings say them -> Cost Explorer's values
TERM_CHOICES = {"1y": "ONE_YEAR", "3y": "THREE_YEARS"}
PAYMENT_CHOICES = {"no-upfront": "NO_UPFRONT", "partial-upfront": "PARTIAL_UPFRONT", "all-upfront": "ALL_UPFRONT"}


@dataclass(frozen=True)
class CommitmentOptions:
    """What Cost Explorer's recommendation is asked for (its API values)."""

    term: str = "ONE_YEAR"
    payment_option: str = "NO_UPFRONT"
    lookback: str = "THIRTY_DAYS"

    @classmethod
    def parse(cls, term: str, payment: str) -> CommitmentOptions:
        """From the short names (1y, no-upfront) or the API's (ONE_YEAR, NO_UPFRONT); ValueError names the bad one."""
        t = TERM_CHOICES.get(term.strip().lower(), term.strip().upper())
        p = PAYMENT_CHOICES.get(payment.strip().lower(), payment.strip().upper())
        if t not in TERMS:
            raise ValueError(f"the Savings Plans term must be one of {', '.join(TERM_CHOICES)}, got {term[:20]!r}")
        if p not in PAYMENT_OPTIONS:
            raise ValueError(
                f"the Savings Plans payment option must be one of {', '.join(PAYMENT_CHOICES)}, got {payment[:20]!r}"
            )
        return cls(t, p)

    @property
    def cache_key(self) -> str:
        return f"commitments/{self.term}/{self.payment_option}/{self.lookback}"


def _number(value: object) -> float | None:
    """A Cost Explorer amount (a string such as "12.3456") or a number; None when it is neither or not finite."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _pct(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(max(0.0, min(100.0, part / whole * 100)), 1)


@dataclass(frozen=True)
class Coverage:
    """GetSavingsPlansCoverage over the period, SageMaker only, summed over its time periods."""

    covered_usd: float | None
    on_demand_usd: float | None
    total_usd: float | None

    @property
    def coverage_pct(self) -> float | None:
        return _pct(self.covered_usd, self.total_usd)

    @property
    def on_demand_share(self) -> float | None:
        """The part of SageMaker spend paid on demand (what a new plan, or removing waste, changes)."""
        if self.on_demand_usd is None or not self.total_usd:
            return None
        return max(0.0, min(1.0, self.on_demand_usd / self.total_usd))


def coverage_from_api(pages: Iterable[Mapping[str, Any]]) -> Coverage:
    covered = on_demand = total = 0.0
    seen = False
    for page in pages:
        for item in _items(page.get("SavingsPlansCoverages")):
            data = _mapping(item.get("Coverage"))
            values = [_number(data.get(k)) for k in ("SpendCoveredBySavingsPlans", "OnDemandCost", "TotalCost")]
            if any(v is None for v in values):
                continue
            c, o, t = (float(v or 0.0) for v in values)
            covered, on_demand, total, seen = covered + c, on_demand + o, total + t, True
    if not seen:
        return Coverage(None, None, None)
    return Coverage(round(covered, 2), round(on_demand, 2), round(total, 2))


@dataclass(frozen=True)
class Utilization:
    """GetSavingsPlansUtilization's Total over the period, SageMaker plans only."""

    utilization_pct: float | None
    commitment_usd: float | None
    used_usd: float | None
    unused_usd: float | None
    net_savings_usd: float | None


def utilization_from_api(answer: Mapping[str, Any]) -> Utilization:
    total = _mapping(answer.get("Total"))
    use = _mapping(total.get("Utilization"))
    savings = _mapping(total.get("Savings"))
    pct = _number(use.get("UtilizationPercentage"))
    return Utilization(
        utilization_pct=None if pct is None else round(max(0.0, min(100.0, pct)), 1),
        commitment_usd=_money(_number(use.get("TotalCommitment"))),
        used_usd=_money(_number(use.get("UsedCommitment"))),
        unused_usd=_money(_number(use.get("UnusedCommitment"))),
        net_savings_usd=_money(_number(savings.get("NetSavings"))),
    )


def _instant(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed
    return None


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return ts.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _term(seconds: object) -> str | None:
    value = _number(seconds)
    if value is None or value <= 0:
        return None
    years = value / (365 * 86400)
    return f"{round(years)} year{'s' if round(years) != 1 else ''}" if abs(years - round(years)) < 0.05 else None


@dataclass(frozen=True)
class Plan:
    id: str
    arn: str | None
    commitment_per_hour_usd: float | None
    term: str | None
    payment_option: str | None
    state: str
    start: str | None
    end: str | None
    days_left: int | None

    @property
    def ending_soon(self) -> bool:
        return self.state == "active" and self.days_left is not None and self.days_left <= ENDING_SOON_DAYS

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ending_soon": self.ending_soon}


def plans_from_api(items: Iterable[Mapping[str, Any]], now: datetime) -> list[Plan]:
    """SageMaker Savings Plans from DescribeSavingsPlans' `savingsPlans` items, soonest end first (others dropped:
    a Compute or EC2 Instance plan does not apply to SageMaker usage)."""
    plans = []
    for item in items:
        if not isinstance(item, Mapping) or item.get("savingsPlanType") != SAGEMAKER_PLAN:
            continue
        plan_id = optional(item.get("savingsPlanId"), 64)
        if not plan_id:
            continue
        end = _instant(item.get("end"))
        days_left = None
        if end is not None and end.tzinfo is not None:
            days_left = max(0, math.ceil((end - now) / timedelta(days=1)))
        plans.append(
            Plan(
                id=plan_id,
                arn=optional(item.get("savingsPlanArn"), 256),
                commitment_per_hour_usd=_number(item.get("commitment")),
                term=_term(item.get("termDurationInSeconds")),
                payment_option=optional(item.get("paymentOption"), 32),
                state=bounded(item.get("state") or "?", 32),
                start=_iso(_instant(item.get("start"))),
                end=_iso(end),
                days_left=days_left,
            )
        )
    return sorted(plans, key=lambda p: (p.days_left is None, p.days_left or 0, p.id))


@dataclass(frozen=True)
class Recommendation:
    """GetSavingsPlansPurchaseRecommendation for SAGEMAKER_SP: what Cost Explorer advises, from past on-demand
    spend (waste included)."""

    hourly_commitment_usd: float | None
    estimated_monthly_savings_usd: float | None
    term: str
    payment_option: str
    lookback_days: int
    # commitment dollars per on-demand dollar it covers (the plan's discount), from the recommendation's own
    # figures; None when they do not say
    rate: float | None
    average_hourly_on_demand_usd: float | None
    generated_at: str | None


def recommendation_from_api(answer: Mapping[str, Any], term: str, payment: str, lookback: str) -> Recommendation:
    found = _mapping(answer.get("SavingsPlansPurchaseRecommendation"))
    summary = _mapping(found.get("SavingsPlansPurchaseRecommendationSummary"))
    details = _items(found.get("SavingsPlansPurchaseRecommendationDetails"))
    hourly = _number(summary.get("HourlyCommitmentToPurchase"))
    on_demand = _number(summary.get("CurrentOnDemandSpend"))
    # what the commitment covers at on-demand prices = spend now - what stays on demand
    left = sum(_number(d.get("EstimatedOnDemandCost")) or 0.0 for d in details)
    sp_cost = sum(_number(d.get("EstimatedSPCost")) or 0.0 for d in details)
    rate = None
    if on_demand and sp_cost > 0 and on_demand - left > 0:
        rate = round(max(0.05, min(1.0, sp_cost / (on_demand - left))), 4)
    average = sum(_number(d.get("CurrentAverageHourlyOnDemandSpend")) or 0.0 for d in details) or None
    return Recommendation(
        hourly_commitment_usd=None if hourly is None else round(hourly, 3),
        estimated_monthly_savings_usd=_money(_number(summary.get("EstimatedMonthlySavingsAmount"))),
        term=TERMS.get(term, term),
        payment_option=payment,
        lookback_days=LOOKBACKS.get(lookback, 30),
        rate=rate,
        average_hourly_on_demand_usd=None if average is None else round(average, 3),
        generated_at=optional(_mapping(answer.get("Metadata")).get("GenerationTimestamp"), 64),
    )


@dataclass(frozen=True)
class Waste:
    """On-demand spend sagewatch found wasted, per hour: what a commitment should not be sized to pay for."""

    endpoint: str
    variant: str | None
    kind: str  # idle | oversized | off-hours
    hourly_usd: float
    account: str | None = None  # an organization's report: whose endpoint
    region: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What a member forwards in its cost summary (sagewatch.weekly), for the organization's report."""
        return {
            "endpoint": self.endpoint,
            "variant": self.variant,
            "kind": self.kind,
            "hourly_usd": round(self.hourly_usd, 4),
        }


def waste_of(report: CostReport) -> list[Waste]:
    """The on-demand spend a cost report found wasted, per variant and hour: an idle variant's whole cost, an
    oversized one's unused share at its right size, or the hours it serves nothing in (off-hours, batch), whichever
    is larger (they overlap: never both)."""
    hours = report.days * 24
    found: dict[tuple[str, str | None], Waste] = {}
    for row in report.rows:
        if row.level != "variant" or not row.waste_usd or not row.hours:
            continue
        kind = "idle" if row.invocations == 0 else "oversized"
        found[(row.endpoint, row.variant)] = Waste(row.endpoint, row.variant, kind, row.waste_usd / row.hours)
    for item in report.time_waste:
        if not item.period_usd or not hours:
            continue
        hourly = item.period_usd / hours
        key = (item.endpoint, item.variant)
        if key not in found or found[key].hourly_usd < hourly:
            found[key] = Waste(item.endpoint, item.variant, item.kind, hourly)
    return sorted(found.values(), key=lambda w: (-w.hourly_usd, w.endpoint, w.variant or ""))


@dataclass(frozen=True)
class NetCommitment:
    net_hourly_commitment_usd: float | None
    excluded: list[dict[str, Any]]
    excluded_hourly_usd: float
    why: str


def net_of_waste(
    recommendation: Recommendation, waste: Sequence[Waste], coverage: Coverage | None = None
) -> NetCommitment:
    """The recommended commitment with the waste taken out, never below 0.

    Only the waste paid on demand offsets it: the recommendation is sized on on-demand spend, and spend existing
    plans already cover is not in it (the share comes from coverage; all of it when coverage is unknown). A dollar
    of on-demand waste takes `rate` dollars of commitment out (the plan's discount, from the recommendation)."""
    share = coverage.on_demand_share if coverage is not None else None
    share = 1.0 if share is None else share
    rate = recommendation.rate if recommendation.rate is not None else 1.0
    excluded = []
    total = 0.0
    for w in sorted(waste, key=lambda w: (-w.hourly_usd, w.endpoint, w.variant or "")):
        on_demand = w.hourly_usd * share
        if on_demand <= 0:
            continue
        total += on_demand
        where = {"account": w.account, "region": w.region} if w.account else {}
        excluded.append(
            {
                **where,
                "endpoint": w.endpoint,
                "variant": w.variant,
                "kind": w.kind,
                "hourly_usd": round(on_demand, 4),
                "hourly_commitment_usd": round(on_demand * rate, 4),
            }
        )
    hourly = recommendation.hourly_commitment_usd
    if hourly is None:
        return NetCommitment(None, excluded[:WASTE_LISTED_MAX], round(total, 4), "Cost Explorer recommends nothing")
    net = round(max(0.0, hourly - total * rate), 3)
    if not excluded:
        why = "sagewatch found no waste paid on demand: the recommendation stands as it is."
    elif net == 0:
        why = (
            f"The waste sagewatch found (${total:,.2f} an hour on demand) is at least what the recommendation "
            f"covers: buying ${hourly:,.3f} an hour would commit {recommendation.term} of payments to endpoints "
            "that should be deleted, downsized or scaled down. Fix the waste first, then ask again."
        )
    else:
        why = (
            f"Cost Explorer sizes its ${hourly:,.3f} an hour on past spend that includes ${total:,.2f} an hour of "
            f"waste sagewatch found: buying the larger figure commits {recommendation.term} of payments to it. "
            f"Commit ${net:,.3f} an hour, fix the waste, and ask again."
        )
    return NetCommitment(net, excluded[:WASTE_LISTED_MAX], round(total, 4), why)


@dataclass
class Commitments:
    """The cost report's `commitments` object. `available` false: Cost Explorer or Savings Plans could not be
    read (denied, not enabled), and `reason` says so; the rest of the report is unchanged."""

    available: bool
    reason: str | None = None
    period: dict[str, str] | None = None
    coverage: Coverage | None = None
    utilization: Utilization | None = None
    plans: list[Plan] = field(default_factory=list)
    recommendation: Recommendation | None = None
    net: NetCommitment | None = None
    notes: list[str] = field(default_factory=list)  # a part that could not be read, said
    cached_at: str | None = None

    @property
    def ending_soon(self) -> list[Plan]:
        return [p for p in self.plans if p.ending_soon]

    def to_dict(self) -> dict[str, Any]:
        """Every key always present (null: not read); what could be read is kept even when `available` is false."""
        cov, use = self.coverage, self.utilization
        recommendation = None
        if self.recommendation is not None:
            r, net = self.recommendation, self.net
            recommendation = {
                "savings_plans_type": "SAGEMAKER_SP",
                "hourly_commitment_usd": r.hourly_commitment_usd,
                "estimated_monthly_savings_usd": r.estimated_monthly_savings_usd,
                "term": r.term,
                "payment_option": r.payment_option,
                "lookback_days": r.lookback_days,
                "average_hourly_on_demand_usd": r.average_hourly_on_demand_usd,
                "generated_at": r.generated_at,
                "net_hourly_commitment_usd": net.net_hourly_commitment_usd if net else r.hourly_commitment_usd,
                "waste_excluded_hourly_usd": net.excluded_hourly_usd if net else 0.0,
                "waste_excluded": net.excluded if net else [],
                "why": net.why if net else None,
            }
        net = self.net
        return {
            "available": self.available,
            "reason": self.reason,
            "period": self.period,
            "coverage_pct": cov.coverage_pct if cov else None,
            "utilization_pct": use.utilization_pct if use else None,
            "covered_usd": cov.covered_usd if cov else None,
            "on_demand_usd": cov.on_demand_usd if cov else None,
            "total_usd": cov.total_usd if cov else None,
            "unused_commitment_usd": use.unused_usd if use else None,
            "net_savings_usd": use.net_savings_usd if use else None,
            "plans": [p.to_dict() for p in self.plans[:PLANS_LISTED_MAX]],
            "ending_soon": [p.id for p in self.ending_soon],
            "recommendation": recommendation,
            # the headline, also in `recommendation`: what to commit once the waste is fixed, and why
            "net_hourly_commitment_usd": recommendation["net_hourly_commitment_usd"] if recommendation else None,
            "waste_excluded": net.excluded if net else [],
            "notes": self.notes,
            "cached_at": self.cached_at,
        }


def summary(commitments: Commitments | None) -> dict[str, Any] | None:
    """The weekly digest's part: coverage, utilization, the plans ending soon, the advice and its net figure."""
    if commitments is None:
        return None
    doc = commitments.to_dict()
    r = doc["recommendation"] or {}
    return {
        "available": doc["available"],
        "reason": doc["reason"],
        "coverage_pct": doc["coverage_pct"],
        "utilization_pct": doc["utilization_pct"],
        "plans": len(doc["plans"]),
        "ending_soon": [
            {k: p[k] for k in ("id", "end", "days_left", "commitment_per_hour_usd")}
            for p in doc["plans"]
            if p["ending_soon"]
        ],
        "hourly_commitment_usd": r.get("hourly_commitment_usd"),
        "net_hourly_commitment_usd": r.get("net_hourly_commitment_usd"),
        "waste_excluded_hourly_usd": r.get("waste_excluded_hourly_usd"),
        "term": r.get("term"),
    }
