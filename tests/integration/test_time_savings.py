"""Savings in time on moto: the demo fleet's off-hours, batch and consolidation findings; schedule-scaling from
the finding's own command, its scheduled actions created (Application Auto Scaling in moto) and removed by
restore-endpoint; its refusals; the weekly cost report's waste in time."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sagewatch.cli import _parser
from sagewatch.clicommands import _remediation_request
from sagewatch.commands import command_for
from sagewatch.models import Kind
from sagewatch_testkit import aws_rules, moto_ext

REGION = moto_ext.DEFAULT_REGION
RESOURCE = "endpoint/support-chatbot/variant/AllTraffic"


@pytest.fixture
def autoscaling(aws):
    return boto3.client("application-autoscaling", region_name=REGION)


def scheduled(autoscaling, resource=RESOURCE):
    actions = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
    return {a["ScheduledActionName"]: a for a in actions if a["ResourceId"] == resource}


def targets(autoscaling):
    found = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    return {t["ResourceId"]: t for t in found}


def off_hours_request(harness, **extra):
    """The request the off-hours finding's command makes (parsed by the CLI itself)."""
    report = harness.scan(datetime.now(UTC))
    [finding] = [f for f in report.findings if f.kind is Kind.OFF_HOURS]
    assert finding.endpoint == "support-chatbot"
    command = command_for(finding, REGION)
    assert command is not None
    args = _parser().parse_args(shlex.split(command)[1:])
    return finding, _remediation_request(args) | extra


def test_the_finding_command_plans_then_schedules_then_restore_removes_it(remediation, harness, autoscaling):
    finding, doc = off_hours_request(harness)
    plan = remediation.invoke(doc)
    assert plan["status"] == "planned", plan
    assert plan["plan"]["monthly_cost_change_usd"] == pytest.approx(-finding.monthly_savings_usd, abs=0.05)
    assert scheduled(autoscaling) == {} and RESOURCE not in targets(autoscaling)

    done = remediation.invoke(doc | {"dry_run": False, "confirm": "support-chatbot", "request_id": "offhours-0001"})
    assert done["status"] == "done", done
    actions = scheduled(autoscaling)
    assert set(actions) == {"sagewatch-offhours-down", "sagewatch-offhours-up"}
    down, up = actions["sagewatch-offhours-down"], actions["sagewatch-offhours-up"]
    assert down["Schedule"] == "cron(0 18 * * ? *)" and down["Timezone"] == "UTC"
    assert down["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 1}
    assert up["Schedule"] == "cron(0 8 ? * MON,TUE,WED,THU,FRI *)"
    assert up["ScalableTargetAction"] == {"MinCapacity": 4, "MaxCapacity": 4}
    target = targets(autoscaling)[RESOURCE]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (4, 4)  # registered at the working-hours limits
    assert done["snapshot"].startswith("snapshots/support-chatbot/") and done["audit"]
    [note] = remediation.announcements()
    assert note["request"]["action"] == "schedule-scaling" and note["snapshot"] == done["snapshot"]

    # the schedule runs: at 18:00 UTC the down action takes the variant to its off-hours limits (1-1), and
    # Application Auto Scaling takes the endpoint from 4 instances to 1 (an update of its own)
    now = aws_rules.CLOCK.now()
    evening = now.replace(hour=18, minute=0, second=0, microsecond=0)
    evening += timedelta(days=1) if evening <= now else timedelta(0)
    remediation.elapse((evening - now).total_seconds() + 60)
    target = targets(autoscaling)[RESOURCE]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 1)
    [variant] = remediation.sm.describe_endpoint(EndpointName="support-chatbot")["ProductionVariants"]
    assert variant["DesiredInstanceCount"] == 1
    remediation.elapse(aws_rules.DURATIONS.endpoint_update)

    restore = {"action": "restore-endpoint", "endpoint": "support-chatbot", "snapshot": done["snapshot"]}
    dry = remediation.invoke(restore)
    assert dry["status"] == "planned", dry
    assert [(c["operation"], c["params"].get("ResourceId")) for c in dry["plan"]["calls"]] == [
        ("DeregisterScalableTarget", RESOURCE),  # its scheduled actions go with it
        ("UpdateEndpointWeightsAndCapacities", None),
    ]
    assert dry["plan"]["calls"][1]["params"]["DesiredWeightsAndCapacities"] == [
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 4}
    ]
    undone = remediation.invoke(restore | {"dry_run": False, "confirm": "support-chatbot", "request_id": "undo-0001"})
    assert undone["status"] == "done", undone
    assert scheduled(autoscaling) == {}
    assert RESOURCE not in targets(autoscaling)  # sagewatch registered it: gone again
    [variant] = remediation.sm.describe_endpoint(EndpointName="support-chatbot")["ProductionVariants"]
    assert variant["DesiredInstanceCount"] == 4


def test_existing_auto_scaling_is_kept_and_a_foreign_schedule_refused(remediation, harness, autoscaling):
    _, doc = off_hours_request(harness)
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=4,
        MaxCapacity=6,
    )
    autoscaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="month-end-peak",
        ResourceId=RESOURCE,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        Schedule="cron(0 6 L * ? *)",
        ScalableTargetAction={"MinCapacity": 6, "MaxCapacity": 6},
    )
    real = doc | {"dry_run": False, "confirm": "support-chatbot", "request_id": "offhours-0002", "force": True}
    refused = remediation.invoke(real)
    assert refused["status"] == "refused" and "month-end-peak" in refused["error"], refused
    assert set(scheduled(autoscaling)) == {"month-end-peak"} and remediation.audits() == []

    autoscaling.delete_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="month-end-peak",
        ResourceId=RESOURCE,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )
    stale = remediation.invoke(real | {"request_id": "offhours-0003", "force": False})
    assert stale["status"] == "refused" and "differ from the auto scaling limits now (4-6)" in stale["error"], stale
    done = remediation.invoke(real | {"request_id": "offhours-0004"})  # forced: the person knows
    assert done["status"] == "done", done
    target = targets(autoscaling)[RESOURCE]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (4, 6)  # its limits were kept
    assert set(scheduled(autoscaling)) == {"sagewatch-offhours-down", "sagewatch-offhours-up"}


def test_protected_and_serverless_variants_are_refused(remediation, harness):
    _, doc = off_hours_request(harness)
    serverless = doc | {"endpoint": "sentiment-serverless", "variant": None, "expect": None}
    answer = remediation.invoke({k: v for k, v in serverless.items() if v is not None})
    assert answer["status"] == "refused" and "serverless" in answer["error"], answer
    arn = remediation.sm.describe_endpoint(EndpointName="support-chatbot")["EndpointArn"]
    remediation.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "sagewatch:protect", "Value": "true"}])
    answer = remediation.invoke(doc)
    assert answer["status"] == "refused" and "sagewatch:protect" in answer["error"], answer


def test_the_demo_fleet_shows_every_time_finding(demo, now):
    report = demo.scan(now)
    kinds = {(f.kind.value, f.endpoint) for f in report.findings}
    assert {("off-hours", "support-chatbot"), ("batch-candidate", "nightly-scorer")} <= kinds
    [group] = [f for f in report.findings if f.kind is Kind.CONSOLIDATE]
    assert [e["endpoint"] for e in group.evidence["endpoints"]] == [
        "tiny-langid",
        "tiny-sentiment",
        "tiny-spam",
        "tiny-toxicity",
    ]
    assert group.recommendation.consolidation["instance_type"] == "ml.m5.large"
    batch = next(f for f in report.findings if f.kind is Kind.BATCH_CANDIDATE)
    assert batch.evidence["busy_window"] == {"start": "01:00", "end": "03:00", "hours": 2}


def test_the_profile_read_is_batched(demo, now):
    """One more GetMetricData read for the whole fleet, not one per endpoint."""
    demo.calls.clear()
    demo.scan(now)
    endpoints = len(demo.sagemaker.list_endpoints(MaxResults=100)["Endpoints"])
    assert demo.calls["GetMetricData"] <= 4 < endpoints
