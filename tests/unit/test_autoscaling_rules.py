"""Advice that holds when a variant is auto scaled (Application Auto Scaling), and scale to zero for
intermittent inference-component endpoints (pure)."""

from dataclasses import replace
from datetime import timedelta

from sagewatch.catalog import Catalog
from sagewatch.metrics import component_metric, utilization_metric, variant_metric
from sagewatch.models import Action, Autoscaling, Kind, ScalingPolicy
from sagewatch.rules import judge_endpoint
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import NOW, endpoint, hourly, results, variant, windows
from sagewatch_testkit.schemas import validate_finding

CATALOG = Catalog.load()
WEEK = 7 * 24
TRACKING = ScalingPolicy("invocations", "TargetTrackingScaling", 700.0, "SageMakerVariantInvocationsPerInstance")


def scaled(ep, low, high, *policies):
    [v] = ep.variants
    return replace(ep, variants=(replace(v, autoscaling=Autoscaling(low, high, tuple(policies))),))


def busy(name, itype, count, **peaks):
    ep = endpoint(name, variant("v", itype, count))
    metric = {"cpu": "CPUUtilization", "memory": "MemoryUtilization", "gpu": "GPUUtilization"}
    pairs = [(variant_metric(name, "v", "Invocations", "Sum"), hourly(1000, WEEK))]
    pairs += [(utilization_metric(name, "v", metric[k]), hourly(v, WEEK)) for k, v in peaks.items()]
    return ep, results(*pairs)


def judge(ep, res):
    findings = judge_endpoint(ep, res, CATALOG, Thresholds(), windows())
    for f in findings:
        validate_finding(f.to_dict())
    return findings


def test_a_floor_above_what_the_peak_needs_is_lowered_never_set_by_count():
    # 4 x ml.c5.large at 10% CPU: 2 would do (never fewer than two), but the autoscaler floor holds 4
    ep, res = busy("floor", "ml.c5.large", 4, cpu=0.1 * 2 * 100, memory=20)
    [f] = judge(scaled(ep, 4, 8, TRACKING), res)
    assert f.kind is Kind.OVERSIZED and f.recommendation.action is Action.SET_SCALING_LIMITS
    assert (f.recommendation.min_capacity, f.recommendation.max_capacity) == (2, 8)
    assert f.monthly_savings_usd == CATALOG.get("ml.c5.large").monthly_cost(
        f.evidence["autoscaling"]["min_capacity"] - 2
    )  # two instances kept for nothing
    assert f.evidence["autoscaling"] == {
        "min_capacity": 4,
        "max_capacity": 8,
        "policies": [
            {"name": "invocations", "type": "TargetTrackingScaling", "target_value": 700.0,
             "metric": "SageMakerVariantInvocationsPerInstance"}
        ],
    }  # fmt: skip


def test_above_the_floor_the_count_is_the_autoscalers_business():
    ep, res = busy("above", "ml.c5.large", 4, cpu=0.1 * 2 * 100, memory=20)
    assert judge(scaled(ep, 1, 8, TRACKING), res) == []


def test_a_resize_carries_the_limits_over_scaled():
    ep, res = busy("docs", "ml.m5.4xlarge", 3, cpu=0.12 * 1600, memory=18)
    [f] = judge(scaled(ep, 3, 6), res)
    assert f.recommendation.action is Action.RESIZE_VARIANT and f.recommendation.instance_type == "ml.r5.xlarge"
    assert (f.recommendation.min_capacity, f.recommendation.max_capacity) == (3, 6)  # same count: same limits
    assert "Auto scaling limits 3-6 become 3-6" in f.recommendation.summary


def test_saturated_at_the_ceiling_raises_it():
    ep, res = busy("llm", "ml.g5.12xlarge", 2, cpu=35 * 48, memory=50, gpu=96 * 4)
    [f] = judge(scaled(ep, 1, 2, TRACKING), res)
    assert f.kind is Kind.SATURATED and f.recommendation.action is Action.SET_SCALING_LIMITS
    assert f.recommendation.min_capacity == 1 and f.recommendation.max_capacity == 3


def test_saturated_below_the_ceiling_says_the_policy_is_not_keeping_up():
    ep, res = busy("llm", "ml.g5.12xlarge", 2, cpu=35 * 48, memory=50, gpu=96 * 4)
    [f] = judge(scaled(ep, 1, 10, TRACKING), res)
    assert f.recommendation.action is Action.INVESTIGATE
    assert "invocations (SageMakerVariantInvocationsPerInstance at 700) is not keeping up" in f.recommendation.summary
    assert f.evidence["autoscaling"]["policies"][0]["target_value"] == 700.0
    [g] = judge(scaled(ep, 1, 10), res)
    assert "no target tracking policy scales it out" in g.recommendation.summary


def test_idle_at_the_floor_still_saves_what_the_floor_costs():
    ep = endpoint("quiet", variant("v", "ml.m5.2xlarge", 2))
    [f] = judge(scaled(ep, 2, 4), results())
    assert f.recommendation.action is Action.DELETE_ENDPOINT
    assert f.monthly_savings_usd == CATALOG.get("ml.m5.2xlarge").monthly_cost(2)
    assert f.evidence["autoscaling"]["min_capacity"] == 2


def test_an_intermittent_component_endpoint_scales_to_zero_a_gone_one_is_deleted():
    ep = endpoint("genai", variant("v", "ml.g5.2xlarge", 1, components=("model-a",)))
    earlier = (component_metric("model-a", "Invocations", "Sum"), hourly(30, 24, end=NOW - timedelta(days=3)))
    [f] = judge(ep, results(earlier))
    assert f.recommendation.action is Action.SCALE_TO_ZERO and f.evidence["window_invocations"] == 720
    assert "intermittent, not gone" in f.recommendation.summary
    [g] = judge(ep, results())
    assert g.recommendation.action is Action.DELETE_ENDPOINT


# --- Graviton: a refreshed catalog holds arm64 types; the advice never moves an x86 container onto them ---


def test_right_sizing_never_crosses_to_graviton_but_offers_it_apart():
    from sagewatch.catalog import Accelerator, InstanceSpec

    # The Price List lists Graviton hosting types (ml.m7g.*, ml.c7g.*) beside x86 ones; a refreshed catalog holds both.
    # The arm64 price below is test data, cheaper on purpose: the point is where it may appear.
    graviton = InstanceSpec("ml.m7g.2xlarge", 8, 32.0, Accelerator.CPU, 0, 0.0, 0.05)
    catalog = Catalog([*CATALOG, graviton], region="us-east-1", as_of="test", sources=["test"])
    assert graviton.arm64 and not CATALOG.get("ml.c5.xlarge").arm64 and not CATALOG.get("ml.g5.xlarge").arm64
    ep, res = busy("docs", "ml.m5.4xlarge", 3, cpu=0.12 * 1600, memory=18)
    [f] = judge_endpoint(ep, res, catalog, Thresholds(), windows())
    validate_finding(f.to_dict())
    assert not CATALOG.get(f.recommendation.instance_type).arm64  # the answer stays x86
    [alt] = f.evidence["alternatives"]
    assert alt["instance_type"] == "ml.m7g.2xlarge" and alt["architecture"] == "arm64"
    assert alt["monthly_cost_usd"] < f.recommendation.monthly_cost_usd
    [g] = judge(ep, res)  # the bundled catalog has no arm64 type: nothing to offer
    assert g.evidence["alternatives"] == []
