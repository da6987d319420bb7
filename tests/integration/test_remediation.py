"""Remediation on moto: every action, dry and real, and every refusal."""

import json
from collections import Counter
from pathlib import Path

import boto3
import pytest

from sagewatch_testkit import aws_rules, faults, moto_ext
from sagewatch_testkit.functions import lambda_context

ROOT = Path(__file__).resolve().parents[2]
REGION = moto_ext.DEFAULT_REGION
BUCKET = "sagewatch-remediation"


def request(name, **changes):
    doc = json.loads((ROOT / "events" / "remediate" / f"{name}.json").read_text())
    return {**doc, **changes}


def context():
    return lambda_context("remediate")


@pytest.fixture
def env(remediation):
    return remediation


ACTIONS = ["delete-endpoint", "remove-variant", "resize-variant", "set-instance-count", "scale-to-zero"]


@pytest.mark.parametrize("action", ACTIONS)
def test_dry_run_plans_and_changes_nothing(env, action):
    before = env.sm.describe_endpoint(EndpointName=request(f"{action}-dry-run")["endpoint"])
    result = env.invoke(request(f"{action}-dry-run"))
    assert result["status"] == "planned" and result["dry_run"] is True, result
    plan = result["plan"]
    assert plan["before"] and plan["steps"] and plan["rollback"]
    assert plan["monthly_cost_change_usd"] is not None
    after = env.sm.describe_endpoint(EndpointName=before["EndpointName"])
    assert after["EndpointConfigName"] == before["EndpointConfigName"] and env.audits() == []


def test_delete_snapshots_first_then_restore_round_trips(env):
    result = env.invoke(request("delete-endpoint-execute"))
    assert result["status"] == "done", result
    assert result["plan"]["monthly_cost_change_usd"] == -round(0.461 * 730, 2)
    # SageMaker deletes in the background: Deleting for a while, then gone
    assert env.sm.describe_endpoint(EndpointName="churn-model-staging")["EndpointStatus"] == "Deleting"
    env.elapse(aws_rules.DURATIONS.endpoint_delete)
    with pytest.raises(env.sm.exceptions.ClientError):
        env.sm.describe_endpoint(EndpointName="churn-model-staging")
    env.sm.describe_endpoint_config(EndpointConfigName="churn-model-staging-config")  # kept
    snapshot = json.loads(env.s3.get_object(Bucket=BUCKET, Key=result["snapshot"])["Body"].read())
    assert snapshot["endpoint"]["EndpointName"] == "churn-model-staging"
    assert len(env.audits()) == 1
    [note] = env.announcements()
    assert note["request"]["action"] == "delete-endpoint" and note["snapshot"] == result["snapshot"]

    dry = env.invoke(request("restore-endpoint-dry-run", snapshot=result["snapshot"]))
    assert dry["status"] == "planned" and dry["plan"]["monthly_cost_change_usd"] == round(0.461 * 730, 2)
    restored = env.invoke(request("restore-endpoint-execute", snapshot=result["snapshot"]))
    assert restored["status"] == "done", restored
    live = env.sm.describe_endpoint(EndpointName="churn-model-staging")
    assert live["EndpointConfigName"] == "churn-model-staging-config"


def test_deleting_again_is_success_while_it_deletes_and_once_it_is_gone(env):
    assert env.invoke(request("delete-endpoint-execute"))["status"] == "done"
    again = env.invoke(request("delete-endpoint-execute", request_id="delete-again-0002"))
    assert again["status"] == "already-deleted"  # still Deleting
    env.elapse(aws_rules.DURATIONS.endpoint_delete)
    gone = env.invoke(request("delete-endpoint-execute", request_id="delete-again-0003"))
    assert gone["status"] == "already-deleted"


def test_delete_of_an_endpoint_with_inference_components(env):
    result = env.invoke(
        {
            "action": "delete-endpoint",
            "endpoint": "genai-sandbox",
            "dry_run": False,
            "confirm": "genai-sandbox",
            "request_id": "sandbox-delete-0001",
            "expect": {"instance_type": "ml.g5.2xlarge", "instance_count": 1, "idle": True},
        }
    )
    assert result["status"] == "done", result
    assert result["done"][0] == "step 1: delete inference component sandbox-model-a"
    assert result["done"][1].startswith("step 2: waited") and "sandbox-model-a is deleted" in result["done"][1]
    assert env.sm.list_inference_components(EndpointNameEquals="genai-sandbox")["InferenceComponents"] == []
    snapshot = json.loads(env.s3.get_object(Bucket=BUCKET, Key=result["snapshot"])["Body"].read())
    assert [c["InferenceComponentName"] for c in snapshot["inference_components"]] == ["sandbox-model-a"]
    # restore right away: it waits until the delete is done, creates the endpoint, waits until it is InService,
    # then creates the component
    restored = env.invoke(
        {
            "action": "restore-endpoint",
            "endpoint": "genai-sandbox",
            "snapshot": result["snapshot"],
            "dry_run": False,
            "confirm": "genai-sandbox",
            "request_id": "sandbox-restore-0001",
        }
    )
    assert restored["status"] == "done", restored
    operations = [c.get("operation") or "wait" for c in restored["plan"]["calls"]]
    assert operations == ["wait", "CreateEndpoint", "wait", "CreateInferenceComponent"]
    assert any("create inference component sandbox-model-a" in d for d in restored["done"])
    [component] = env.sm.list_inference_components(EndpointNameEquals="genai-sandbox")["InferenceComponents"]
    assert component["InferenceComponentStatus"] == "Creating"


def test_remove_variant_keeps_the_old_config(env):
    result = env.invoke(request("remove-variant-execute"))
    assert result["status"] == "done", result
    updating = env.sm.describe_endpoint(EndpointName="recsys-ab-test")
    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == "recsys-ab-test-config"  # the running one, until the update is done
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == result["plan"]["new_endpoint_config"]
    env.elapse(aws_rules.DURATIONS.endpoint_update)
    live = env.sm.describe_endpoint(EndpointName="recsys-ab-test")
    new = env.sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    assert [v["VariantName"] for v in new["ProductionVariants"]] == ["control"]
    env.sm.describe_endpoint_config(EndpointConfigName="recsys-ab-test-config")
    assert "back to recsys-ab-test-config" in result["plan"]["rollback"]
    [update] = [c for c in result["plan"]["calls"] if c.get("operation") == "UpdateEndpoint"]
    assert update["params"]["RetainAllVariantProperties"] is True  # control keeps its live count


def test_resize_variant(env):
    result = env.invoke(request("resize-variant-execute"))
    assert result["status"] == "done", result
    env.elapse(aws_rules.DURATIONS.endpoint_update)
    live = env.sm.describe_endpoint(EndpointName="doc-classifier")
    [variant] = env.sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.r5.xlarge", 3)
    assert result["plan"]["monthly_cost_change_usd"] == round((3 * 0.302 - 3 * 0.922) * 730, 2)


def test_set_instance_count(env):
    result = env.invoke(request("set-instance-count-execute"))
    assert result["status"] == "done", result
    [variant] = env.sm.describe_endpoint(EndpointName="llm-chat-prod")["ProductionVariants"]
    assert variant["DesiredInstanceCount"] == 2


def test_scale_to_zero_sets_the_minimum_and_a_way_back_up(env):
    result = env.invoke(request("scale-to-zero-execute"))
    assert result["status"] == "done", result
    autoscaling = boto3.client("application-autoscaling", region_name=REGION)
    resource = "endpoint/batch-scoring-async/variant/AllTraffic"
    [target] = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])[
        "ScalableTargets"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 1)
    [alarm] = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity" and alarm["AlarmActions"]


def test_scale_to_zero_is_for_async_and_inference_component_endpoints_only(env):
    result = env.invoke({**request("scale-to-zero-dry-run"), "endpoint": "fraud-detector-prod", "expect": None})
    assert result == {
        "status": "refused",
        "error": "fraud-detector-prod can scale to zero only when it is asynchronous or hosts inference components",
    }


def test_an_inference_component_endpoint_scales_to_zero_with_a_way_back(env):
    base = {**request("scale-to-zero-execute"), "endpoint": "genai-sandbox", "confirm": "genai-sandbox", "expect": None}
    dry = env.invoke({**base, "dry_run": False, "force": True, "request_id": None, "confirm": None} | {"dry_run": True})
    assert dry["status"] == "planned", dry
    assert any("managed instance scaling of AllTraffic: minimum 0" in s for s in dry["plan"]["steps"])
    assert any("inference component sandbox-model-a: minimum 0" in s for s in dry["plan"]["steps"])
    done = env.invoke({**base, "force": True})
    assert done["status"] == "done", done
    env.elapse(aws_rules.DURATIONS.endpoint_update)  # the update to managed instance scaling takes its minutes
    config = env.sm.describe_endpoint(EndpointName="genai-sandbox")["EndpointConfigName"]
    [variant] = env.sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 1}
    autoscaling = boto3.client("application-autoscaling", region_name=REGION)
    [target] = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=["inference-component/sandbox-model-a"]
    )["ScalableTargets"]
    assert (
        target["MinCapacity"] == 0 and target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    )
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
    assert any(a["MetricName"] == "NoCapacityInvocationFailures" for a in alarms)


# --- refusals ------------------------------------------------------------------------------------


def refused(result, message):
    assert result["status"] == "refused", result
    assert message in result["error"]


def test_protected_endpoints_are_refused(env):
    arn = env.sm.describe_endpoint(EndpointName="churn-model-staging")["EndpointArn"]
    env.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "sagewatch:protect", "Value": "true"}])
    refused(env.invoke(request("delete-endpoint-execute")), "tagged sagewatch:protect=true")
    refused(env.invoke(request("delete-endpoint-dry-run")), "tagged sagewatch:protect=true")
    env.sm.describe_endpoint(EndpointName="churn-model-staging")


def test_confirm_must_match(env):
    refused(env.invoke(request("bad-confirm")), "confirm must be the endpoint name 'churn-model-staging'")
    env.sm.describe_endpoint(EndpointName="churn-model-staging")


def test_real_runs_need_a_request_id(env):
    event = request("delete-endpoint-execute")
    del event["request_id"]
    refused(env.invoke(event), "a real run needs request_id")
    env.sm.describe_endpoint(EndpointName="churn-model-staging")


def test_stale_findings_are_refused_unless_forced(env):
    stale = request("resize-variant-execute", expect={"instance_type": "ml.m5.4xlarge", "instance_count": 4})
    refused(env.invoke(stale), "instance count is now 3, the finding saw 4")
    forced = env.invoke({**stale, "force": True, "request_id": "resize-forced-0001"})
    assert forced["status"] == "done"


def test_busy_endpoint_is_never_deleted_as_idle(env):
    busy = {
        "action": "delete-endpoint",
        "endpoint": "fraud-detector-prod",
        "dry_run": False,
        "confirm": "fraud-detector-prod",
        "request_id": "busy-delete-0001",
        "expect": {"instance_type": "ml.m5.xlarge", "instance_count": 2, "idle": True},
    }
    refused(env.invoke(busy), "it is no longer idle")
    env.sm.describe_endpoint(EndpointName="fraud-detector-prod")


def test_destructive_runs_without_a_finding_need_force(env):
    event = request("set-instance-count-execute")
    del event["expect"]
    refused(env.invoke(event), "nothing to re-check the endpoint against")


def test_duplicate_request_id_acts_once(env):
    first = env.invoke(request("set-instance-count-execute"))
    assert env.invoke(request("set-instance-count-execute")) == first  # a retry: the first answer
    second = env.invoke(request("set-instance-count-execute", instance_count=3))  # same id, other request
    assert second["status"] == "refused" and "already used for a different request" in second["error"]
    assert len(env.audits()) == 1
    [variant] = env.sm.describe_endpoint(EndpointName="llm-chat-prod")["ProductionVariants"]
    assert variant["DesiredInstanceCount"] == 2


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("bad-request", "action: Input should be 'delete-endpoint'"),
        ("bad-request", "instance_cont: Extra inputs are not permitted"),
    ],
)
def test_bad_requests_name_the_problem(env, event, message):
    result = env.invoke(request(event))
    assert result["status"] == "invalid" and message in result["error"]


def test_unknown_endpoint_and_unknown_instance_type(env):
    unknown = env.invoke({"action": "set-instance-count", "endpoint": "nope", "variant": "v", "instance_count": 1})
    assert unknown["status"] == "invalid" and "endpoint nope does not exist" in unknown["error"], unknown
    # delete of an endpoint sagewatch never deleted: invalid too, never "already-deleted"
    never = env.invoke({"action": "delete-endpoint", "endpoint": "nope"})
    assert never["status"] == "invalid" and "no record of deleting it" in never["error"], never
    refused(
        env.invoke(
            {
                "action": "resize-variant",
                "endpoint": "doc-classifier",
                "variant": "AllTraffic",
                "instance_type": "ml.z9.huge",
            }
        ),
        "instance type ml.z9.huge is not in the catalog",
    )
    invalid = env.invoke(
        {"action": "resize-variant", "endpoint": "doc-classifier", "variant": "AllTraffic", "instance_count": 0}
    )
    assert invalid["status"] == "invalid" and "instance_count" in invalid["error"]


def test_a_dry_run_shows_how_fast_the_endpoint_is_now(env):
    result = env.invoke(request("resize-variant-dry-run"))
    assert result["status"] == "planned"
    [(variant, latency)] = result["latency"].items()
    # the demo fleet's 40 ms median and 90 ms tail (edge hours of the window are partial: within a little)
    assert variant == result["plan"]["variant"] and latency["p50_ms"] == pytest.approx(40.0, abs=1)
    assert latency["p99_ms"] == pytest.approx(90.0, rel=0.1)
    assert latency["requests"] > 0


def test_a_dry_run_reads_the_endpoints_metrics_once(env):
    """The idle re-check and the latency shown beside the plan read the same GetMetricData answer."""
    calls: Counter[str] = Counter()

    def count(client):
        if client.meta.service_model.service_name == "cloudwatch":
            client.meta.events.register("before-call.cloudwatch.*", lambda model, **_: calls.update([model.name]))

    with faults.every_new_client(count):
        result = env.invoke(request("delete-endpoint-dry-run"))
    assert result["status"] == "planned" and result["stale"] == [] and result["latency"] == {}, result  # idle: none
    assert calls["GetMetricData"] == 1
