"""Is it fast enough? The latency rules at their edges (pure): the target from the tag or the default, 99
versus 100 requests, just over the target, 79% versus 80% of it for right-sizing, what the recommendation
says, and inference components."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sagewatch.catalog import Catalog
from sagewatch.metrics import component_metric, utilization_metric, variant_metric
from sagewatch.models import Action, Kind, Severity
from sagewatch.rules import judge_endpoint, latency_target
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import NOW, endpoint, hourly, results, variant, windows

CATALOG = Catalog.load()
WEEK = 7 * 24


def judge(ep, res, slo: float = 0.0):
    t = Thresholds(latency_p99_ms=slo)
    return judge_endpoint(ep, res, CATALOG, t, windows(t))


def served(name, var="AllTraffic", *, per_hour=10.0, p50_ms=40.0, p99_ms=90.0, overhead_ms=None, hours=24):
    """Requests and ModelLatency percentiles (µs, as CloudWatch answers) over the last `hours`."""
    pairs = [
        (variant_metric(name, var, "Invocations", "Sum"), hourly(per_hour, hours)),
        (variant_metric(name, var, "ModelLatency", "p50"), hourly(p50_ms * 1000, hours)),
        (variant_metric(name, var, "ModelLatency", "p99"), hourly(p99_ms * 1000, hours)),
    ]
    if overhead_ms is not None:
        pairs.append((variant_metric(name, var, "OverheadLatency", "Average"), hourly(overhead_ms * 1000, hours)))
    return pairs


def slow_ones(findings):
    return [f for f in findings if f.kind is Kind.SLOW]


@pytest.mark.parametrize(("tags", "default", "expected"), [
    ({"sagewatch:latency-p99-ms": "250"}, 0.0, (250.0, None)),
    ({"SageWatch:Latency-P99-Ms": " 80 "}, 500.0, (80.0, None)),  # any case, spaces trimmed; the tag wins
    ({}, 120.0, (120.0, None)),
    ({}, 0.0, (None, None)),
])  # fmt: skip
def test_the_target_comes_from_the_tag_else_the_default(tags, default, expected):
    assert latency_target("ep", tags, default) == expected


@pytest.mark.parametrize("bad", ["fast", "-5", "0", "nan", "inf", ""])
def test_a_bad_tag_is_a_warning_naming_the_endpoint_and_the_tag_never_a_crash(bad):
    target, problem = latency_target("ranker", {"sagewatch:latency-p99-ms": bad}, 200.0)
    assert target == 200.0 and problem is not None
    assert problem.startswith("ranker: tag sagewatch:latency-p99-ms=") and "the default target of 200 ms" in problem


def test_99_requests_give_no_verdict_100_do():
    ep = endpoint("ranker", tags={"sagewatch:latency-p99-ms": "50"})
    assert slow_ones(judge(ep, results(*served("ranker", per_hour=99 / 24)))) == []
    [f] = slow_ones(judge(ep, results(*served("ranker", per_hour=100 / 24))))
    assert f.evidence["latency"]["requests"] == 100 and f.evidence["latency"]["slo_p99_ms"] == 50


def test_just_over_the_target_is_slow_at_it_is_not():
    ep = endpoint("ranker")
    assert slow_ones(judge(ep, results(*served("ranker", per_hour=50, p99_ms=100.0)), slo=100)) == []
    [f] = slow_ones(judge(ep, results(*served("ranker", per_hour=50, p99_ms=100.5)), slo=100))
    latency = f.evidence["latency"]
    assert (latency["p50_ms"], latency["p99_ms"], latency["slo_p99_ms"]) == (40.0, 100.5, 100)
    assert f.severity is Severity.LOW and f.monthly_savings_usd == 0.0
    assert f.recommendation.action is Action.INVESTIGATE and "never a cheaper one" in f.recommendation.summary


@pytest.mark.parametrize(("p99", "severity"), [(124.9, Severity.LOW), (125.0, Severity.MEDIUM), (200.0, Severity.HIGH)])
def test_severity_by_how_far_over(p99, severity):
    [f] = slow_ones(judge(endpoint("ranker"), results(*served("ranker", per_hour=50, p99_ms=p99)), slo=100))
    assert f.severity is severity


def test_without_a_target_there_is_no_verdict():
    assert slow_ones(judge(endpoint("ranker"), results(*served("ranker", per_hour=50, p99_ms=10_000)))) == []


def test_sagemakers_overhead_dominating_is_said():
    res = results(*served("ranker", per_hour=50, p50_ms=5, p99_ms=300, overhead_ms=120))
    [f] = slow_ones(judge(endpoint("ranker"), res, slo=100))
    assert "SageMaker's overhead (OverheadLatency 120 ms" in f.recommendation.summary


def test_a_slow_saturated_variant_gets_more_capacity_never_a_cheaper_instance():
    name = "busy"
    ep = endpoint(name, variant("AllTraffic", "ml.c5.xlarge", 2))
    pairs = served(name, per_hour=500, hours=WEEK)
    pairs += [
        (utilization_metric(name, "AllTraffic", "CPUUtilization"), hourly(97 * 4, WEEK)),
        (utilization_metric(name, "AllTraffic", "MemoryUtilization"), hourly(30, WEEK)),
        (utilization_metric(name, "AllTraffic", "DiskUtilization"), hourly(10, WEEK)),
    ]
    findings = judge(ep, results(*pairs), slo=50)
    saturated = next(f for f in findings if f.kind is Kind.SATURATED)
    [slow] = slow_ones(findings)
    assert slow.recommendation.action in (Action.SCALE_OUT, Action.RESIZE_VARIANT)
    assert slow.recommendation.monthly_cost_usd >= slow.monthly_cost_usd  # more capacity, never less
    assert saturated.recommendation.summary in slow.recommendation.summary


def oversized(name: str, p99_ms: float, tags=None):
    ep = endpoint(name, variant("v", "ml.m5.4xlarge", 3), tags=tags)
    pairs = served(name, "v", per_hour=1000, p99_ms=p99_ms, hours=WEEK)
    pairs += [
        (utilization_metric(name, "v", "CPUUtilization"), hourly(0.12 * 1600, WEEK)),
        (utilization_metric(name, "v", "MemoryUtilization"), hourly(18, WEEK)),
    ]
    return ep, results(*pairs)


def test_right_sizing_holds_back_at_80_percent_of_the_target_not_at_79():
    target = {"sagewatch:latency-p99-ms": "100"}
    [resize] = judge(*oversized("docs", 79.0, target))
    assert resize.recommendation.action is Action.RESIZE_VARIANT and resize.monthly_savings_usd > 0
    assert resize.evidence["latency"]["p99_ms"] == 79.0  # every oversized finding carries its p99
    findings = judge(*oversized("docs", 80.0, target))
    [held] = [f for f in findings if f.kind is Kind.OVERSIZED]
    assert held.recommendation.action is Action.INVESTIGATE and held.monthly_savings_usd == 0.0
    assert "80% of its 100 ms target" in held.evidence["held_back"]
    assert held.evidence["would_save_usd"] == resize.monthly_savings_usd
    assert held.recommendation.summary.startswith("Not proposed: Resize docs/v")


def test_without_a_target_right_sizing_is_as_before_and_shows_the_p99():
    [f] = judge(*oversized("docs", 5000.0))
    assert f.recommendation.action is Action.RESIZE_VARIANT and f.evidence["latency"]["slo_p99_ms"] is None


def test_each_inference_component_is_judged_on_its_own():
    v = variant("AllTraffic", "ml.g5.12xlarge", 1, components=("fast", "laggard"))
    ep = endpoint("shared", v, tags={"sagewatch:latency-p99-ms": "100"})
    pairs = []
    for ic, p99 in (("fast", 60.0), ("laggard", 400.0)):
        pairs += [
            (component_metric(ic, "Invocations", "Sum"), hourly(20, 24)),
            (component_metric(ic, "ModelLatency", "p50"), hourly(30_000, 24)),
            (component_metric(ic, "ModelLatency", "p99"), hourly(p99 * 1000, 24)),
        ]
    [f] = slow_ones(judge(ep, results(*pairs)))
    assert f.inference_component == "laggard" and f.severity is Severity.HIGH


def test_a_latency_series_cloudwatch_could_not_read_gives_no_verdict():
    pairs = served("ranker", per_hour=50, p99_ms=500)
    res = results(*pairs[:2], failed=(variant_metric("ranker", "AllTraffic", "ModelLatency", "p99"),))
    assert slow_ones(judge(endpoint("ranker"), res, slo=100)) == []


# --- serverless cold starts --------------------------------------------------------------------------------


def cold(name, *, requests=1000, starts=50, p99_ms=1500.0):
    return results(
        (variant_metric(name, "AllTraffic", "Invocations", "Sum"), hourly(requests / 10, 10)),
        (variant_metric(name, "AllTraffic", "ModelSetupTime", "SampleCount"), hourly(starts / 10, 10)),
        (variant_metric(name, "AllTraffic", "ModelSetupTime", "p99"), hourly(p99_ms * 1000, 10)),
    )


def cold_ones(findings):
    return [f for f in findings if f.kind is Kind.COLD_STARTS]


@pytest.mark.parametrize(
    ("starts", "p99_ms", "found"),
    [(49, 1500.0, False), (50, 1500.0, True), (50, 1000.0, False), (50, 1000.5, True)],
)
def test_cold_starts_at_5_percent_and_over_a_second(starts, p99_ms, found):
    ep = endpoint("sentiment", variant(serverless=True))
    assert bool(cold_ones(judge(ep, cold("sentiment", starts=starts, p99_ms=p99_ms)))) is found


def test_cold_starts_say_what_provisioned_concurrency_would_cost_or_what_it_needs():
    ep = endpoint("sentiment", variant(serverless=True))
    [f] = cold_ones(judge(ep, cold("sentiment", starts=200)))
    assert f.evidence["cold_start_pct"] == 20.0 and f.evidence["cold_start_p99_ms"] == 1500.0
    assert f.severity is Severity.HIGH and "ProvisionedConcurrencyUsdPerGbSecond" in f.recommendation.summary
    priced = CATALOG.with_provisioned_concurrency_rate(0.0000048)
    t = Thresholds()
    [g] = cold_ones(judge_endpoint(ep, cold("sentiment", starts=200), priced, t, windows(t)))
    slot = round(2048 / 1024 * 0.0000048 * 3600 * 730, 2)
    assert g.evidence["provisioned_concurrency_monthly_usd_per_slot"] == slot
    assert f"${slot:,.2f}/month" in g.recommendation.summary


def test_instance_variants_have_no_cold_start_verdict():
    assert cold_ones(judge(endpoint("ranker"), cold("ranker", starts=900))) == []


# --- latency regressions after a deployment -----------------------------------------------------------------


def history(name, *, before_ms, after_ms, changed_hours_ago=24, per_hour=10.0):
    """Hourly p99 and requests over the baseline week before the change, and since."""
    before = [
        (NOW - timedelta(hours=h), before_ms * 1000) for h in range(changed_hours_ago + 168, changed_hours_ago, -1)
    ]
    after = [(NOW - timedelta(hours=h), after_ms * 1000) for h in range(changed_hours_ago, 0, -1)]
    hours = [t for t, _ in before + after]
    return results(
        (variant_metric(name, "AllTraffic", "ModelLatency", "p99"), before + after),
        (variant_metric(name, "AllTraffic", "Invocations", "Sum"), [(t, per_hour) for t in hours]),
    )


def regressions(findings):
    return [f for f in findings if f.kind is Kind.LATENCY_REGRESSION]


def judge_changed(name, hist, hours_ago=24):
    ep = endpoint(name, modified_ago=timedelta(hours=hours_ago))
    t = Thresholds()
    busy = results(*served(name, per_hour=10))  # not idle: the other rules run
    return judge_endpoint(ep, busy, CATALOG, t, windows(t), hist)


@pytest.mark.parametrize(
    ("before", "after", "found"),
    [(100.0, 149.0, False), (100.0, 150.0, True), (60.0, 109.0, False), (60.0, 110.0, True)],
)
def test_a_regression_is_1_5x_and_50_ms_worse(before, after, found):
    hist = history("ranker", before_ms=before, after_ms=after)
    assert bool(regressions(judge_changed("ranker", hist))) is found


def test_a_regression_says_before_after_and_when():
    [f] = regressions(judge_changed("ranker", history("ranker", before_ms=100.0, after_ms=400.0)))
    ev = f.evidence
    assert (ev["before_p99_ms"], ev["after_p99_ms"]) == (100.0, 400.0) and f.severity is Severity.HIGH
    assert ev["changed_at"] == "2026-11-21T12:00:00Z" and ev["current_endpoint_config"] == "ranker-config"
    assert "roll back with UpdateEndpoint" in f.recommendation.summary


def test_no_regression_without_enough_requests_on_either_side():
    hist = history("ranker", before_ms=100.0, after_ms=400.0, per_hour=99 / 24)
    assert regressions(judge_changed("ranker", hist)) == []


def test_only_endpoints_changed_within_the_regression_hours_are_read():
    from sagewatch.metrics import recently_changed

    created = endpoint("new", age=timedelta(hours=5))
    updated = endpoint("updated", modified_ago=timedelta(hours=47))
    stale = endpoint("old-change", modified_ago=timedelta(hours=49))
    assert [recently_changed(e, NOW, 48) for e in (created, updated, stale)] == [False, True, False]


# --- multi-model cache thrashing ----------------------------------------------------------------------------


def multi_model(name, *, hit=0.6, unloads_per_hour=10.0, cpu=5.0, memory=92.0):
    pairs = served(name, "v", per_hour=500, hours=WEEK)
    pairs += [
        (variant_metric(name, "v", "ModelCacheHit", "Average"), hourly(hit, WEEK)),
        (variant_metric(name, "v", "ModelUnloadingTime", "SampleCount"), hourly(unloads_per_hour, WEEK)),
        (variant_metric(name, "v", "ModelLoadingTime", "SampleCount"), hourly(unloads_per_hour + 1, WEEK)),
        (variant_metric(name, "v", "ModelLoadingWaitTime", "Average"), hourly(800_000, WEEK)),
        (variant_metric(name, "v", "ModelLoadingWaitTime", "Maximum"), hourly(4_000_000, WEEK)),
        (utilization_metric(name, "v", "CPUUtilization"), hourly(cpu * 4, WEEK)),
        (utilization_metric(name, "v", "MemoryUtilization"), hourly(memory, WEEK)),
    ]
    return endpoint(name, variant("v", "ml.m5.xlarge", 2)), results(*pairs)


def thrashing(findings):
    return [f for f in findings if f.kind is Kind.CACHE_THRASHING]


@pytest.mark.parametrize(
    ("hit", "unloads", "found"), [(0.8, 10.0, False), (0.79, 10.0, True), (0.6, 4.9, False), (0.6, 5.0, True)]
)
def test_cache_thrashing_under_80_percent_hits_with_frequent_unloads(hit, unloads, found):
    assert bool(thrashing(judge(*multi_model("mme", hit=hit, unloads_per_hour=unloads)))) is found


def test_cache_thrashing_gets_more_memory_of_the_same_kind_with_its_cost():
    [f] = thrashing(judge(*multi_model("mme", hit=0.4)))
    assert f.severity is Severity.HIGH and f.evidence["cache_hit_pct"] == 40.0
    assert f.evidence["unloads_per_hour"] == 10.0 and f.evidence["loading_wait_max_ms"] == 4000.0
    rec = f.recommendation
    assert rec.action is Action.RESIZE_VARIANT and rec.instance_count == 2
    new, old = CATALOG.get(rec.instance_type), CATALOG.get("ml.m5.xlarge")
    assert new.memory_gib > old.memory_gib and new.accelerator is old.accelerator
    assert f.evidence["monthly_cost_change_usd"] == round(new.monthly_cost(2) - old.monthly_cost(2), 2)


def test_a_multi_model_endpoint_is_never_shrunk_for_its_low_cpu():
    findings = judge(*multi_model("mme", hit=0.95, unloads_per_hour=0.0, cpu=2.0, memory=20.0))
    assert not [f for f in findings if f.kind is Kind.OVERSIZED]
    # the same variant without ModelCacheHit (a single-model endpoint) would be shrunk
    ep, res = multi_model("single", cpu=2.0, memory=20.0)
    del res.series[variant_metric("single", "v", "ModelCacheHit", "Average")]
    assert [f for f in judge(ep, res) if f.kind is Kind.OVERSIZED]


# --- the slow container -------------------------------------------------------------------------------------


def test_a_slow_pipeline_names_its_slowest_container():
    from sagewatch.metrics import container_metric

    pairs = served("pipeline", per_hour=50, p99_ms=400)
    for name, avg_ms in (("preprocess", 20.0), ("model", 240.0), ("postprocess", 35.0)):
        pairs += [
            (container_metric("pipeline", "AllTraffic", name, "Average"), hourly(avg_ms * 1000, 24)),
            (container_metric("pipeline", "AllTraffic", name, "Maximum"), hourly(avg_ms * 3000, 24)),
        ]
    [f] = slow_ones(judge(endpoint("pipeline"), results(*pairs), slo=100))
    assert [c["container"] for c in f.evidence["containers"]] == ["model", "postprocess", "preprocess"]
    assert f.evidence["containers"][0] == {"container": "model", "avg_ms": 240.0, "max_ms": 720.0}
    assert "the slowest container is model (240 ms on average)" in f.recommendation.summary


def test_after_a_blue_green_deployment_the_new_configs_own_p99_is_the_after():
    """During a canary the variant's p99 mixes both fleets; SageMaker's per-EndpointConfigName series does not."""
    from sagewatch.metrics import new_config_latency

    hist = history("ranker", before_ms=100.0, after_ms=120.0)  # blended: no regression on its own
    assert regressions(judge_changed("ranker", hist)) == []
    ep = endpoint("ranker", modified_ago=timedelta(hours=24))
    own = [(NOW - timedelta(hours=h), 400_000.0) for h in range(24, 0, -1)]
    hist.add(new_config_latency(ep, "AllTraffic"), own)
    [f] = regressions(judge_changed("ranker", hist))
    assert f.evidence["after_p99_ms"] == 400.0
