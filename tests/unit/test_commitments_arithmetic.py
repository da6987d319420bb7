"""Commitments (pure): Cost Explorer's and Savings Plans' answers read as botocore gives them, and the Savings
Plans recommendation net of the waste sagewatch found."""

from datetime import UTC, datetime, timedelta

import pytest

from sagewatch.commitments import (
    CommitmentOptions,
    Commitments,
    Coverage,
    Recommendation,
    Waste,
    coverage_from_api,
    net_of_waste,
    plans_from_api,
    recommendation_from_api,
    summary,
    utilization_from_api,
    waste_of,
)
from sagewatch.costs import CostReport, CostRow, Usage
from sagewatch.timewaste import TimeWaste

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def recommendation(hourly: float | None = 10.0, rate: float | None = 0.64) -> Recommendation:
    return Recommendation(hourly, 2000.0, "1 year", "NO_UPFRONT", 30, rate, 30.0, None)


# --- the net-of-waste arithmetic ---------------------------------------------------------------------------


def test_without_waste_the_recommendation_stands():
    net = net_of_waste(recommendation(), [])
    assert net.net_hourly_commitment_usd == 10.0 and net.excluded == [] and "stands" in net.why


def test_waste_on_demand_comes_off_at_the_plans_rate():
    waste = [Waste("idle-one", "AllTraffic", "idle", 2.0), Waste("big", "AllTraffic", "oversized", 3.0)]
    net = net_of_waste(recommendation(), waste)
    # $5 an hour of on-demand waste is $3.20 of commitment at 64 cents a dollar
    assert net.net_hourly_commitment_usd == pytest.approx(10.0 - 5.0 * 0.64)
    assert [(w["endpoint"], w["hourly_usd"]) for w in net.excluded] == [("big", 3.0), ("idle-one", 2.0)]
    assert net.excluded[0]["hourly_commitment_usd"] == pytest.approx(1.92)
    assert "commits 1 year of payments" in net.why


def test_waste_larger_than_the_recommendation_gives_zero():
    net = net_of_waste(recommendation(hourly=1.0), [Waste("idle", None, "idle", 50.0)])
    assert net.net_hourly_commitment_usd == 0.0 and "Fix the waste first" in net.why


def test_only_the_waste_paid_on_demand_offsets_it():
    """A fleet 75% covered by existing plans: a quarter of each dollar of waste is on demand."""
    covered = Coverage(covered_usd=750.0, on_demand_usd=250.0, total_usd=1000.0)
    net = net_of_waste(recommendation(rate=1.0), [Waste("idle", None, "idle", 4.0)], covered)
    assert net.excluded[0]["hourly_usd"] == 1.0 and net.net_hourly_commitment_usd == 9.0
    fully = Coverage(covered_usd=1000.0, on_demand_usd=0.0, total_usd=1000.0)
    assert net_of_waste(recommendation(), [Waste("idle", None, "idle", 4.0)], fully).net_hourly_commitment_usd == 10


def test_an_unknown_rate_takes_waste_off_dollar_for_dollar():
    net = net_of_waste(recommendation(rate=None), [Waste("idle", None, "idle", 4.0)])
    assert net.net_hourly_commitment_usd == 6.0


def test_no_recommendation_has_no_net_figure():
    net = net_of_waste(recommendation(hourly=None), [Waste("idle", None, "idle", 4.0)])
    assert net.net_hourly_commitment_usd is None


# --- botocore-shaped answers ---------------------------------------------------------------------------------


def coverage_item(covered: str, on_demand: str, total: str) -> dict:
    return {
        "Attributes": {},
        "Coverage": {
            "SpendCoveredBySavingsPlans": covered,
            "OnDemandCost": on_demand,
            "TotalCost": total,
            "CoveragePercentage": "0",
        },
        "TimePeriod": {"Start": "2026-10-24", "End": "2026-11-01"},
    }


def test_coverage_sums_its_months_and_pages():
    pages = [
        {"SavingsPlansCoverages": [coverage_item("100.5", "300", "400.5")], "NextToken": "x"},
        {"SavingsPlansCoverages": [coverage_item("200", "0.0", "200")]},
    ]
    c = coverage_from_api(pages)
    assert (c.covered_usd, c.on_demand_usd, c.total_usd) == (300.5, 300.0, 600.5)
    assert c.coverage_pct == 50.0 and c.on_demand_share == pytest.approx(300 / 600.5)


def test_coverage_ignores_malformed_items_and_none_is_unknown():
    pages = [{"SavingsPlansCoverages": [coverage_item("abc", "1", "2"), {"Coverage": "x"}, "junk"]}]
    c = coverage_from_api(pages)
    assert c.coverage_pct is None and c.on_demand_share is None
    assert coverage_from_api([{"SavingsPlansCoverages": []}]).total_usd is None


def test_utilization_reads_the_total():
    answer = {
        "SavingsPlansUtilizationsByTime": [],
        "Total": {
            "Utilization": {
                "TotalCommitment": "3456",
                "UsedCommitment": "3214.08",
                "UnusedCommitment": "241.92",
                "UtilizationPercentage": "93",
            },
            "Savings": {"NetSavings": "1566", "OnDemandCostEquivalent": "5022"},
        },
    }
    u = utilization_from_api(answer)
    assert (u.utilization_pct, u.unused_usd, u.net_savings_usd) == (93.0, 241.92, 1566.0)
    assert utilization_from_api({"Total": {"Utilization": {"UtilizationPercentage": "NaN"}}}).utilization_pct is None


def plan(plan_id: str, end: datetime, kind: str = "SageMaker", state: str = "active") -> dict:
    return {
        "savingsPlanId": plan_id,
        "savingsPlanArn": f"arn:aws:savingsplans::123456789012:savingsplan/{plan_id}",
        "savingsPlanType": kind,
        "state": state,
        "commitment": "4.8000",
        "termDurationInSeconds": 94608000,
        "paymentOption": "No Upfront",
        "start": (end - timedelta(days=3 * 365)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "end": end.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def test_plans_keep_sagemaker_ones_soonest_end_first_and_call_out_those_ending_within_60_days():
    items = [
        plan("later", NOW + timedelta(days=400)),
        plan("soon", NOW + timedelta(days=35)),
        plan("compute", NOW + timedelta(days=10), kind="Compute"),  # does not cover SageMaker
        plan("queued-soon", NOW + timedelta(days=20), state="queued"),
        {"savingsPlanType": "SageMaker"},  # no id: not a plan
    ]
    plans = plans_from_api(items, NOW)
    assert [p.id for p in plans] == ["queued-soon", "soon", "later"]
    assert [p.ending_soon for p in plans] == [False, True, False]  # only an active plan ends
    assert plans[1].days_left == 35 and plans[1].term == "3 years" and plans[1].commitment_per_hour_usd == 4.8
    assert plans[1].to_dict()["end"] == (NOW + timedelta(days=35)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_recommendation_and_the_plans_discount_from_its_own_figures():
    answer = {
        "Metadata": {"RecommendationId": "r", "GenerationTimestamp": "2026-11-23T00:00:00Z"},
        "SavingsPlansPurchaseRecommendation": {
            "SavingsPlansPurchaseRecommendationDetails": [
                {
                    "EstimatedSPCost": "6840",
                    "EstimatedOnDemandCost": "9896",
                    "CurrentAverageHourlyOnDemandSpend": "28.61",
                }
            ],
            "SavingsPlansPurchaseRecommendationSummary": {
                "HourlyCommitmentToPurchase": "9.5",
                "EstimatedMonthlySavingsAmount": "2140",
                "CurrentOnDemandSpend": "20584",
            },
        },
    }
    r = recommendation_from_api(answer, "THREE_YEARS", "ALL_UPFRONT", "SIXTY_DAYS")
    assert (r.hourly_commitment_usd, r.estimated_monthly_savings_usd) == (9.5, 2140.0)
    assert (r.term, r.payment_option, r.lookback_days) == ("3 years", "ALL_UPFRONT", 60)
    assert r.rate == pytest.approx(6840 / (20584 - 9896), abs=1e-4)
    empty = recommendation_from_api({"SavingsPlansPurchaseRecommendation": {}}, "ONE_YEAR", "NO_UPFRONT", "x")
    assert empty.hourly_commitment_usd is None and empty.rate is None


def test_options_from_flags_and_settings():
    assert CommitmentOptions.parse("3y", "partial-upfront") == CommitmentOptions("THREE_YEARS", "PARTIAL_UPFRONT")
    assert CommitmentOptions.parse("ONE_YEAR", "ALL_UPFRONT").payment_option == "ALL_UPFRONT"
    with pytest.raises(ValueError, match="term"):
        CommitmentOptions.parse("5y", "no-upfront")
    with pytest.raises(ValueError, match="payment option"):
        CommitmentOptions.parse("1y", "heavy")


# --- waste from a cost report --------------------------------------------------------------------------------


def row(endpoint: str, variant: str, cost: float, waste: float, invocations: float) -> CostRow:
    return CostRow(
        "variant", endpoint, variant, None, "ml.m5.xlarge", 1, None, 168.0, cost, cost, None, invocations,
        Usage({}, {}), waste,
    )  # fmt: skip


def test_waste_of_a_report_takes_the_larger_of_unused_capacity_and_waste_in_time_per_variant():
    report = CostReport(
        "123456789012", "us-east-1", NOW, NOW - timedelta(days=7), NOW, 70.0, {},
        [row("idle", "A", 168.0, 168.0, 0), row("big", "A", 336.0, 84.0, 1e6), row("busy", "A", 100.0, 0.0, 1e6)],
    )  # fmt: skip
    report.time_waste = [
        TimeWaste("big", "A", "off-hours", 700.0, 168.0, "nights"),  # more than its unused capacity: it wins
        TimeWaste("idle", "A", "off-hours", 10.0, 2.0, "nights"),
    ]
    found = {(w.endpoint, w.kind): round(w.hourly_usd, 3) for w in waste_of(report)}
    assert found == {("idle", "idle"): 1.0, ("big", "off-hours"): 1.0}


def test_unavailable_commitments_say_why_and_keep_every_key():
    doc = Commitments(False, "Cost Explorer (GetSavingsPlansCoverage): not allowed (AccessDeniedException)").to_dict()
    assert doc["available"] is False and "not allowed" in doc["reason"]
    assert doc["coverage_pct"] is None and doc["plans"] == [] and doc["net_hourly_commitment_usd"] is None
    assert summary(None) is None and summary(Commitments(False, "x"))["available"] is False
