"""Configuration hygiene on hand-made endpoints: serverless provisioned concurrency mostly unused, and shadow
variants left running (sagewatch.rules.hygiene), with the inventory and the cost report that see them."""

from dataclasses import replace
from datetime import timedelta

import pytest

from sagewatch.catalog import Catalog
from sagewatch.costs import build_cost_report, report_windows
from sagewatch.inventory import endpoint_from_api
from sagewatch.metrics import MetricResults, profile_specs, variant_metric
from sagewatch.models import Action, Kind, Severity, Variant
from sagewatch.rules import judge_endpoint
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import NOW, endpoint, hourly, results, variant, windows

PC_RATE = 0.0000048
CATALOG = Catalog.load().with_provisioned_concurrency_rate(PC_RATE)
T = Thresholds()
W = windows(T)
FORTNIGHT = 14 * 24
SLOTS_10 = round(10 * 2048 / 1024 * PC_RATE * 3600 * 730, 2)  # ten 2 GB slots, all month


def pc(ep, var, mean, peak, hours=FORTNIGHT):
    """Hourly ServerlessProvisionedConcurrencyUtilization: `mean` every hour, `peak` as each hour's busiest minute."""
    return (
        (variant_metric(ep, var, "ServerlessProvisionedConcurrencyUtilization", "Average"), hourly(mean, hours)),
        (variant_metric(ep, var, "ServerlessProvisionedConcurrencyUtilization", "Maximum"), hourly(peak, hours)),
    )


def busy(ep, var):
    return results((variant_metric(ep, var, "Invocations", "Sum"), hourly(50, 7 * 24)))


def warm(slots=10, **kw):
    return endpoint("faq", variant("sls", serverless=True, provisioned=slots), **kw)


def found(ep, schedule, main=None, kind=Kind.PROVISIONED_CONCURRENCY):
    main = main if main is not None else busy(ep.name, ep.variants[0].name)
    return [f for f in judge_endpoint(ep, main, CATALOG, T, W, schedule=schedule) if f.kind is kind]


def test_the_schedule_read_asks_for_provisioned_concurrency_use_of_warm_serverless_variants_only():
    specs = profile_specs(
        endpoint("x", variant("sls", serverless=True, provisioned=2), variant("cold", serverless=True))
    )
    assert [(s.name, s.stat, dict(s.dimensions)["VariantName"]) for s in specs] == [
        ("ServerlessProvisionedConcurrencyUtilization", "Average", "sls"),
        ("ServerlessProvisionedConcurrencyUtilization", "Maximum", "sls"),
    ]


def test_mostly_unused_slots_keep_what_the_busiest_minute_used():
    ep = warm(10)
    [f] = found(ep, results(*pc("faq", "sls", 0.06, 0.3)))
    assert f.variant == "sls" and f.recommendation.action is Action.INVESTIGATE
    ev = f.evidence
    assert ev["utilization_pct"] == 6.0 and ev["peak_utilization_pct"] == 30.0
    assert ev["recommended_provisioned_concurrency"] == 3 and ev["provisioned_concurrency"] == 10
    assert f.monthly_cost_usd == SLOTS_10
    assert f.monthly_savings_usd == round(f.monthly_cost_usd - round(f.monthly_cost_usd * 3 / 10, 2), 2)
    assert ev["unused_monthly_cost_usd"] == round(f.monthly_cost_usd * 0.94, 2)
    assert "from 10 to 3" in f.recommendation.summary


def test_hours_without_a_datapoint_count_as_unused_slots():
    # busy 60% of the time for 3 hours a day, nothing published the other 21: 7.5% over the fortnight
    points = [(NOW - timedelta(hours=h), 0.6) for h in range(1, FORTNIGHT + 1) if h % 24 < 3]
    spec_avg = variant_metric("faq", "sls", "ServerlessProvisionedConcurrencyUtilization", "Average")
    spec_max = variant_metric("faq", "sls", "ServerlessProvisionedConcurrencyUtilization", "Maximum")
    [f] = found(warm(4), results((spec_avg, points), (spec_max, [(t, 0.75) for t, _ in points])))
    assert f.evidence["utilization_pct"] == 7.5 and f.evidence["recommended_provisioned_concurrency"] == 3


def test_slots_busy_a_fifth_of_the_time_or_more_are_doing_their_job():
    assert found(warm(), results(*pc("faq", "sls", 0.2, 0.9))) == []


def test_a_busiest_minute_that_used_every_slot_asks_for_scaling_not_fewer_slots():
    [f] = found(warm(5), results(*pc("faq", "sls", 0.05, 1.0)))
    assert f.evidence["recommended_provisioned_concurrency"] == 5
    assert f.monthly_savings_usd is None and f.severity is Severity.LOW
    assert "DesiredProvisionedConcurrency" in f.recommendation.summary


def test_a_recent_deployment_is_not_judged_on_a_fortnight_it_did_not_run():
    ep = warm(10, modified_ago=timedelta(days=5))
    assert found(ep, results(*pc("faq", "sls", 0.01, 0.1))) == []


def test_a_metric_never_published_is_unknown_not_unused():
    assert found(warm(), results()) == []  # a busy variant whose utilization CloudWatch has no datapoint of


def test_unknown_use_is_never_unused():
    spec = variant_metric("faq", "sls", "ServerlessProvisionedConcurrencyUtilization", "Average")
    assert found(warm(), results(*pc("faq", "sls", 0.01, 0.1)[1:], failed=(spec,))) == []
    assert found(warm(), None) == []  # not read at all (no schedule read): nothing said


def test_without_a_price_it_is_found_unpriced():
    ep = warm(10)
    plain = Catalog.load()
    [f] = [
        f
        for f in judge_endpoint(ep, busy("faq", "sls"), plain, T, W, schedule=results(*pc("faq", "sls", 0.05, 0.2)))
        if f.kind is Kind.PROVISIONED_CONCURRENCY
    ]
    assert f.monthly_cost_usd is None and f.monthly_savings_usd is None
    assert "ProvisionedConcurrencyUsdPerGbSecond" in f.evidence["note"]


def test_an_idle_warm_variant_is_an_idle_finding_not_this_one():
    ep = warm(10)
    found_all = judge_endpoint(ep, MetricResults(), CATALOG, T, W, schedule=results(*pc("faq", "sls", 0.0, 0.0)))
    assert [f.kind for f in found_all] == [Kind.IDLE]


# --- shadow variants -----------------------------------------------------------------------------

SHADOW = Variant("shadow-candidate", "ml.g5.xlarge", 2)


def shadowed(days=30.0):
    ep = endpoint("ranker", variant("prod", "ml.g5.xlarge", 2), age=timedelta(days=days))
    return replace(ep, shadow_variants=(SHADOW,))


@pytest.mark.parametrize(("days", "expected"), [(30.0, 1), (14.0, 1), (13.5, 0)])
def test_a_shadow_variant_is_found_after_fourteen_days(days, expected):
    fs = found(shadowed(days), None, busy("ranker", "prod"), Kind.SHADOW_VARIANT)
    assert len(fs) == expected


def test_a_shadow_finding_costs_its_instances_and_saves_them_all():
    [f] = found(shadowed(), None, busy("ranker", "prod"), Kind.SHADOW_VARIANT)
    cost = CATALOG.get("ml.g5.xlarge").monthly_cost(2)
    assert f.variant == "shadow-candidate" and f.instance_type == "ml.g5.xlarge" and f.instance_count == 2
    assert f.monthly_cost_usd == f.monthly_savings_usd == cost
    assert f.evidence["production_variants"] == ["prod"] and f.evidence["days_running"] == 30.0
    assert "ShadowProductionVariants" in f.recommendation.summary


def test_an_idle_endpoint_with_a_shadow_saves_the_shadow_too():
    ep = shadowed()
    [f] = judge_endpoint(ep, MetricResults(), CATALOG, T, W)
    assert f.kind is Kind.IDLE and f.recommendation.action is Action.DELETE_ENDPOINT
    assert f.monthly_savings_usd == round(2 * CATALOG.get("ml.g5.xlarge").monthly_cost(2), 2)


def test_the_inventory_reads_shadow_variants_with_their_config():
    description = {
        "EndpointName": "ranker",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ranker",
        "EndpointConfigName": "ranker-config",
        "EndpointStatus": "InService",
        "CreationTime": NOW,
        "ProductionVariants": [{"VariantName": "prod", "CurrentInstanceCount": 2}],
        "ShadowProductionVariants": [{"VariantName": "shadow-candidate", "CurrentInstanceCount": 1}],
    }
    config = {
        "ProductionVariants": [{"VariantName": "prod", "InstanceType": "ml.g5.xlarge", "ModelName": "m"}],
        "ShadowProductionVariants": [
            {"VariantName": "shadow-candidate", "InstanceType": "ml.g5.2xlarge", "ModelName": "m2"}
        ],
    }
    ep = endpoint_from_api(description, config, {}, {})
    assert [(v.name, v.instance_type, v.instance_count) for v in ep.variants] == [("prod", "ml.g5.xlarge", 2)]
    assert [(v.name, v.instance_type, v.instance_count) for v in ep.shadow_variants] == [
        ("shadow-candidate", "ml.g5.2xlarge", 1)
    ]


def test_the_cost_report_costs_a_shadow_and_never_calls_it_waste():
    windows_ = report_windows(NOW, 1)
    report = build_cost_report(
        [shadowed()],
        {},
        MetricResults(),
        CATALOG,
        windows_,
        target_utilization_pct=70,
        generated_at=NOW,
        region="us-east-1",
        account=None,
    )
    rows = {(r.level, r.variant): r for r in report.rows}
    shadow = rows[("variant", "shadow-candidate")]
    assert shadow.shadow and shadow.invocations is None and shadow.waste_usd is None
    assert shadow.monthly_cost_usd == CATALOG.get("ml.g5.xlarge").monthly_cost(2)
    whole = rows[("endpoint", None)]
    assert whole.monthly_cost_usd == round(2 * shadow.monthly_cost_usd, 2)
    assert report.to_dict()["rows"][2]["shadow"] is True
