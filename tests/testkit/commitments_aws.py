"""What the commitments section reads, where moto lacks it: Cost Explorer's Savings Plans operations and the
Savings Plans service.

- moto 5.x's Cost Explorer has cost categories and GetCostAndUsage only. Added: GetSavingsPlansCoverage,
  GetSavingsPlansUtilization and GetSavingsPlansPurchaseRecommendation, answering what `set_commitments` stores
  in botocore's shapes (amounts are strings). The rules AWS applies and the test kit applies too ("Cost Explorer
  API reference", each operation's page): a TimePeriod's End after its Start and not in the future
  (ValidationException); GetSavingsPlansUtilization with no Savings Plans to measure answers
  DataUnavailableException; coverage answers one item per month of the period (Granularity MONTHLY), and only
  for the SERVICE the Filter names; the recommendation is for the SavingsPlansType, term, payment option and
  lookback asked (the summary of no usage is an empty details list).
- Savings Plans (`savingsplans`, one global endpoint) is not in moto at all: a backend of its own answers
  DescribeSavingsPlans ("Savings Plans API reference", DescribeSavingsPlans): `states`, the `savings-plan-type`
  filter, maxResults (1-1000) and nextToken.
- `deny(service, code)` makes every call of that service fail as AWS does when IAM or the account refuses it
  (AccessDeniedException; DataUnavailableException: Cost Explorer not enabled).
"""

from __future__ import annotations

import json
import re
import sys
import types
from datetime import UTC, date, datetime, timedelta
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
SAGEMAKER = "Amazon SageMaker"

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _add_cost_explorer_savings_plans()
    _add_savings_plans_service()
    _installed = True


# --- the store (on the backends: moto's reset clears it with everything else) ------------------------------


def _ce_store(account: str = DEFAULT_ACCOUNT) -> dict[str, Any]:
    from moto.ce.models import ce_backends

    backend = ce_backends[account]["aws"]
    store: dict[str, Any] = backend.__dict__.setdefault("_sagewatch_commitments", {})
    return store


def _sp_backend(account: str = DEFAULT_ACCOUNT) -> Any:
    return sys.modules["moto.savingsplans"].savingsplans_backends[account]["aws"]


def set_commitments(
    *,
    monthly_covered_usd: float = 0.0,
    monthly_on_demand_usd: float = 0.0,
    recommendation_hourly_usd: float | None = None,
    recommendation_monthly_savings_usd: float = 0.0,
    discount: float = 0.64,  # what a plan's dollar buys at on-demand prices: 1 / (1 - 36% off)
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """SageMaker spend a month covered by plans and paid on demand, and Cost Explorer's recommendation."""
    _ce_store(account).update(
        covered=monthly_covered_usd,
        on_demand=monthly_on_demand_usd,
        hourly=recommendation_hourly_usd,
        savings=recommendation_monthly_savings_usd,
        discount=discount,
    )


def add_savings_plan(
    plan_id: str,
    *,
    commitment_per_hour: float,
    start: datetime,
    years: int = 1,
    plan_type: str = "SageMaker",
    state: str = "active",
    payment_option: str = "No Upfront",
    region: str = "us-east-1",
    used_share: float = 1.0,  # of the commitment used over the period (GetSavingsPlansUtilization)
    account: str = DEFAULT_ACCOUNT,
) -> str:
    end = start + timedelta(days=365 * years)
    arn = f"arn:aws:savingsplans::{account}:savingsplan/{plan_id}"
    _sp_backend(account).plans.append(
        {
            "offeringId": f"offering-{plan_id}",
            "savingsPlanId": plan_id,
            "savingsPlanArn": arn,
            "description": f"{years} year {payment_option} {plan_type} Savings Plan",
            "start": _iso(start),
            "end": _iso(end),
            "state": state,
            "region": region,
            "savingsPlanType": plan_type,
            "paymentOption": payment_option,
            "productTypes": ["SageMaker"] if plan_type == "SageMaker" else ["EC2", "Fargate", "Lambda"],
            "currency": "USD",
            "commitment": f"{commitment_per_hour:.4f}",
            "upfrontPaymentAmount": "0.0",
            "recurringPaymentAmount": f"{commitment_per_hour:.4f}",
            "termDurationInSeconds": 365 * years * 86400,
            "tags": {},
            "_used_share": used_share,
        }
    )
    return arn


def deny(service: str, code: str = "AccessDeniedException", account: str = DEFAULT_ACCOUNT) -> None:
    """Every call of `service` ("ce" or "savingsplans") fails with `code`."""
    if service == "ce":
        _ce_store(account)["error"] = code
    else:
        _sp_backend(account).error = code


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _error(code: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    messages = {
        "AccessDeniedException": "User is not authorized to perform this operation",
        "DataUnavailableException": "Data is not available. Please try to adjust the time period.",
    }
    return JsonRESTError(code, messages.get(code, code))


# --- Cost Explorer -------------------------------------------------------------------------------------------


def _period(params: dict[str, Any]) -> tuple[date, date]:
    period = params.get("TimePeriod") or {}
    try:
        start, end = date.fromisoformat(period["Start"]), date.fromisoformat(period["End"])
    except (KeyError, TypeError, ValueError):
        raise _validation("TimePeriod needs Start and End as YYYY-MM-DD") from None
    if end <= start:
        raise _validation("End date must be after the Start date")
    if end > datetime.now(UTC).date():
        raise _validation("End date must not be in the future")
    return start, end


def _validation(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ValidationException", message)


def _months(start: date, end: date) -> list[tuple[date, date]]:
    out = []
    at = start
    while at < end:
        nxt = (at.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append((at, min(nxt, end)))
        at = nxt
    return out


def _dimension(params: dict[str, Any], key: str) -> list[str] | None:
    dims = ((params.get("Filter") or {}).get("Dimensions")) or {}
    return list(dims.get("Values") or []) if dims.get("Key") == key else None


def _money(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") if value else "0"


def _add_cost_explorer_savings_plans() -> None:
    from moto.ce.responses import CostExplorerResponse

    CostExplorerResponse.get_savings_plans_coverage = _coverage
    CostExplorerResponse.get_savings_plans_utilization = _utilization
    CostExplorerResponse.get_savings_plans_purchase_recommendation = _recommendation


def ce_requests(account: str = DEFAULT_ACCOUNT) -> int:
    """The Cost Explorer requests answered so far (each is billed $0.01 in a real account)."""
    return int(_ce_store(account).get("requests", 0))


def _checked(self: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    store = _ce_store(self.current_account)
    store["requests"] = store.get("requests", 0) + 1
    if store.get("error"):
        raise _error(store["error"])
    return json.loads(self.body or "{}"), store


def _coverage(self: Any) -> str:
    params, store = _checked(self)
    start, end = _period(params)
    services = _dimension(params, "SERVICE")
    items = []
    for first, last in _months(start, end):
        share = (last - first).days / 30.0
        covered = store.get("covered", 0.0) * share if services in (None, [SAGEMAKER]) else 0.0
        on_demand = store.get("on_demand", 0.0) * share if services in (None, [SAGEMAKER]) else 0.0
        total = covered + on_demand
        items.append(
            {
                "Attributes": {},
                "Coverage": {
                    "SpendCoveredBySavingsPlans": _money(covered),
                    "OnDemandCost": _money(on_demand),
                    "TotalCost": _money(total),
                    "CoveragePercentage": _money(covered / total * 100 if total else 0.0),
                },
                "TimePeriod": {"Start": first.isoformat(), "End": last.isoformat()},
            }
        )
    size = int(params.get("MaxResults") or 20)
    offset = int(params["NextToken"]) if re.fullmatch(r"\d+", str(params.get("NextToken", ""))) else 0
    page: dict[str, Any] = {"SavingsPlansCoverages": items[offset : offset + size]}
    if offset + size < len(items):
        page["NextToken"] = str(offset + size)
    return json.dumps(page)


def _utilization(self: Any) -> str:
    params, _ = _checked(self)
    start, end = _period(params)
    arns = _dimension(params, "SAVINGS_PLAN_ARN")
    plans = [
        p
        for p in _sp_backend(self.current_account).plans
        if p["state"] == "active" and (arns is None or p["savingsPlanArn"] in arns)
    ]
    if not plans:
        raise _error("DataUnavailableException")
    hours = (end - start).days * 24
    total = sum(float(p["commitment"]) * hours for p in plans)
    used = sum(float(p["commitment"]) * hours * p["_used_share"] for p in plans)
    aggregate = {
        "Utilization": {
            "TotalCommitment": _money(total),
            "UsedCommitment": _money(used),
            "UnusedCommitment": _money(total - used),
            "UtilizationPercentage": _money(used / total * 100 if total else 0.0),
        },
        "Savings": {"NetSavings": _money(used / 0.64 - total), "OnDemandCostEquivalent": _money(used / 0.64)},
        "AmortizedCommitment": {
            "AmortizedRecurringCommitment": _money(total),
            "AmortizedUpfrontCommitment": "0",
            "TotalAmortizedCommitment": _money(total),
        },
    }
    return json.dumps({"SavingsPlansUtilizationsByTime": [], "Total": aggregate})


def _recommendation(self: Any) -> str:
    params, store = _checked(self)
    lookback = {"SEVEN_DAYS": 7, "THIRTY_DAYS": 30, "SIXTY_DAYS": 60}.get(params.get("LookbackPeriodInDays"), 0)
    if params.get("TermInYears") not in ("ONE_YEAR", "THREE_YEARS") or not lookback:
        raise _validation("TermInYears and LookbackPeriodInDays are required")
    if params.get("PaymentOption") not in ("NO_UPFRONT", "PARTIAL_UPFRONT", "ALL_UPFRONT"):
        raise _validation("PaymentOption is required")
    found: dict[str, Any] = {
        "AccountScope": params.get("AccountScope", "PAYER"),
        "SavingsPlansType": params.get("SavingsPlansType"),
        "TermInYears": params["TermInYears"],
        "PaymentOption": params["PaymentOption"],
        "LookbackPeriodInDays": params["LookbackPeriodInDays"],
        "SavingsPlansPurchaseRecommendationDetails": [],
    }
    hourly = store.get("hourly")
    if params.get("SavingsPlansType") == "SAGEMAKER_SP" and hourly:
        hours = lookback * 24
        discount = store.get("discount", 0.64)
        covered_od = hourly / discount * hours  # what the commitment pays for, at on-demand prices
        on_demand = store.get("on_demand", 0.0) / 30 * lookback
        left = max(0.0, on_demand - covered_od)
        sp_cost = hourly * hours
        found["SavingsPlansPurchaseRecommendationDetails"] = [
            {
                "SavingsPlansDetails": {"Region": "", "InstanceFamily": "", "OfferingId": "sagemaker-sp"},
                "AccountId": self.current_account,
                "UpfrontCost": "0",
                "EstimatedSPCost": _money(sp_cost),
                "EstimatedOnDemandCost": _money(left),
                "EstimatedOnDemandCostWithCurrentCommitment": _money(on_demand),
                "EstimatedSavingsAmount": _money(on_demand - left - sp_cost),
                "HourlyCommitmentToPurchase": _money(hourly),
                "EstimatedAverageUtilization": "100",
                "EstimatedMonthlySavingsAmount": _money(store.get("savings", 0.0)),
                "CurrentAverageHourlyOnDemandSpend": _money(on_demand / hours),
                "CurrentMaximumHourlyOnDemandSpend": _money(on_demand / hours * 1.3),
                "CurrentMinimumHourlyOnDemandSpend": _money(on_demand / hours * 0.7),
                "CurrencyCode": "USD",
            }
        ]
        found["SavingsPlansPurchaseRecommendationSummary"] = {
            "CurrencyCode": "USD",
            "CurrentOnDemandSpend": _money(on_demand),
            "EstimatedTotalCost": _money(sp_cost + left),
            "EstimatedSavingsAmount": _money(on_demand - left - sp_cost),
            "TotalRecommendationCount": "1",
            "DailyCommitmentToPurchase": _money(hourly * 24),
            "HourlyCommitmentToPurchase": _money(hourly),
            "EstimatedMonthlySavingsAmount": _money(store.get("savings", 0.0)),
            "EstimatedOnDemandCostWithCurrentCommitment": _money(on_demand),
        }
    metadata = {
        "RecommendationId": "rec-sagewatch-testkit",
        "GenerationTimestamp": _iso(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)),
        "AdditionalMetadata": "",
    }
    return json.dumps({"Metadata": metadata, "SavingsPlansPurchaseRecommendation": found})


# --- Savings Plans --------------------------------------------------------------------------------------------

URL_BASE = r"https?://savingsplans\.amazonaws\.com"
SERVER_HOST = r"https?://savingsplans\.(.+)\.amazonaws\.com"


def _add_savings_plans_service() -> None:
    """A moto service of its own: a module `moto.savingsplans` with its BackendDict (reset with moto's), and its
    URL among moto's, so that mock_aws and the stubber route savingsplans.amazonaws.com to it."""
    from moto import backend_index
    from moto.core.base_backend import BackendDict, BaseBackend

    class SavingsPlansBackend(BaseBackend):
        def __init__(self, region_name: str, account_id: str):
            super().__init__(region_name, account_id)
            self.plans: list[dict[str, Any]] = []
            self.error: str | None = None

        @property
        def urls(self) -> dict[str, Any]:  # mock_aws: full URLs
            return {f"{URL_BASE}/DescribeSavingsPlans$": _describe_savings_plans}

        @property
        def url_paths(self) -> dict[str, Any]:  # moto's server (the demo, sam local): paths
            return {"/DescribeSavingsPlans": _describe_savings_plans}

    module = types.ModuleType("moto.savingsplans")
    module.savingsplans_backends = BackendDict(  # type: ignore[attr-defined]
        SavingsPlansBackend, "savingsplans", use_boto3_regions=False, additional_regions=["aws"]
    )
    sys.modules["moto.savingsplans"] = module
    if not any(name == "savingsplans" for name, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(("savingsplans", re.compile(URL_BASE)))
        # moto's server names a signed request's host service.region.amazonaws.com
        backend_index.backend_url_patterns.append(("savingsplans", re.compile(SERVER_HOST)))


def _describe_savings_plans(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    from moto.core.responses import BaseResponse

    call = BaseResponse(service_name="savingsplans")
    call.setup_class(request, full_url, headers)
    backend = _sp_backend(call.get_current_account())
    if backend.error:
        code = backend.error
        return 400, {"x-amzn-ErrorType": code}, json.dumps({"__type": code, "message": code})
    params = json.loads(call.body or "{}")
    size = int(params.get("maxResults") or 1000)
    if not 1 <= size <= 1000:
        return 400, {"x-amzn-ErrorType": "ValidationException"}, json.dumps({"message": "maxResults 1-1000"})
    states = set(params.get("states") or [])
    wanted: dict[str, set[str]] = {f["name"]: set(f.get("values") or []) for f in params.get("filters") or []}
    plans = [
        {k: v for k, v in p.items() if not k.startswith("_")}
        for p in backend.plans
        if (not states or p["state"] in states)
        and ("savings-plan-type" not in wanted or p["savingsPlanType"] in wanted["savings-plan-type"])
    ]
    offset = int(params["nextToken"]) if re.fullmatch(r"\d+", str(params.get("nextToken", ""))) else 0
    page: dict[str, Any] = {"savingsPlans": plans[offset : offset + size]}
    if offset + size < len(plans):
        page["nextToken"] = str(offset + size)
    return 200, {"Content-Type": "application/json"}, json.dumps(page)
