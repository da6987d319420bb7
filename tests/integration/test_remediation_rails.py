"""Every rail of remediation, one test each, asserting on the rail itself (its own refusal, and that nothing changed):
remove a rail and its test fails.

protect tag, confirm, dry run by default, stale check, idle re-check, not-InService refusal, snapshot first, seal
digest, accelerator change at dry run and at real run, idempotency binding, partial audited, PassRole of the
original role only, no minimum 0 for a real-time variant, unknown fields, the plan digest, capacity that grows by
surprise."""

from __future__ import annotations

import json

import boto3
import pytest

from sagewatch_testkit import aws_rules, faults, moto_ext
from sagewatch_testkit.functions import ROOT

REGION = moto_ext.DEFAULT_REGION
BUCKET = "sagewatch-remediation"


def sample(name: str, **changes) -> dict:
    return {**json.loads((ROOT / "events" / "remediate" / f"{name}.json").read_text()), **changes}


def untouched(env, name: str, config: str | None = None) -> None:
    """Nothing was done: no audit, no notice, the endpoint InService on its config."""
    live = env.sm.describe_endpoint(EndpointName=name)
    assert live["EndpointStatus"] == "InService"
    if config:
        assert live["EndpointConfigName"] == config
    assert env.audits() == [] and env.announcements() == []


def refused(result: dict, said: str) -> None:
    assert result["status"] == "refused", result
    assert said in result["error"], result["error"]


def test_rail_protect_tag(remediation):
    arn = remediation.sm.describe_endpoint(EndpointName="doc-classifier")["EndpointArn"]
    remediation.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "sagewatch:protect", "Value": "True"}])
    for name in ("resize-variant-dry-run", "resize-variant-execute"):
        refused(remediation.invoke(sample(name)), "tagged sagewatch:protect=true")
    untouched(remediation, "doc-classifier", "doc-classifier-config")


def test_rail_confirm(remediation):
    refused(remediation.invoke(sample("resize-variant-execute", confirm=None)), "a real run needs confirm")
    refused(remediation.invoke(sample("resize-variant-execute", confirm="doc-classifiers")), "confirm must be")
    untouched(remediation, "doc-classifier", "doc-classifier-config")


def test_rail_dry_run_by_default(remediation):
    request = sample("resize-variant-execute")
    for key in ("dry_run", "confirm", "request_id"):
        del request[key]
    result = remediation.invoke(request)
    assert result["status"] == "planned" and result["dry_run"] is True, result
    untouched(remediation, "doc-classifier", "doc-classifier-config")


def test_rail_stale_check(remediation):
    stale = sample("resize-variant-execute", expect={"instance_type": "ml.m5.4xlarge", "instance_count": 2})
    refused(remediation.invoke(stale), "the finding is stale: instance count is now 3, the finding saw 2")
    dry = remediation.invoke({**stale, "dry_run": True})
    assert dry["status"] == "stale"
    untouched(remediation, "doc-classifier", "doc-classifier-config")


def test_rail_idle_recheck(remediation):
    busy = sample(
        "delete-endpoint-execute",
        endpoint="fraud-detector-prod",
        confirm="fraud-detector-prod",
        expect={"instance_type": "ml.m5.xlarge", "instance_count": 2, "idle": True},
    )
    refused(remediation.invoke(busy), "it is no longer idle")
    untouched(remediation, "fraud-detector-prod")


@pytest.mark.parametrize("state", ["Creating", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"])
def test_rail_not_in_service(remediation, state):
    """A real run of any action but a delete refuses an endpoint being deployed or failing: SageMaker would refuse
    the update, and someone is changing it."""
    moto_ext.set_endpoint_status(REGION, "doc-classifier", state)
    said = f"endpoint doc-classifier is {state}: try again when it is InService"  # the rail, not the model behind it
    refused(remediation.invoke(sample("resize-variant-execute", force=True)), said)
    live = remediation.sm.describe_endpoint(EndpointName="doc-classifier")
    assert live["EndpointStatus"] == state and live["EndpointConfigName"] == "doc-classifier-config"
    assert remediation.audits() == []


def test_rail_snapshot_first(remediation):
    """No snapshot, no change: when the sealed snapshot cannot be written, nothing is done."""
    faults.fail_call(
        remediation.app.CLIENTS.s3(),
        "PutObject",
        "AccessDenied",
        "denied",
        status=403,
        when=lambda p: str(p.get("Key", "")).startswith("snapshots/"),
    )
    with pytest.raises(remediation.sm.exceptions.ClientError, match="AccessDenied"):
        remediation.invoke(sample("resize-variant-execute"))
    untouched(remediation, "doc-classifier", "doc-classifier-config")


def test_rail_seal_digest(remediation):
    done = remediation.invoke(sample("resize-variant-execute"))
    assert done["status"] == "done"
    remediation.elapse(aws_rules.DURATIONS.endpoint_update)
    s3 = boto3.client("s3", region_name=REGION)
    doc = json.loads(s3.get_object(Bucket=BUCKET, Key=done["snapshot"])["Body"].read())
    doc["endpoint_config"]["ProductionVariants"][0]["InstanceType"] = "ml.p4d.24xlarge"  # rewritten
    seal = f"seals/{done['snapshot']}"
    s3.put_object(
        Bucket=BUCKET,
        Key=seal,
        Body=json.dumps(
            {**json.loads(s3.get_object(Bucket=BUCKET, Key=seal)["Body"].read()), "version_id": None}
        ).encode(),
    )
    s3.put_object(Bucket=BUCKET, Key=done["snapshot"], Body=json.dumps(doc).encode())
    restore = {
        "action": "restore-endpoint",
        "endpoint": "doc-classifier",
        "snapshot": done["snapshot"],
        "dry_run": False,
        "confirm": "doc-classifier",
        "request_id": "rail-seal-0001",
    }
    refused(remediation.invoke(restore), "SHA-256 differs from the seal")


def test_rail_accelerator_change_at_dry_run(remediation):
    request = sample("resize-variant-dry-run", instance_type="ml.g5.xlarge")
    refused(remediation.invoke(request), "changes its accelerator (CPU -> NVIDIA GPU)")
    untouched(remediation, "doc-classifier", "doc-classifier-config")


def test_rail_accelerator_change_at_real_run(remediation):
    request = sample("resize-variant-execute", instance_type="ml.g5.xlarge", allow_accelerator_change=True)
    refused(remediation.invoke(request), "needs both allow_accelerator_change true and force true")
    untouched(remediation, "doc-classifier", "doc-classifier-config")


def test_rail_idempotency_binding(remediation):
    first = remediation.invoke(sample("set-instance-count-execute"))
    assert first["status"] == "done"
    again = remediation.invoke(sample("set-instance-count-execute", instance_count=3))  # same id, another request
    refused(again, "already used for a different request")
    assert len(remediation.audits()) == 1


def test_rail_partial_audited(remediation):
    aws_rules.set_durations(endpoint_update=5000)  # longer than the function has
    try:
        result = remediation.invoke(
            sample(
                "resize-variant-execute",
                endpoint="image-embedder",
                confirm="image-embedder",
                instance_type="ml.g5.xlarge",
                instance_count=2,
                min_capacity=2,
                max_capacity=4,
                expect=None,
                force=True,
            )
        )
    finally:
        aws_rules.set_durations(endpoint_update=aws_rules.Durations.endpoint_update)
    assert result["status"] == "partial", result
    audit = json.loads(
        boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=result["audit"])["Body"].read()
    )
    assert audit["status"] == "partial" and audit["left"] and audit["resume"] == result["resume"]
    [notice] = remediation.announcements()
    assert notice["status"] == "partial"
    # the resume goes on where it stopped: after the wait, the auto scaling put back with its new limits
    remediation.elapse(5000)
    resumed = remediation.invoke(result["resume"])
    assert resumed["status"] == "done", resumed
    aas = boto3.client("application-autoscaling", region_name=REGION)
    [target] = aas.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=["endpoint/image-embedder/variant/AllTraffic"]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)


def test_rail_passrole_of_the_original_role_only(remediation):
    done = remediation.invoke({**sample("delete-endpoint-execute"), "force": True})
    remediation.elapse(aws_rules.DURATIONS.endpoint_delete)
    config = remediation.sm.describe_endpoint_config(EndpointConfigName="churn-model-staging-config")
    remediation.sm.delete_endpoint_config(EndpointConfigName="churn-model-staging-config")
    remediation.sm.create_endpoint_config(
        EndpointConfigName="churn-model-staging-config",
        ProductionVariants=config["ProductionVariants"],
        ExecutionRoleArn="arn:aws:iam::123456789012:role/someone-elses",
    )
    restore = {
        "action": "restore-endpoint",
        "endpoint": "churn-model-staging",
        "snapshot": done["snapshot"],
        "dry_run": False,
        "confirm": "churn-model-staging",
        "request_id": "rail-role-0001",
    }
    refused(remediation.invoke(restore), "execution role")


def test_rail_no_minimum_zero_for_a_real_time_variant(remediation):
    limits = sample("set-scaling-limits-execute", min_capacity=0)
    refused(remediation.invoke(limits), "a real-time variant cannot scale to a minimum of 0")
    night = {
        "timezone": "UTC",
        "scheduled_actions": [
            {"name": "sagewatch-offhours-down", "schedule": "cron(0 20 * * ? *)", "min_capacity": 0, "max_capacity": 0},
            {"name": "sagewatch-offhours-up", "schedule": "cron(0 8 * * ? *)", "min_capacity": 1, "max_capacity": 1},
        ],
    }
    schedule = sample(
        "schedule-scaling-execute",
        endpoint="llm-chat-prod",
        confirm="llm-chat-prod",
        schedule=night,
        expect=None,
        force=True,
    )
    refused(remediation.invoke(schedule), "never goes below 1")
    untouched(remediation, "llm-chat-prod")


def test_rail_unknown_fields(remediation):
    result = remediation.invoke(sample("resize-variant-execute", instance_cont=2))
    assert result["status"] == "invalid" and "instance_cont: Extra inputs are not permitted" in result["error"]
    nested = remediation.invoke(sample("resize-variant-execute", expect={"instance_type": "ml.m5.4xlarge", "x": 1}))
    assert nested["status"] == "invalid" and "expect.x" in nested["error"]
    untouched(remediation, "doc-classifier", "doc-classifier-config")


def test_rail_plan_digest(remediation):
    dry = remediation.invoke(sample("resize-variant-dry-run"))
    request = sample("resize-variant-execute")
    request["expect"] = {**request["expect"], "plan_digest": "0" * 64}
    refused(remediation.invoke({**request, "force": True}), "not the one the dry run showed")
    untouched(remediation, "doc-classifier", "doc-classifier-config")
    request["expect"]["plan_digest"] = dry["plan"]["digest"]
    assert remediation.invoke(request)["status"] == "done"


def test_rail_capacity_never_grows_by_surprise(remediation):
    aas = boto3.client("application-autoscaling", region_name=REGION)
    grow = sample("set-scaling-limits-execute", expect={"instance_type": "ml.g5.12xlarge", "instance_count": 1})
    refused(remediation.invoke(grow), "above its maximum today (1)")  # no recommendation of 3 in the request
    same_minute = {
        "timezone": "UTC",
        "scheduled_actions": [
            {"name": "sagewatch-offhours-a", "schedule": "cron(0 20 * * ? *)", "min_capacity": 1, "max_capacity": 1},
            {"name": "sagewatch-offhours-b", "schedule": "cron(0 20 * * ? *)", "min_capacity": 1, "max_capacity": 1},
        ],
    }
    schedule = sample("schedule-scaling-execute", schedule=same_minute)
    refused(remediation.invoke(schedule), "both run on endpoint/support-chatbot/variant/AllTraffic at MON 20:00")
    thousand = json.loads(json.dumps(sample("schedule-scaling-execute")["schedule"]))
    thousand["scheduled_actions"][1] |= {"min_capacity": 1000, "max_capacity": 1000}
    refused(
        remediation.invoke(sample("schedule-scaling-execute", schedule=thousand)),
        "a maximum of 1000 on scheduled action sagewatch-offhours-up",
    )
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert "endpoint/support-chatbot/variant/AllTraffic" not in {t["ResourceId"] for t in targets}  # nothing done
    assert remediation.audits() == []
