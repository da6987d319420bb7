"""Auto scaling on moto: read once per scan, carried into findings, changed only through set-scaling-limits."""

import json

import boto3

from sagewatch_testkit import moto_ext
from sagewatch_testkit.functions import ROOT
from sagewatch_testkit.schemas import validate_report

REGION = moto_ext.DEFAULT_REGION
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def test_the_scan_reads_auto_scaling_in_two_calls_and_carries_it_into_findings(demo, now):
    report = demo.scan(now)
    validate_report(report.to_dict())
    assert demo.calls["DescribeScalableTargets"] == 1  # one page: never per endpoint
    assert demo.calls["DescribeScalingPolicies"] == 1
    [f] = [f for f in report.findings if f.endpoint == "image-embedder"]
    assert f.evidence["autoscaling"]["min_capacity"] == 4 and f.evidence["autoscaling"]["max_capacity"] == 8
    assert f.evidence["autoscaling"]["policies"][0]["metric"] == "SageMakerVariantInvocationsPerInstance"
    assert (f.recommendation.min_capacity, f.recommendation.max_capacity) == (2, 4)
    unscaled = [f for f in report.findings if f.endpoint == "doc-classifier"]
    assert unscaled and unscaled[0].evidence["autoscaling"] is None


def request(name, **changes):
    doc = json.loads((ROOT / "events" / "remediate" / f"{name}.json").read_text())
    return {**doc, **changes}


def test_set_scaling_limits_is_planned_then_carried_out_and_set_instance_count_is_refused(remediation):
    env = remediation
    aas = boto3.client("application-autoscaling", region_name=REGION)
    resource = "endpoint/llm-chat-prod/variant/AllTraffic"
    aas.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=1
    )
    refused = env.invoke(request("set-instance-count-execute"))
    assert refused["status"] == "refused"
    assert "auto scaled (minimum 1, maximum 1)" in refused["error"] and "set-scaling-limits" in refused["error"]

    dry = env.invoke(request("set-scaling-limits-dry-run"))
    assert dry["status"] == "planned", dry
    assert dry["plan"]["before"]["AllTraffic"]["scaling"] == "minimum 1, maximum 1"
    assert dry["plan"]["after"]["AllTraffic"]["scaling"] == "minimum 1, maximum 3"
    done = env.invoke(request("set-scaling-limits-execute"))
    assert done["status"] == "done", done
    [target] = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    assert len(env.audits()) == 1 and env.announcements()[0]["request"]["action"] == "set-scaling-limits"


def test_a_real_time_variant_cannot_get_a_minimum_of_zero(remediation):
    result = remediation.invoke(request("set-scaling-limits-dry-run", min_capacity=0))
    assert result["status"] == "refused" and "not asynchronous" in result["error"]
