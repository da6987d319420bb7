"""Remediation as a careless or hostile caller would use it: the seven holes of issue 13 and their
neighbours, against the remediation function in-process (moto, the stack's settings, a queue on the topic).
Requests start from the samples in events/remediate (what the README and the finding commands produce)."""

import json

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagewatch_testkit import aws_rules, faults, moto_ext
from sagewatch_testkit.functions import ROOT

REGION = moto_ext.DEFAULT_REGION
BIG = "x" * (1024 * 1024)
HOSTILE = "<!channel> <@U123> <http://evil.example|click> & `"


def request(name, **changes):
    doc = json.loads((ROOT / "events" / "remediate" / f"{name}.json").read_text())
    return {**doc, **changes}


def exists(env, name):
    """Whether the endpoint is there and not being deleted (SageMaker deletes in the background)."""
    try:
        return env.sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "Deleting"
    except env.sm.exceptions.ClientError:
        return False


# 1. a reused request_id never replays another request's result


def test_reused_request_id_with_another_payload_is_refused_and_acts_on_nothing(remediation):
    env = remediation
    first = env.invoke(request("delete-endpoint-execute"))
    assert first["status"] == "done"
    other = request(
        "delete-endpoint-execute", endpoint="image-embedder", confirm="image-embedder", force=True, expect=None
    )
    result = env.invoke(other)  # same request_id, another endpoint
    assert result["status"] == "refused" and "already used for a different request" in result["error"]
    assert exists(env, "image-embedder")
    assert env.invoke(request("delete-endpoint-execute")) == first  # the same request again: its own answer


# 2. every string is bounded before anything happens; nothing huge reaches an answer, a record or a notice


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("confirm", BIG),
        ("endpoint", BIG),
        ("variant", BIG),
        ("snapshot", BIG),
        ("request_id", BIG),
        ("instance_type", BIG),
        ("expect", {"finding_id": BIG}),
        ("expect", {"instance_type": BIG}),
        ("confirm", HOSTILE),
        ("instance_count", "2"),
        ("dry_run", "false"),
        ("force", 1),
        (BIG, True),
    ],
)
def test_oversized_hostile_or_loosely_typed_fields_are_invalid_and_change_nothing(remediation, field, value):
    result = remediation.invoke(request("delete-endpoint-execute", **{field: value}))
    assert result["status"] in ("invalid", "refused"), result
    assert len(json.dumps(result)) < 3000  # the answer echoes no more than a short excerpt
    assert exists(remediation, "churn-model-staging") and remediation.audits() == []


# 3. resize keeps the accelerator kind


@pytest.mark.parametrize("target", ["ml.m5.xlarge", "ml.inf2.xlarge", "ml.trn1.2xlarge", "ml.c5.4xlarge"])
def test_resize_across_accelerator_kinds_is_refused_even_forced(remediation, target):
    env = remediation
    base = request("resize-variant-execute", endpoint="image-embedder", confirm="image-embedder")
    base.update(instance_type=target, instance_count=4, expect=None, force=True)  # within its auto scaling 4-8
    result = env.invoke(base)
    assert result["status"] == "refused" and "accelerator" in result["error"], result
    unforced = {**base, "allow_accelerator_change": True, "force": False}
    unforced["expect"] = {"instance_type": "ml.g5.2xlarge", "instance_count": 4}  # past the stale check
    refused = env.invoke(unforced)
    assert refused["status"] == "refused" and "allow_accelerator_change true and force true" in refused["error"]
    planned = env.invoke({**base, "dry_run": True, "allow_accelerator_change": True, "request_id": None})
    assert planned["status"] == "planned" and planned["plan"]["accelerator_change"].startswith("NVIDIA GPU -> ")
    assert env.sm.describe_endpoint(EndpointName="image-embedder")["EndpointConfigName"].startswith("image-embedder")
    assert env.audits() == []


def test_resize_across_accelerators_with_both_flags_is_carried_out(remediation):
    base = request("resize-variant-execute", endpoint="image-embedder", confirm="image-embedder")
    base.update(instance_type="ml.inf2.xlarge", instance_count=4, expect=None, force=True)
    result = remediation.invoke({**base, "allow_accelerator_change": True})
    assert result["status"] == "done" and result["plan"]["accelerator_change"] == "NVIDIA GPU -> AWS Inferentia"


def test_resize_within_the_gpu_kind_needs_no_flag(remediation):
    dry = request("resize-variant-dry-run", endpoint="image-embedder", instance_type="ml.g5.xlarge", instance_count=4)
    dry.pop("expect", None)
    assert remediation.invoke(dry)["status"] == "planned"


# 4. delete refuses an endpoint that is being changed


@pytest.mark.parametrize("state", ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"])
def test_delete_refuses_a_deployment_in_progress(remediation, state):
    moto_ext.set_endpoint_status(REGION, "churn-model-staging", state)
    result = remediation.invoke(request("delete-endpoint-execute", force=True))
    assert result["status"] == "refused" and state in result["error"]
    assert remediation.sm.describe_endpoint(EndpointName="churn-model-staging")["EndpointStatus"] == state
    assert remediation.audits() == []


@pytest.mark.parametrize("state", ["Failed", "OutOfService"])
def test_delete_of_a_broken_endpoint_goes_ahead(remediation, state):
    moto_ext.set_endpoint_status(REGION, "churn-model-staging", state)
    assert remediation.invoke(request("delete-endpoint-execute", force=True))["status"] == "done"


# 5. restore brings back what ran, not what the config first said


def test_restore_after_scaling_and_with_auto_scaling_round_trips(remediation):
    env = remediation
    aas = boto3.client("application-autoscaling", region_name=REGION)
    resource = "endpoint/image-embedder/variant/AllTraffic"
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=2,
        MaxCapacity=6,
    )
    aas.put_scaling_policy(
        PolicyName="invocations",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 700.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    )
    config = env.sm.describe_endpoint(EndpointName="image-embedder")["EndpointConfigName"]
    initial = env.sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    env.sm.update_endpoint_weights_and_capacities(
        EndpointName="image-embedder",
        DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredInstanceCount": initial["InitialInstanceCount"] + 2}
        ],
    )
    env.elapse(aws_rules.DURATIONS.endpoint_update)
    running = initial["InitialInstanceCount"] + 2
    deleted = env.invoke(
        {
            **request("delete-endpoint-execute"),
            "endpoint": "image-embedder",
            "confirm": "image-embedder",
            "expect": None,
            "force": True,
            "request_id": "delete-image-embedder-0001",
        }
    )
    assert deleted["status"] == "done", deleted
    snapshot = json.loads(env.s3.get_object(Bucket="sagewatch-remediation", Key=deleted["snapshot"])["Body"].read())
    assert snapshot["scalable_targets"][0]["MinCapacity"] == 2 and snapshot["scaling_policies"]
    # AWS deregisters a deleted endpoint's targets, with their policies
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"] == []

    restore = {"action": "restore-endpoint", "endpoint": "image-embedder", "snapshot": deleted["snapshot"]}
    dry = env.invoke(restore)
    assert dry["status"] == "planned", dry
    assert dry["plan"]["after"]["AllTraffic"]["instance_count"] == running
    calls = dry["plan"]["calls"]
    assert [c.get("operation") or c["wait"]["until"] for c in calls] == [
        "CreateEndpointConfig",
        "gone",  # the delete is still under way: the restore waits for it
        "CreateEndpoint",
        "InService",
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "PutScalingPolicy",
    ]
    assert calls[0]["params"]["ProductionVariants"][0]["InitialInstanceCount"] == running
    assert (calls[4]["params"]["MinCapacity"], calls[4]["params"]["MaxCapacity"]) == (2, 6)
    assert sorted(c["params"]["PolicyName"] for c in calls[5:]) == ["image-embedder-invocations", "invocations"]

    real = {**restore, "dry_run": False, "confirm": "image-embedder", "request_id": "restore-image-embedder-01"}
    done = env.invoke(real)
    assert done["status"] == "done", done
    now = env.sm.describe_endpoint(EndpointName="image-embedder")
    assert now["ProductionVariants"][0]["CurrentInstanceCount"] == running
    cfg = env.sm.describe_endpoint_config(EndpointConfigName=now["EndpointConfigName"])
    assert cfg["ProductionVariants"][0]["InitialInstanceCount"] == running
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])["ScalableTargets"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(2, 6)]
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"]
    assert sorted(p["PolicyName"] for p in policies) == ["image-embedder-invocations", "invocations"]
    again = env.invoke({**real, "request_id": "restore-image-embedder-02"})  # nothing left to do
    assert again["status"] == "done" and again["plan"]["calls"] == [], again


# 6. a request that is not a JSON object


@pytest.mark.parametrize(
    "event",
    [json.dumps(json.loads((ROOT / "events/remediate/delete-endpoint-execute.json").read_text())), "[]", 3, None, [1]],
)
def test_a_request_that_is_not_an_object_is_invalid(remediation, event):
    result = remediation.invoke(event)
    assert result["status"] == "invalid" and "JSON object" in result["error"]
    assert exists(remediation, "churn-model-staging")


# 7. a refused real run is not remembered


def test_a_refusal_is_not_remembered_so_the_corrected_request_may_reuse_its_id(remediation):
    bad = request("delete-endpoint-execute", confirm="churn-model-stagin")  # the typo bad-confirm.json shows
    assert remediation.invoke(bad)["status"] == "refused"
    assert remediation.invoke(request("delete-endpoint-execute"))["status"] == "done"


# act, then always tell


def test_announcement_and_audit_failing_after_the_action_still_answer_done(remediation):
    env = remediation
    faults.fail_call(env.app.CLIENTS.sns(), "Publish", "KMSAccessDeniedException", "no key", status=400)
    faults.fail_call(
        env.app.CLIENTS.s3(),
        "PutObject",
        "AccessDenied",
        "denied",
        status=403,
        when=lambda p: str(p.get("Key", "")).startswith("audit/"),  # the snapshot is written, the audit is not
    )
    result = env.invoke(request("delete-endpoint-execute"))
    assert result["status"] == "done" and not exists(env, "churn-model-staging")
    assert any("audit record could not be written" in w for w in result["warnings"])
    assert any("announcement could not be published" in w for w in result["warnings"])


# the IAM deny and the code agree on what protected means


def test_protect_tag_is_matched_case_insensitively_by_iam_too():
    template = (ROOT / "template.yaml").read_text()
    assert 'StringEqualsIgnoreCase: { "aws:ResourceTag/sagewatch:protect": "true" }' in template


@pytest.mark.parametrize("value", ["true", "True", "TRUE", " true"])
def test_protected_endpoints_are_refused_whatever_the_case(remediation, value):
    arn = remediation.sm.describe_endpoint(EndpointName="churn-model-staging")["EndpointArn"]
    remediation.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "sagewatch:protect", "Value": value}])
    result = remediation.invoke(request("delete-endpoint-execute", force=True))
    assert result["status"] == "refused" and "sagewatch:protect" in result["error"]


# arbitrary JSON: never an unhandled exception, never a change unless a valid confirmed real run

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=4),
    max_leaves=15,
)
_requests = (
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(["delete-endpoint", "resize-variant", "set-instance-count", "restore-endpoint"])
            | _json,
            "endpoint": st.sampled_from(["churn-model-staging", "image-embedder", ""]) | _json,
        },
        optional={
            "dry_run": st.booleans() | _json,
            "confirm": st.sampled_from(["churn-model-staging", "image-embedder"]) | _json,
            "request_id": st.text("abcdef0123456789-", min_size=8, max_size=20) | _json,
            "instance_type": st.sampled_from(["ml.m5.xlarge", "ml.g5.xlarge"]) | _json,
            "instance_count": st.integers(-1, 200) | _json,
            "expect": _json,
            "force": st.booleans() | _json,
        },
    )
    | _json
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=_requests)
def test_arbitrary_requests_never_raise_and_change_only_when_confirmed(remediation, event):
    result = remediation.invoke(event)
    assert result["status"] in {"invalid", "refused", "planned", "stale", "done", "already-deleted"}
    if result["status"] == "done":
        assert isinstance(event, dict) and event.get("dry_run") is False and event.get("confirm") == event["endpoint"]
