"""The plan is the calls: what a dry run lists is what the real run does, on a test AWS that refuses what AWS
refuses, and the undo puts back everything the action touched.

- For every action of the registry (its sample events): the calls the real run makes are exactly the calls its dry
  run listed, in order, with the same parameters.
- A property test over generated endpoints (instance variants with and without auto scaling, target tracking and
  step scaling policies with their alarms, scheduled actions, asynchronous endpoints, inference components with
  and without auto scaling): every action that applies is planned, carried out and checked against what its plan
  predicted, then restored from its snapshot and checked against what the snapshot saw.
- The demo's image-embedder resize, and what AWS does to a resize that skips the deregistration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from sagewatch.app.remediate import remediate
from sagewatch.aws.clients import Clients
from sagewatch.aws.remediate import RemediationTarget
from sagewatch.aws.wiring import remediation_dependencies
from sagewatch.catalog import Catalog
from sagewatch.cli import _parser
from sagewatch.clicommands import _remediation_request
from sagewatch.commands import command_for
from sagewatch.models import Kind
from sagewatch.remediation import ACTIONS, LiveEndpoint, RemediationRequest, plan_action
from sagewatch.remediation.model import State
from sagewatch.settings import Thresholds
from sagewatch_testkit import aws_rules, fleet, iam, moto_ext
from sagewatch_testkit.functions import ROOT

REGION = moto_ext.DEFAULT_REGION
BUCKET = "sagewatch-remediation"
CHANGES = {
    "sagemaker": {
        "CreateEndpointConfig",
        "CreateEndpoint",
        "UpdateEndpoint",
        "UpdateEndpointWeightsAndCapacities",
        "DeleteEndpoint",
        "CreateInferenceComponent",
        "DeleteInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
    },
    "application-autoscaling": {
        "RegisterScalableTarget",
        "DeregisterScalableTarget",
        "PutScalingPolicy",
        "DeleteScalingPolicy",
        "PutScheduledAction",
        "DeleteScheduledAction",
    },
    "cloudwatch": {"PutMetricAlarm", "DeleteAlarms"},
}


def _sample(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / "remediate" / f"{name}.json").read_text())


def changes(calls: list[iam.Call]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(c.service, c.operation, dict(c.params)) for c in calls if c.operation in CHANGES.get(c.service, set())]


def _same(planned: Any, sent: Any) -> bool:
    """A planned parameter and the one sent: equal, or a value an earlier answer filled in (shown as <... step N>)."""
    if isinstance(planned, str) and planned.startswith("<") and "returned by step" in planned:
        return isinstance(sent, str) and sent.startswith("arn:")
    if isinstance(planned, dict) and isinstance(sent, dict):
        return planned.keys() == sent.keys() and all(_same(planned[k], sent[k]) for k in planned)
    if isinstance(planned, list) and isinstance(sent, list):
        return len(planned) == len(sent) and all(_same(a, b) for a, b in zip(planned, sent, strict=True))
    return bool(planned == sent)


# --- every action of the registry, from its sample events ---------------------------------------------------


@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "restore-endpoint"])
def test_the_real_run_makes_exactly_the_calls_its_dry_run_listed(remediation, action):
    env = remediation
    if action == "remove-provisioned-concurrency":
        fleet.seed(
            env.sm,
            [fleet.SimEndpoint("reranker-warm", [fleet.SimVariant("AllTraffic", None, provisioned=3)])],
            region=REGION,
            now=datetime.now(UTC),
        )
    dry = env.invoke({**_sample(f"{action}-dry-run"), "force": True})
    assert dry["status"] == "planned", dry
    recorder = iam.CallRecorder()
    with recorder.recording():
        real = env.invoke({**_sample(f"{action}-execute"), "force": True})
    assert real["status"] == "done", real
    assert real["plan"]["digest"] == dry["plan"]["digest"]  # planned again by the real run: the same calls
    planned = [(c["service"], c["operation"], c["params"]) for c in dry["plan"]["calls"] if "operation" in c]
    sent = changes(recorder.take())
    assert [(s, o) for s, o, _ in sent] == [(s, o) for s, o, _ in planned]
    for (_, operation, want), (_, _, got) in zip(planned, sent, strict=True):
        assert _same(want, got), (operation, want, got)
    # and the real run's answer says so, step by step
    assert [d.split(":")[0] for d in real["done"]] == [f"step {c['step']}" for c in dry["plan"]["calls"]]


def test_a_restore_makes_exactly_the_calls_its_dry_run_listed(remediation):
    env = remediation
    done = env.invoke({**_sample("delete-endpoint-execute"), "force": True})
    assert done["status"] == "done"
    restore = {**_sample("restore-endpoint-execute"), "snapshot": done["snapshot"]}
    dry = env.invoke({**restore, "dry_run": True, "confirm": None, "request_id": None})
    recorder = iam.CallRecorder()
    with recorder.recording():
        real = env.invoke(restore)
    assert real["status"] == "done" and real["plan"]["digest"] == dry["plan"]["digest"], real
    planned = [(c["service"], c["operation"]) for c in dry["plan"]["calls"] if "operation" in c]
    assert [(s, o) for s, o, _ in changes(recorder.take())] == planned


# --- the demo's auto scaled resize ---------------------------------------------------------------------------


def test_the_image_embedder_finding_resizes_with_its_auto_scaling_taken_down_and_put_back(remediation, harness, now):
    env = remediation
    report = harness.scan(now)
    [finding] = [f for f in report.findings if f.endpoint == "image-embedder" and f.kind is Kind.OVERSIZED]
    command = command_for(finding, REGION)
    assert command is not None
    request = _remediation_request(_parser().parse_args(command.split()[1:]))
    assert (request["min_capacity"], request["max_capacity"]) == (2, 4)  # "4-8 become 2-4" travels in the request
    dry = env.invoke(request)
    assert dry["status"] == "planned", dry
    operations = [c.get("operation") or f"wait {c['wait']['until']}" for c in dry["plan"]["calls"]]
    assert operations == [
        "DeleteScalingPolicy",
        "DeregisterScalableTarget",
        "CreateEndpointConfig",
        "UpdateEndpoint",
        "wait InService",
        "RegisterScalableTarget",
        "PutScalingPolicy",
    ]
    assert any("auto scaling of AllTraffic is paused" in n for n in dry["plan"]["notes"])
    assert dry["plan"]["after"]["AllTraffic"]["scaling"] == "minimum 2, maximum 4"
    real = env.invoke(
        request
        | {
            "dry_run": False,
            "confirm": "image-embedder",
            "request_id": "embedder-resize-01",
            "expect": {**request["expect"], "plan_digest": dry["plan"]["digest"]},
        }
    )
    assert real["status"] == "done", real
    aas = boto3.client("application-autoscaling", region_name=REGION)
    resource = "endpoint/image-embedder/variant/AllTraffic"
    [target] = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    [policy] = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"]
    assert policy["PolicyName"] == "image-embedder-invocations" and policy["PolicyType"] == "TargetTrackingScaling"
    live = env.sm.describe_endpoint(EndpointName="image-embedder")
    config = env.sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == request["instance_type"]
    assert live["ProductionVariants"][0]["DesiredInstanceCount"] == request["instance_count"]


def test_a_resize_of_an_auto_scaled_variant_without_deregistering_it_fails_as_aws_does(remediation):
    """What sagewatch did before its plans were calls: create the config and UpdateEndpoint straight away."""
    env = remediation
    env.sm.create_endpoint_config(
        EndpointConfigName="image-embedder-smaller",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "image-embedder-model",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 2,
            }
        ],
    )
    with pytest.raises(env.sm.exceptions.ClientError) as refused:
        env.sm.update_endpoint(EndpointName="image-embedder", EndpointConfigName="image-embedder-smaller")
    assert "registered with Application Auto Scaling" in str(refused.value)
    assert "endpoint-auto-scaling-update.html" in str(refused.value)
    assert env.sm.describe_endpoint(EndpointName="image-embedder")["EndpointStatus"] == "InService"


def test_a_plan_digest_binds_the_real_run_to_the_dry_run(remediation):
    env = remediation
    dry = env.invoke(_sample("resize-variant-dry-run"))
    digest = dry["plan"]["digest"]
    real = _sample("resize-variant-execute")
    changed = env.invoke({**real, "instance_count": 2, "expect": {**real["expect"], "plan_digest": digest}})
    assert changed["status"] == "refused" and "not the one the dry run showed" in changed["error"], changed
    assert env.audits() == []
    done = env.invoke({**real, "expect": {**real["expect"], "plan_digest": digest}, "request_id": "bound-0002"})
    assert done["status"] == "done", done


# --- generated endpoints ------------------------------------------------------------------------------------

TYPES = ["ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.xlarge"]
ROLE = fleet.ROLE


@dataclass
class GenVariant:
    name: str
    instance_type: str
    count: int
    scaling: tuple[int, int] | None = None
    policies: list[str] = field(default_factory=list)  # "target", "step"
    scheduled: bool = False


@dataclass
class GenComponent:
    name: str
    copies: int
    scaling: tuple[int, int] | None = None


@dataclass
class GenEndpoint:
    variants: list[GenVariant]
    is_async: bool = False
    components: list[GenComponent] = field(default_factory=list)
    name: str = "gen"


@st.composite
def variants(draw: Any, name: str) -> GenVariant:
    count = draw(st.integers(1, 4))
    scaled = draw(st.booleans())
    scaling = (draw(st.integers(1, count)), draw(st.integers(count, 6))) if scaled else None
    policies = draw(st.lists(st.sampled_from(["target", "step"]), unique=True, max_size=2)) if scaled else []
    scheduled = draw(st.booleans()) if scaled else False
    return GenVariant(name, draw(st.sampled_from(TYPES)), count, scaling, policies, scheduled)


@st.composite
def endpoints(draw: Any) -> GenEndpoint:
    kind = draw(st.sampled_from(["one", "two", "async", "components"]))
    if kind == "components":
        comps = [
            GenComponent(f"gen-ic{i}", copies, (1, copies + draw(st.integers(0, 2))) if draw(st.booleans()) else None)
            for i, copies in enumerate(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
        ]
        return GenEndpoint([GenVariant("AllTraffic", "ml.g5.2xlarge", 1)], components=comps)
    first = draw(variants("AllTraffic"))
    if kind == "two":
        return GenEndpoint([first, draw(variants("challenger"))])
    return GenEndpoint([first], is_async=kind == "async")


def _far_hour() -> int:
    """An hour far from now: a scheduled action of the test never fires while the test runs."""
    return (aws_rules.CLOCK.now().hour + 12) % 24


def seed(ep: GenEndpoint) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    aas = boto3.client("application-autoscaling", region_name=REGION)
    cw = boto3.client("cloudwatch", region_name=REGION)
    sm.create_model(ModelName="gen-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "1.dkr.ecr/x:1"})
    config: dict[str, Any] = {"EndpointConfigName": "gen-config", "ProductionVariants": []}
    for v in ep.variants:
        variant: dict[str, Any] = {
            "VariantName": v.name,
            "InstanceType": v.instance_type,
            "InitialInstanceCount": v.count,
        }
        if not ep.components:
            variant |= {"ModelName": "gen-model", "InitialVariantWeight": 1.0}
        config["ProductionVariants"].append(variant)
    if ep.is_async:
        config["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": "s3://out/gen/"}}
    if ep.components:
        config["ExecutionRoleArn"] = ROLE
    sm.create_endpoint_config(**config)
    sm.create_endpoint(EndpointName=ep.name, EndpointConfigName="gen-config", Tags=[{"Key": "team", "Value": "t"}])
    moto_ext.in_service(REGION, [ep.name])
    for c in ep.components:
        sm.create_inference_component(
            InferenceComponentName=c.name,
            EndpointName=ep.name,
            VariantName="AllTraffic",
            Specification={
                "ModelName": "gen-model",
                "Container": {"Image": "1.dkr.ecr.us-east-1.amazonaws.com/m:2"},
                "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
            },
            RuntimeConfig={"CopyCount": c.copies},
        )
    moto_ext.in_service(REGION, [ep.name])
    for v in ep.variants:
        if v.scaling:
            _scaling(aas, cw, f"endpoint/{ep.name}/variant/{v.name}", "sagemaker:variant:DesiredInstanceCount", v)
    for c in ep.components:
        if c.scaling:
            resource = f"inference-component/{c.name}"
            aas.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=resource,
                ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
                MinCapacity=c.scaling[0],
                MaxCapacity=c.scaling[1],
            )
    moto_ext.in_service(REGION, [ep.name])


def _scaling(aas: Any, cw: Any, resource: str, dimension: str, v: GenVariant) -> None:
    assert v.scaling is not None
    base = {"ServiceNamespace": "sagemaker", "ResourceId": resource, "ScalableDimension": dimension}
    aas.register_scalable_target(**base, MinCapacity=v.scaling[0], MaxCapacity=v.scaling[1])
    if "target" in v.policies:
        aas.put_scaling_policy(
            **base,
            PolicyName="owner-target",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 500.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            },
        )
    if "step" in v.policies:
        arn = aas.put_scaling_policy(
            **base,
            PolicyName="owner-step",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
                "Cooldown": 120,
            },
        )["PolicyARN"]
        cw.put_metric_alarm(
            AlarmName=f"owner-cpu-{v.name}",
            Namespace="/aws/sagemaker/Endpoints",
            MetricName="CPUUtilization",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=3,
            Threshold=80.0,
            ComparisonOperator="GreaterThanThreshold",
            AlarmActions=[arn],
            Dimensions=[{"Name": "EndpointName", "Value": "gen"}, {"Name": "VariantName", "Value": v.name}],
        )
    if v.scheduled:
        aas.put_scheduled_action(
            **base,
            ScheduledActionName="owner-peak",
            Schedule=f"cron(0 {_far_hour()} * * ? *)",
            ScalableTargetAction={"MinCapacity": v.scaling[0], "MaxCapacity": v.scaling[1]},
        )


def requests_for(ep: GenEndpoint) -> list[dict[str, Any]]:
    """Every action that applies to `ep`, as a person (or a finding) would ask for it."""
    out: list[dict[str, Any]] = [{"action": "delete-endpoint"}]
    if ep.is_async or ep.components:
        out.append({"action": "scale-to-zero"})
    for v in ep.variants if not ep.components else []:
        other = next(t for t in TYPES if t != v.instance_type)
        if v.scaling:
            low, high = v.scaling
            if v.scheduled:  # its limits are the schedule's: the resize keeps them
                out.append({"action": "resize-variant", "variant": v.name, "instance_type": other})
            else:
                smaller = max(1, v.count - 1)
                out.append(
                    {
                        "action": "resize-variant",
                        "variant": v.name,
                        "instance_type": other,
                        "instance_count": smaller,
                        "min_capacity": 1,
                        "max_capacity": high,
                    }
                )
                if smaller != v.count:
                    out.append(
                        {
                            "action": "resize-variant",
                            "variant": v.name,
                            "instance_count": smaller,
                            "min_capacity": 1,
                            "max_capacity": high,
                        }
                    )
            if (low, high) != (1, high + 1):
                out.append(
                    {
                        "action": "set-scaling-limits",
                        "variant": v.name,
                        "min_capacity": 1,
                        "max_capacity": high + 1,
                        "expect": {"max_capacity": high + 1},
                    }
                )
        else:
            out.append({"action": "resize-variant", "variant": v.name, "instance_type": other})
            out.append({"action": "set-instance-count", "variant": v.name, "instance_count": v.count + 1})
            if not ep.is_async:
                out.append(
                    {"action": "set-scaling-limits", "variant": v.name, "min_capacity": 1, "max_capacity": v.count}
                )
        if len(ep.variants) == 2:
            out.append({"action": "remove-variant", "variant": v.name})
        if not v.scheduled and not ep.is_async:
            up = v.scaling or (v.count, v.count)
            hour = _far_hour()
            actions = [
                {
                    "name": "sagewatch-offhours-down",
                    "schedule": f"cron(0 {hour} * * ? *)",
                    "min_capacity": 1,
                    "max_capacity": 1,
                },
                {
                    "name": "sagewatch-offhours-up",
                    "schedule": f"cron(0 {(hour + 6) % 24} * * ? *)",
                    "min_capacity": up[0],
                    "max_capacity": up[1],
                },
            ]
            out.append(
                {
                    "action": "schedule-scaling",
                    "variant": v.name,
                    "schedule": {"timezone": "UTC", "scheduled_actions": actions},
                }
            )
    return [{"endpoint": ep.name, **r} for r in out]


def _deps() -> Any:
    return remediation_dependencies(
        Clients(REGION),
        bucket=BUCKET,
        announcer=_Silent(),
        thresholds=Thresholds(),
        account=moto_ext.DEFAULT_ACCOUNT,
        catalog=Catalog.load(),
    )


class _Silent:
    def publish(self, notice: Any) -> list[str]:
        return ["m-1"]


def _footprint(name: str) -> dict[str, Any]:
    reader = RemediationTarget(
        *(boto3.client(s, region_name=REGION) for s in ("sagemaker", "s3", "application-autoscaling", "cloudwatch")),
        BUCKET,
    )
    live = reader.read(name)
    return State.of(live, name).footprint()


def _run(request: dict[str, Any], seconds: float = 900) -> dict[str, Any]:
    model = RemediationRequest.model_validate(request)
    return remediate(model, _deps(), seconds=seconds)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ep=endpoints(), pick=st.integers(0, 1000))
# found by CI: a delete takes a step policy whose alarm stays; restore puts the policy back under a new ARN, and
# a second restore must see that alarm as already put back (compared by the policy it names, not its id)
@example(
    ep=GenEndpoint([GenVariant("AllTraffic", "ml.m5.xlarge", 1, scaling=(1, 1), policies=["target", "step"])]),
    pick=0,
)
# found by CI: removing a variant deregisters its target and policies; the owner's alarm stays in CloudWatch but
# out of the endpoint's sight, and the plan's prediction must say the same
@example(
    ep=GenEndpoint(
        [
            GenVariant("AllTraffic", "ml.m5.xlarge", 1, scaling=(1, 1), policies=["step"]),
            GenVariant("challenger", "ml.m5.xlarge", 1),
        ]
    ),
    pick=3,
)
def test_every_action_does_what_its_plan_said_and_its_undo_puts_everything_back(ep, pick, monkeypatch):
    monkeypatch.setattr("sagewatch.aws.remediate.time", aws_rules.VirtualTime)
    aws_rules.CLOCK.reset()
    moto_ext.install()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        seed(ep)
        options = requests_for(ep)
        request = options[pick % len(options)]
        before = _footprint(ep.name)
        real = {**request, "dry_run": False, "confirm": ep.name, "request_id": "generated-0001", "force": True}
        done = _run(real)
        assert done["status"] == "done", (request, done)
        aws_rules.CLOCK.sleep(900)  # every update, create and delete finishes
        after = _footprint(ep.name)
        predicted = _predicted(request, done)
        assert after == predicted, (request, after, predicted)
        restore = {
            "action": "restore-endpoint",
            "endpoint": ep.name,
            "snapshot": done["snapshot"],
            "dry_run": False,
            "confirm": ep.name,
            "request_id": "generated-0002",
        }
        undone = _run(restore)
        assert undone["status"] == "done", (request, undone)
        aws_rules.CLOCK.sleep(900)
        assert _footprint(ep.name) == before, request
        again = _run({**restore, "dry_run": True, "request_id": None})
        assert again["plan"]["calls"] == [], (request, again["plan"]["calls"])  # nothing left to put back


def _predicted(request: dict[str, Any], done: dict[str, Any]) -> dict[str, Any]:
    """What the plan predicted the endpoint becomes: replanned from the run's own snapshot (the endpoint as it was
    read), exactly as a resume would (the same calls: its digest is checked)."""
    s3 = boto3.client("s3", region_name=REGION)
    snapshot = json.loads(s3.get_object(Bucket=BUCKET, Key=done["snapshot"])["Body"].read())
    model = RemediationRequest.model_validate({**request, "dry_run": True, "force": True})
    plan = plan_action(model, LiveEndpoint.from_snapshot(snapshot), Catalog.load())
    assert plan.digest == done["plan"]["digest"]
    return plan.expected
