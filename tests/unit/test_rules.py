"""The rules on hand-made endpoints and metrics: every trap a naive scan falls into."""

from datetime import timedelta

import pytest

from sagewatch.catalog import Catalog
from sagewatch.metrics import backlog_metric, component_metric, utilization_metric, variant_metric
from sagewatch.models import Action, Kind, Severity
from sagewatch.rules import finding_id, judge_endpoint, savings_severity
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import NOW, endpoint, hourly, results, variant, windows

CATALOG = Catalog.load()
T = Thresholds()
W = windows(T)
WEEK = 7 * 24


def judge(ep, res, thresholds=T):
    return judge_endpoint(ep, res, CATALOG, thresholds, windows(thresholds))


def invocations(ep, var, per_hour, hours=WEEK):
    return (variant_metric(ep, var, "Invocations", "Sum"), hourly(per_hour, hours))


def utilization(ep, var, name, value, hours=WEEK):
    return (utilization_metric(ep, var, name), hourly(value, hours))


# --- idle ----------------------------------------------------------------------------------------


def test_no_datapoints_means_zero_traffic_and_idle():
    [f] = judge(endpoint("quiet", variant("AllTraffic", "ml.m5.2xlarge")), results())
    assert f.kind is Kind.IDLE and f.variant is None
    assert f.recommendation.action is Action.DELETE_ENDPOINT
    assert f.monthly_cost_usd == f.monthly_savings_usd == round(0.461 * 730, 2)
    assert f.evidence["invocations"] == 0 and f.evidence["idle_hours"] == 24


def test_zero_valued_datapoints_are_also_zero_traffic():
    [f] = judge(endpoint("zeros"), results(invocations("zeros", "AllTraffic", 0)))
    assert f.kind is Kind.IDLE


def test_traffic_before_the_idle_window_does_not_count():
    ep = endpoint("was-busy")
    old = (
        variant_metric("was-busy", "AllTraffic", "Invocations", "Sum"),
        hourly(100, 24, end=NOW - timedelta(hours=30)),
    )
    [f] = judge(ep, results(old))
    assert f.kind is Kind.IDLE


def test_one_request_in_the_window_is_not_idle():
    ep = endpoint("barely")
    points = [(NOW - timedelta(hours=3), 1.0)]
    assert judge(ep, results((variant_metric("barely", "AllTraffic", "Invocations", "Sum"), points))) == []


@pytest.mark.parametrize(
    ("age", "modified_ago"),
    [(timedelta(hours=6), None), (timedelta(days=60), timedelta(hours=23))],
    ids=["created-6h-ago", "updated-23h-ago"],
)
def test_endpoint_younger_than_the_window_is_never_idle(age, modified_ago):
    assert judge(endpoint("young", age=age, modified_ago=modified_ago), results()) == []


def test_endpoint_exactly_as_old_as_the_window_can_be_idle():
    [f] = judge(endpoint("ripe", age=timedelta(hours=24)), results())
    assert f.kind is Kind.IDLE


def test_failed_metric_is_unknown_not_zero():
    ep = endpoint("unknown")
    spec = variant_metric("unknown", "AllTraffic", "Invocations", "Sum")
    assert judge(ep, results(failed=(spec,))) == []


def test_idle_variant_beside_a_busy_one_gets_remove_variant():
    ep = endpoint("ab", variant("control", "ml.c5.2xlarge"), variant("challenger", "ml.c5.2xlarge"))
    [f] = judge(ep, results(invocations("ab", "control", 500)))
    assert (f.kind, f.variant, f.recommendation.action) == (Kind.IDLE, "challenger", Action.REMOVE_VARIANT)
    assert f.monthly_savings_usd == round(0.408 * 730, 2)


def test_async_endpoint_without_invocations_but_processing_is_busy():
    ep = endpoint("async", variant("v", "ml.m5.xlarge"), is_async=True)
    processed = (variant_metric("async", "v", "InvocationsProcesssed", "Sum"), hourly(40, WEEK))
    assert [f for f in judge(ep, results(processed)) if f.kind is Kind.IDLE] == []


def test_async_endpoint_with_a_waiting_backlog_is_not_idle():
    ep = endpoint("stuck", variant("v", "ml.m5.xlarge"), is_async=True)
    backlog = (backlog_metric("stuck"), hourly(12, 5))
    assert judge(ep, results(backlog)) == []


def test_idle_async_endpoint_scales_to_zero():
    ep = endpoint("batch", variant("v", "ml.m5.xlarge", 2), is_async=True)
    [f] = judge(ep, results())
    assert f.recommendation.action is Action.SCALE_TO_ZERO and f.recommendation.instance_count == 0
    assert f.monthly_savings_usd == round(0.23 * 2 * 730, 2)


def test_async_endpoint_already_at_zero_instances_costs_nothing():
    assert judge(endpoint("zero", variant("v", "ml.m5.xlarge", 0), is_async=True), results()) == []


def test_inference_components_traffic_is_summed():
    ep = endpoint("gen", variant("v", "ml.g6.12xlarge", components=("busy", "quiet")))
    busy = (component_metric("busy", "Invocations", "Sum"), hourly(10, 24))
    assert [f for f in judge(ep, results(busy)) if f.kind is Kind.IDLE] == []


def test_inference_components_all_quiet_is_idle():
    ep = endpoint("gen", variant("v", "ml.g6.12xlarge", components=("a", "b")))
    [f] = judge(ep, results())
    assert f.recommendation.action is Action.DELETE_ENDPOINT
    assert f.evidence["inference_components"] == ["a", "b"]


def test_variant_level_invocations_are_ignored_for_component_endpoints():
    # SageMaker does not publish them there; a stray series must not make it look busy or idle.
    ep = endpoint("gen", variant("v", "ml.g6.12xlarge", components=("a",)))
    stray = invocations("gen", "v", 1000)
    [f] = judge(ep, results(stray))
    assert f.kind is Kind.IDLE


def test_component_endpoint_is_not_judged_idle_when_the_listing_failed():
    ep = endpoint("gen", variant("v", "ml.g6.12xlarge", hosts_components=True), components_known=False)
    assert judge(ep, results()) == []


def test_component_hosting_endpoint_with_no_components_is_idle():
    ep = endpoint("empty", variant("v", "ml.g5.2xlarge", hosts_components=True))
    [f] = judge(ep, results())
    assert "hosts no inference components" in f.recommendation.summary


def test_idle_serverless_endpoint_is_never_a_delete_with_savings():
    [f] = judge(endpoint("sls", variant(serverless=True)), results())
    assert f.kind is Kind.IDLE and f.severity is Severity.LOW
    assert f.recommendation.action is Action.INVESTIGATE
    assert f.monthly_savings_usd == 0 and f.monthly_cost_usd == 0


def test_idle_serverless_variant_beside_a_busy_one_is_not_reported():
    ep = endpoint("mix", variant("busy", "ml.m5.large"), variant("sls", serverless=True))
    assert [f for f in judge(ep, results(invocations("mix", "busy", 5))) if f.kind is Kind.IDLE] == []


# Serverless provisioned concurrency: billed per GB-second while configured. The rate is illustrative (the
# bundled catalog has none; the operator supplies the region's), so the tests check the arithmetic, not AWS.
PC_RATE = 0.0000048
PRICED = CATALOG.with_provisioned_concurrency_rate(PC_RATE)


def test_idle_serverless_endpoint_with_provisioned_concurrency_is_money_burning():
    ep = endpoint("warm", variant("sls", serverless=True, provisioned=4))
    [f] = judge_endpoint(ep, results(), PRICED, T, W)
    expected = round(4 * 2048 / 1024 * PC_RATE * 3600 * 730, 2)  # 4 slots x 2 GB, all month
    assert f.kind is Kind.IDLE and f.variant == "sls"
    assert f.recommendation.action is Action.REMOVE_PROVISIONED_CONCURRENCY
    assert f.monthly_cost_usd == f.monthly_savings_usd == expected
    assert f.recommendation.monthly_cost_usd == 0.0
    assert f.evidence["provisioned_concurrency"] == 4 and f.evidence["memory_mb"] == 2048


def test_provisioned_concurrency_without_a_rate_is_still_found_but_unpriced():
    [f] = judge(endpoint("warm", variant("sls", serverless=True, provisioned=2)), results())
    assert f.recommendation.action is Action.REMOVE_PROVISIONED_CONCURRENCY
    assert f.monthly_savings_usd is None and f.severity is Severity.MEDIUM
    assert "ProvisionedConcurrencyUsdPerGbSecond" in f.evidence["note"]


def test_idle_provisioned_serverless_variant_beside_a_busy_one_is_reported_alone():
    ep = endpoint("mix", variant("busy", "ml.m5.large"), variant("sls", serverless=True, provisioned=1))
    idle = [f for f in judge_endpoint(ep, results(invocations("mix", "busy", 5)), PRICED, T, W) if f.kind is Kind.IDLE]
    assert [(f.variant, f.recommendation.action) for f in idle] == [("sls", Action.REMOVE_PROVISIONED_CONCURRENCY)]


def test_busy_provisioned_serverless_endpoint_is_not_idle():
    ep = endpoint("warm", variant("sls", serverless=True, provisioned=4))
    assert judge_endpoint(ep, results(invocations("warm", "sls", 3)), PRICED, T, W) == []


def test_unknown_instance_type_is_reported_without_a_price():
    [f] = judge(endpoint("exotic", variant("v", "ml.x99.mega")), results())
    assert f.kind is Kind.IDLE and f.monthly_cost_usd is None and f.monthly_savings_usd is None


# --- oversized and saturated ---------------------------------------------------------------------


def busy_with(ep_name, var, itype, count, **peaks):
    ep = endpoint(ep_name, variant(var, itype, count))
    pairs = [invocations(ep_name, var, 1000)]
    names = {
        "cpu": "CPUUtilization",
        "memory": "MemoryUtilization",
        "gpu": "GPUUtilization",
        "gpu_memory": "GPUMemoryUtilization",
    }
    pairs += [utilization(ep_name, var, names[k], v) for k, v in peaks.items()]
    return ep, results(*pairs)


def test_oversized_uses_the_peak_not_the_mean():
    ep, res = busy_with("docs", "v", "ml.m5.4xlarge", 3, cpu=0.12 * 1600, memory=18)
    [f] = judge(ep, res)
    assert f.kind is Kind.OVERSIZED and f.recommendation.action is Action.RESIZE_VARIANT
    assert (f.recommendation.instance_type, f.recommendation.instance_count) == ("ml.r5.xlarge", 3)
    assert f.monthly_savings_usd == round(2019.18 - 661.38, 2)
    assert f.evidence["peak_pct"] == {"cpu": 12.0, "memory": 18.0}
    # one busy hour at 40% CPU changes the answer although the mean barely moves: the peak decides
    cpu = utilization_metric("docs", "v", "CPUUtilization")
    res.add(cpu, [(NOW - timedelta(hours=50), 0.4 * 1600)])
    [g] = judge(ep, res)
    assert g.kind is Kind.OVERSIZED and g.evidence["peak_pct"]["cpu"] == 40.0
    assert g.recommendation.monthly_cost_usd > f.recommendation.monthly_cost_usd
    new = CATALOG.get(g.recommendation.instance_type)
    assert new is not None and 0.4 * 16 * 3 / (new.vcpu * g.recommendation.instance_count) <= 0.7
    # and one hour at 90% leaves nothing to save
    res.add(cpu, [(NOW - timedelta(hours=40), 0.9 * 1600)])
    assert judge(ep, res) == []


def test_fewer_instances_count_as_right_sizing():
    ep, res = busy_with("web", "v", "ml.m5.xlarge", 4, cpu=0.15 * 400, memory=40)
    [f] = judge(ep, res)
    # hand-computed: 2 x ml.r5.large keeps cpu at 15% x 16 / 4 = 60% and memory at 40%
    assert (f.recommendation.instance_type, f.recommendation.instance_count) == ("ml.r5.large", 2)
    assert f.monthly_savings_usd == round((0.23 * 4 - 0.151 * 2) * 730, 2)


def test_never_below_two_instances_when_there_are_two():
    ep, res = busy_with("ha", "v", "ml.m5.xlarge", 2, cpu=5 * 4, memory=10)
    [f] = judge(ep, res)
    assert f.recommendation.instance_count == 2


def test_oversized_needs_the_whole_window_on_current_hardware():
    ep, res = busy_with("recent", "v", "ml.m5.4xlarge", 3, cpu=100, memory=10)
    young = type(ep)(**{**ep.__dict__, "last_modified_time": NOW - timedelta(days=2)})
    assert judge(young, res) == []


def test_oversized_needs_enough_hours_of_data():
    ep = endpoint("gappy", variant("v", "ml.m5.4xlarge", 3))
    res = results(
        invocations("gappy", "v", 100),
        utilization("gappy", "v", "CPUUtilization", 50, hours=48),
        utilization("gappy", "v", "MemoryUtilization", 10, hours=48),
    )
    assert judge(ep, res) == []


def test_no_cheaper_option_means_no_finding():
    ep, res = busy_with("tight", "v", "ml.m5.large", 1, cpu=0.6 * 2, memory=60)
    assert judge(ep, res) == []


def test_small_savings_below_the_minimum_are_not_reported():
    ep, res = busy_with("small", "v", "ml.m5.xlarge", 1, cpu=0.3 * 4, memory=30)
    assert judge(ep, res, Thresholds(min_monthly_savings_usd=1000)) == []
    assert [f.kind for f in judge(ep, res)] == [Kind.OVERSIZED]


def test_saturated_compute_scales_out_and_is_never_also_oversized():
    ep, res = busy_with("llm", "v", "ml.g5.12xlarge", 1, cpu=35 * 48, memory=50, gpu=96 * 4, gpu_memory=80 * 4)
    [f] = judge(ep, res)
    assert f.kind is Kind.SATURATED and f.recommendation.action is Action.SCALE_OUT
    assert (f.recommendation.instance_type, f.recommendation.instance_count) == ("ml.g5.12xlarge", 2)
    assert f.evidence["saturated"] == {"gpu": 96.0} and f.severity is Severity.HIGH
    assert f.monthly_savings_usd == 0 and f.recommendation.monthly_cost_usd == round(7.09 * 2 * 730, 2)


def test_saturated_memory_moves_to_a_bigger_instance():
    ep, res = busy_with("ner", "v", "ml.c5.xlarge", 2, cpu=0.3 * 4, memory=95)
    [f] = judge(ep, res)
    assert f.kind is Kind.SATURATED and f.recommendation.action is Action.RESIZE_VARIANT
    assert f.recommendation.instance_count == 2
    spec = CATALOG.get(f.recommendation.instance_type)
    assert spec is not None and spec.memory_gib * 0.7 >= 0.95 * 8


def test_saturation_threshold_is_exclusive_and_configurable():
    ep, res = busy_with("edge", "v", "ml.m5.xlarge", 2, cpu=90 * 4, memory=30)
    assert [f.kind for f in judge(ep, res)] != [Kind.SATURATED]
    assert [f.kind for f in judge(ep, res, Thresholds(saturation_pct=85, target_utilization_pct=70))] == [
        Kind.SATURATED
    ]


def test_saturation_is_judged_even_on_a_young_endpoint():
    ep, res = busy_with("hot", "v", "ml.m5.xlarge", 1, cpu=3.9 * 100, memory=30)
    young = type(ep)(
        **{**ep.__dict__, "creation_time": NOW - timedelta(hours=3), "last_modified_time": NOW - timedelta(hours=3)}
    )
    assert [f.kind for f in judge(young, res)] == [Kind.SATURATED]


# --- errors --------------------------------------------------------------------------------------


def with_errors(total, failed):
    ep = endpoint("api", variant("v", "ml.c6i.xlarge", 2))
    return ep, results(
        invocations("api", "v", total / 24, 24),
        (variant_metric("api", "v", "Invocation5XXErrors", "Sum"), hourly(failed / 24, 24)),
    )


def test_error_rate_above_threshold_is_reported():
    ep, res = with_errors(2400, 72)
    [f] = judge(ep, res)
    assert f.kind is Kind.ERRORS and f.recommendation.action is Action.INVESTIGATE
    assert f.evidence["error_rate_pct"] == 3.0 and f.evidence["invocations"] == 2400
    assert f.severity is Severity.MEDIUM


def test_error_rate_at_or_below_threshold_is_not():
    ep, res = with_errors(2400, 24)
    assert judge(ep, res) == []


def test_errors_need_enough_invocations():
    ep, res = with_errors(96, 48)  # 50% but only 96 requests
    assert judge(ep, res) == []


def test_high_error_rate_is_high_severity():
    ep, res = with_errors(2400, 240)
    assert judge(ep, res)[0].severity is Severity.HIGH


def test_errors_are_reported_per_inference_component():
    ep = endpoint("gen", variant("v", "ml.g6.12xlarge", components=("good", "bad")))
    res = results(
        (component_metric("good", "Invocations", "Sum"), hourly(100, 24)),
        (component_metric("bad", "Invocations", "Sum"), hourly(100, 24)),
        (component_metric("bad", "Invocation5XXErrors", "Sum"), hourly(10, 24)),
    )
    [f] = judge(ep, res)
    assert (f.kind, f.inference_component) == (Kind.ERRORS, "bad")


def test_async_failures_count_as_errors():
    ep = endpoint("q", variant("v", "ml.m5.xlarge"), is_async=True)
    res = results(
        (variant_metric("q", "v", "InvocationsProcesssed", "Sum"), hourly(100, 24)),
        (variant_metric("q", "v", "InvocationFailures", "Sum"), hourly(5, 24)),
    )
    [f] = judge(ep, res)
    assert f.kind is Kind.ERRORS and f.evidence["metric"] == "InvocationFailures"


# --- ids and severity ----------------------------------------------------------------------------


def test_finding_ids_are_stable_and_distinct():
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/x"
    assert finding_id(arn, Kind.IDLE, None, None) == finding_id(arn.upper(), Kind.IDLE, None, None)
    ids = {finding_id(arn, k, v, None) for k in Kind for v in (None, "a", "b")}
    assert len(ids) == len(Kind) * 3


def test_id_does_not_change_when_the_recommendation_does():
    ep, res = busy_with("docs", "v", "ml.m5.4xlarge", 3, cpu=0.12 * 1600, memory=18)
    a = judge(ep, res)[0]
    b = judge(ep, res, Thresholds(target_utilization_pct=50))[0]
    assert a.id == b.id and a.recommendation != b.recommendation


@pytest.mark.parametrize(("savings", "severity"), [(None, "medium"), (5, "low"), (100, "medium"), (1000, "high")])
def test_savings_severity(savings, severity):
    assert savings_severity(savings).value == severity


# --- imbalance (enhanced metrics) -------------------------------------------------------------------------


def test_imbalance_needs_a_busy_unit_far_above_its_siblings():
    from sagewatch.rules import imbalance_of as _imbalance_of

    def units(*pcts, hours=168):
        return {f"i-{n}": (p, hours) for n, p in enumerate(pcts)}

    assert _imbalance_of(units(85, 20, 24), 1) == ("i-0", 85, 22, {"i-0": 85, "i-1": 20, "i-2": 24})
    assert _imbalance_of(units(340, 80, 96), 4)[1:3] == (85, 22)  # summed over 4 vCPUs
    assert _imbalance_of(units(49, 5, 5), 1) is None  # nothing busy enough to matter
    assert _imbalance_of(units(70, 45, 41), 1) is None  # busier, but within 30 points
    assert _imbalance_of(units(90), 1) is None  # no sibling
    # a sibling seen for a fraction of the window (replaced mid-way) is no fair comparison
    partial = {"i-0": (90.0, 168), "i-1": (10.0, 20)}
    assert _imbalance_of(partial, 1) is None


def test_imbalance_evidence_reads_as_a_sentence():
    from sagewatch.models import Finding
    from sagewatch.notify.digest import evidence_sentence

    finding = Finding.from_dict({
        "id": "sw-1", "kind": "imbalanced", "severity": "medium", "endpoint": "e",
        "evidence": {"resource": "gpu", "unit": "gpu", "busiest": "i-1/gpu-0", "busiest_pct": 97.0,
                     "siblings_median_pct": 30.0, "hours_observed": 168},
        "recommendation": {"action": "investigate", "summary": ""},
    })  # fmt: skip
    assert evidence_sentence(finding) == "Mean GPU over 168 h: gpu i-1/gpu-0 at 97.0%, its siblings' median 30.0%."
