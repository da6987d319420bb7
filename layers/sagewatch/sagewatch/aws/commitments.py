"""What the account has committed to and is advised to commit to (sagewatch.commitments judges it): Savings
Plans' DescribeSavingsPlans and Cost Explorer's Savings Plans coverage, utilization and purchase recommendation.

Cost Explorer charges $0.01 a request: at most MAX_CE_REQUESTS a report, and the answers are kept for a day
(the state table for the weekly function, a file for the CLI), so a report run again the same day costs nothing.
Denied, not enabled, or no data: the report says so (`available: false`, `reason`), and nothing else changes.
Cost Explorer and Savings Plans have one endpoint each, in us-east-1, whatever region is scanned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import error_code
from sagewatch.aws.serving import DENIED, DailyCache, kept_for_the_day
from sagewatch.commitments import (
    SAGEMAKER_PLAN,
    SERVICE,
    CommitmentOptions,
    Commitments,
    Waste,
    coverage_from_api,
    net_of_waste,
    plans_from_api,
    recommendation_from_api,
    utilization_from_api,
)

if TYPE_CHECKING:
    from mypy_boto3_ce import CostExplorerClient
    from mypy_boto3_savingsplans import SavingsPlansClient

MAX_CE_REQUESTS = 8  # $0.01 each
PLAN_PAGES = 5
COVERAGE_DAYS = 30
LIVE_STATES = ["active", "queued", "payment-pending"]
# Cost Explorer not enabled (or enabled less than a day ago), or no data for what was asked
NO_DATA = ("DataUnavailableException", "OptInRequiredException", "BillExpirationException")


class _UnavailableError(Exception):
    """A read that cannot be made: its reason is said in the report (and kept for the day, unless it may pass
    at once: a throttle, a timeout)."""

    def __init__(self, reason: str, transient: bool = False):
        super().__init__(reason)
        self.transient = transient


class CommitmentsReader:
    """Reads once a day, then judges against the waste of each report."""

    def __init__(
        self,
        ce: CostExplorerClient,
        savingsplans: SavingsPlansClient,
        cache: DailyCache | None,
        scope: str,
        options: CommitmentOptions | None = None,
    ):
        self.ce = ce
        self.savingsplans = savingsplans
        self.cache = cache
        self.scope = scope
        self.options = options or CommitmentOptions()
        self.ce_requests = 0  # what this reader spent (the bench and the docs' cost figure)

    def commitments(self, now: datetime, waste: Sequence[Waste]) -> Commitments:
        raw, cached_at = kept_for_the_day(self.cache, self.scope, self.options.cache_key, now, lambda: self._read(now))
        return judge(raw, now, waste, self.options, cached_at)

    def _read(self, now: datetime) -> dict[str, Any]:
        """The answers as JSON-ready documents; a part that cannot be read is its reason."""
        raw: dict[str, Any] = {}
        end = now.date()
        start = end - timedelta(days=COVERAGE_DAYS)
        raw["period"] = {"start": start.isoformat(), "end": end.isoformat()}
        try:
            raw["plans"] = self._plans()
        except _UnavailableError as exc:
            raw["plans_error"] = str(exc)
            raw["transient"] = exc.transient
        try:
            period = {"Start": start.isoformat(), "End": end.isoformat()}
            raw["coverage"] = self._pages(
                "GetSavingsPlansCoverage",
                self.ce.get_savings_plans_coverage,
                "NextToken",
                "NextToken",
                TimePeriod=period,
                Granularity="MONTHLY",
                Filter={"Dimensions": {"Key": "SERVICE", "Values": [SERVICE]}},
            )
            arns = [p["savingsPlanArn"] for p in raw.get("plans", []) if p.get("savingsPlanArn")]
            if arns:  # utilization of the SageMaker plans themselves (none: nothing to utilize)
                raw["utilization"] = self._ce(
                    "GetSavingsPlansUtilization",
                    self.ce.get_savings_plans_utilization,
                    TimePeriod=period,
                    Filter={"Dimensions": {"Key": "SAVINGS_PLAN_ARN", "Values": arns[:100]}},
                )
            raw["recommendation"] = self._pages(
                "GetSavingsPlansPurchaseRecommendation",
                self.ce.get_savings_plans_purchase_recommendation,
                "NextPageToken",
                "NextPageToken",
                SavingsPlansType="SAGEMAKER_SP",
                TermInYears=self.options.term,
                PaymentOption=self.options.payment_option,
                LookbackPeriodInDays=self.options.lookback,
            )
        except _UnavailableError as exc:
            raw["ce_error"] = str(exc)
            raw["transient"] = raw.get("transient") or exc.transient
        raw["ce_requests"] = self.ce_requests
        # kept as plain JSON (the day's cache); botocore may answer datetimes
        return dict(json.loads(json.dumps(raw, default=str)))

    def _plans(self) -> list[dict[str, Any]]:
        plans: list[dict[str, Any]] = []
        token = None
        for _ in range(PLAN_PAGES):
            params: dict[str, Any] = {
                "states": LIVE_STATES,
                "filters": [{"name": "savings-plan-type", "values": [SAGEMAKER_PLAN]}],
            }
            if token:
                params["nextToken"] = token
            try:
                page = self.savingsplans.describe_savings_plans(**params)
            except ClientError as exc:
                raise _unavailable("Savings Plans (DescribeSavingsPlans)", exc) from None
            except BotoCoreError as exc:
                raise _UnavailableError(f"Savings Plans could not be read ({type(exc).__name__})", True) from None
            plans += [dict(p) for p in page.get("savingsPlans", [])]
            token = page.get("nextToken")
            if not token:
                break
        return plans

    def _ce(self, what: str, method: Any, **params: Any) -> dict[str, Any]:
        if self.ce_requests >= MAX_CE_REQUESTS:
            raise _UnavailableError(f"Cost Explorer: not read, {MAX_CE_REQUESTS} requests a report at most")
        self.ce_requests += 1
        try:
            return dict(method(**params))
        except ClientError as exc:
            raise _unavailable(f"Cost Explorer ({what})", exc) from None
        except BotoCoreError as exc:
            raise _UnavailableError(f"Cost Explorer could not be read ({type(exc).__name__})", True) from None

    def _pages(self, what: str, method: Any, send: str, receive: str, **params: Any) -> list[dict[str, Any]]:
        pages = [self._ce(what, method, **params)]
        while pages[-1].get(receive) and self.ce_requests < MAX_CE_REQUESTS:
            pages.append(self._ce(what, method, **params, **{send: pages[-1][receive]}))
        return pages


def _unavailable(what: str, exc: ClientError) -> _UnavailableError:
    code = error_code(exc)
    if code in DENIED:
        return _UnavailableError(f"{what}: not allowed ({code})")
    if code in NO_DATA:
        return _UnavailableError(
            f"{what}: no data ({code}: Cost Explorer is not enabled, or was enabled less than a day ago)"
        )
    return _UnavailableError(f"{what}: could not be read ({code})", True)


def judge(
    raw: Mapping[str, Any], now: datetime, waste: Sequence[Waste], options: CommitmentOptions, cached_at: datetime
) -> Commitments:
    """The answers (fresh or kept) against this report's waste."""
    reasons = [str(raw[k]) for k in ("ce_error", "plans_error") if raw.get(k)]
    pages = raw.get("coverage") or []
    coverage = coverage_from_api(pages) if pages else None
    utilization = utilization_from_api(raw["utilization"]) if raw.get("utilization") else None
    plans = plans_from_api(raw.get("plans") or [], now)
    recommendation = None
    net = None
    if raw.get("recommendation"):
        recommendation = recommendation_from_api(
            raw["recommendation"][0], options.term, options.payment_option, options.lookback
        )
        net = net_of_waste(recommendation, waste, coverage)
    notes = []
    if "plans" in raw and not plans:
        notes.append("no SageMaker Savings Plans in this account")
    if plans and utilization is None and not raw.get("ce_error"):
        notes.append("utilization not read")
    return Commitments(
        available=not reasons,
        reason="; ".join(reasons) or None,
        period=raw.get("period"),
        coverage=coverage,
        utilization=utilization,
        plans=plans,
        recommendation=recommendation,
        net=net,
        notes=notes,
        cached_at=cached_at.replace(microsecond=0).isoformat(),
    )
