"""The Model Monitor / endpoint health function with every sample event, on moto."""

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagewatch_testkit import moto_ext
from sagewatch_testkit.aws_fixtures import drain, id_table, watch_queue

ROOT = Path(__file__).resolve().parents[2]
REGION = moto_ext.DEFAULT_REGION
VIOLATIONS = (ROOT / "events" / "model-monitor" / "constraint_violations.json").read_bytes()


def event(name):
    return json.loads((ROOT / "events" / name).read_text())


def context():
    return SimpleNamespace(
        function_name="sagewatch-monitor",
        memory_limit_in_mb=256,
        aws_request_id="req",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:sagewatch-monitor",
        get_remaining_time_in_millis=lambda: 60_000,
    )


def output_uri(ev):
    return ev["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]


def put_object(uri, body):
    """Create the bucket, and the object unless `body` is None."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", region_name=REGION)
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    if body is not None:
        s3.put_object(Bucket=bucket, Key=key, Body=body)


@pytest.fixture
def stack(aws, monkeypatch):
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    ddb, events = boto3.client("dynamodb", region_name=REGION), boto3.client("events", region_name=REGION)
    topic = sns.create_topic(Name="sagewatch")["TopicArn"]
    id_table(ddb, "idempotency")
    queues = {}
    for name in ("alerts", "bus"):
        queues[name] = watch_queue(sqs, name)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queues["alerts"][1], Attributes={"RawMessageDelivery": "true"}
    )
    events.put_rule(Name="alerts", EventPattern=json.dumps({"source": ["sagewatch"]}))
    events.put_targets(Rule="alerts", Targets=[{"Id": "q", "Arn": queues["bus"][1]}])
    for key, value in {
        "SAGEWATCH_TOPIC_ARN": topic,
        "SAGEWATCH_IDEMPOTENCY_TABLE": "idempotency",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "sagewatch",
    }.items():
        monkeypatch.setenv(key, value)
    moto_ext.put_monitoring_schedule(REGION, "fraud-dq-hourly", "fraud-detector-prod", "DataQuality")
    spec = importlib.util.spec_from_file_location("monitor_app", ROOT / "functions" / "model_monitor" / "app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)

    return SimpleNamespace(app=app, drain=lambda which: drain(sqs, queues[which][0]))


def test_run_with_violations_alerts_once_with_the_worst_first(stack):
    ev = event("monitor-run-violations.json")
    put_object(output_uri(ev) + "/constraint_violations.json", VIOLATIONS)
    result = stack.app.lambda_handler(ev, context())
    assert result["status"] == "alerted" and result["kind"] == "monitoring-violations" and result["violations"] == 4
    [alert] = stack.drain("alerts")
    assert alert["schema"] == "sagewatch.alert/1" and alert["endpoint"] == "fraud-detector-prod"
    assert alert["monitoring_schedule"] == "fraud-dq-hourly" and alert["monitoring_type"] == "data quality"
    assert [v["name"] for v in alert["violations"]][:2] == ["transaction_amount", "card_age_days"]
    assert alert["violations"][0]["distance"] == 0.4318 and alert["violations"][0]["threshold"] == 0.1
    assert alert["output_uri"] == output_uri(ev)
    assert (
        "s3.console.aws.amazon.com" in alert["links"]["output"]
        and "processing-jobs/" in alert["links"]["processing_job"]
    )
    [bus] = stack.drain("bus")
    assert bus["detail-type"] == "SageMaker Endpoint Alert" and bus["detail"]["kind"] == "monitoring-violations"

    # the same state change delivered again: no second alert
    again = stack.app.lambda_handler(ev, context())
    assert again == result
    assert stack.drain("alerts") == [] and stack.drain("bus") == []


def test_run_without_violations_is_quiet(stack):
    ev = event("monitor-run-clean.json")
    put_object(output_uri(ev) + "/constraint_violations.json", json.dumps({"violations": []}))
    result = stack.app.lambda_handler(ev, context())
    assert result["status"] == "ignored" and "found no violations" in result["reason"]
    assert stack.drain("alerts") == []


def test_clean_run_without_a_violations_file_is_quiet(stack):
    result = stack.app.lambda_handler(event("monitor-run-clean.json"), context())
    assert result["status"] == "ignored" and "wrote no violations file" in result["reason"]


def test_failed_run_says_monitoring_is_broken(stack):
    result = stack.app.lambda_handler(event("monitor-run-failed.json"), context())
    assert result["kind"] == "monitoring-failed"
    [alert] = stack.drain("alerts")
    assert alert["summary"].startswith("Monitoring is broken for endpoint fraud-detector-prod")
    assert alert["reason"].startswith("AlgorithmError: Error: Encoding mismatch")
    assert alert["severity"] == "high"


def test_other_processing_jobs_are_ignored(stack):
    result = stack.app.lambda_handler(event("processing-job-not-monitoring.json"), context())
    assert result == {
        "status": "ignored",
        "reason": "processing job pipelines-p4jn9xou8a8s-preprocess-tmgxry49ug is not a monitoring run",
    }
    assert stack.drain("alerts") == []


def test_trimmed_event_of_a_monitoring_run_is_completed_from_describe(stack):
    ev = event("monitor-run-violations.json")
    moto_ext.put_processing_job(REGION, ev["detail"])
    trimmed = {
        **ev,
        "detail": {
            k: ev["detail"][k] for k in ("ProcessingJobName", "ProcessingJobArn", "ProcessingJobStatus", "ExitMessage")
        },
    }
    put_object(output_uri(ev) + "/constraint_violations.json", VIOLATIONS)
    assert stack.app.lambda_handler(trimmed, context())["kind"] == "monitoring-violations"


@pytest.mark.parametrize(
    ("body", "problem"),
    [(b"{not json", "malformed"), (json.dumps({"violations": "many"}).encode(), "malformed"), (None, "NoSuchKey")],
)
def test_unreadable_violations_are_an_alert_not_a_crash(stack, body, problem):
    ev = event("monitor-run-violations.json")
    put_object(output_uri(ev) + "/constraint_violations.json", body)
    result = stack.app.lambda_handler(ev, context())
    assert result["kind"] == "monitoring-unreadable"
    [alert] = stack.drain("alerts")
    assert problem in alert["reason"]


def test_s3_access_denied_is_an_alert(stack):
    from sagewatch_testkit import faults

    ev = event("monitor-run-violations.json")
    faults.fail_call(stack.app.CLIENTS.s3(), "GetObject", "AccessDenied", "Access Denied", status=403)
    result = stack.app.lambda_handler(ev, context())
    assert result["kind"] == "monitoring-unreadable"
    assert "AccessDenied" in stack.drain("alerts")[0]["reason"]


def test_endpoint_failure_alert(stack):
    result = stack.app.lambda_handler(event("endpoint-failed.json"), context())
    assert result["kind"] == "endpoint-failed"
    [alert] = stack.drain("alerts")
    assert alert["summary"] == "Endpoint fraud-detector-prod failed (FAILED)."
    assert "did not pass the ping health check" in alert["reason"]


def test_api_spelling_of_failed_is_matched_too(stack):
    ev = event("endpoint-failed.json")
    ev["detail"]["EndpointStatus"] = "Failed"
    assert stack.app.lambda_handler(ev, context())["kind"] == "endpoint-failed"


def test_deployment_rollback_alert(stack):
    result = stack.app.lambda_handler(event("endpoint-deployment-rollback.json"), context())
    assert result["kind"] == "deployment-rollback"
    [alert] = stack.drain("alerts")
    assert "Rolling back: alarm fraud-detector-5xx went into ALARM" in alert["reason"]


def test_healthy_endpoint_change_is_ignored(stack):
    assert stack.app.lambda_handler(event("endpoint-in-service.json"), context())["status"] == "ignored"


def test_malformed_event_is_rejected_with_a_log_line_not_retried(stack, caplog):
    result = stack.app.lambda_handler(event("monitor-malformed.json"), context())
    assert result["status"] == "rejected" and "ProcessingJobName" in result["reason"]
    assert any(r.getMessage().startswith("event of an unexpected shape") for r in caplog.records)
    assert stack.app.lambda_handler(["not", "an", "event"], context())["status"] == "rejected"


def test_subject_names_the_problem(stack):
    ev = event("monitor-run-violations.json")
    put_object(output_uri(ev) + "/constraint_violations.json", VIOLATIONS)
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    url, arn = watch_queue(sqs, "envelope")
    sns.subscribe(TopicArn=sns.list_topics()["Topics"][0]["TopicArn"], Protocol="sqs", Endpoint=arn)
    stack.app.lambda_handler(ev, context())
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == "sagewatch 123456789012/us-east-1: 4 data quality violations on fraud-detector-prod"
    assert json.loads(envelope["Message"])["schema"] == "sagewatch.alert/1"  # SQS gets the machine body
    kinds = json.loads(envelope["MessageAttributes"]["kind"]["Value"])
    assert kinds == ["monitoring-violations"]


# --- hypothesis: the handler never raises out on malformed events or violation files ------------


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
    max_leaves=12,
)
_detail_keys = st.sampled_from(
    [
        "ProcessingJobName",
        "ProcessingJobStatus",
        "EndpointName",
        "EndpointStatus",
        "ProductionVariants",
        "Environment",
        "ProcessingOutputConfig",
        "ExitMessage",
    ]
)
_events = (
    st.fixed_dictionaries(
        {
            "version": st.just("0"),
            "id": st.uuids().map(str),
            "account": st.just("123456789012"),
            "time": st.just("2026-11-22T09:00:00Z"),
            "region": st.just(REGION),
            "resources": st.just([]),
            "source": st.sampled_from(["aws.sagemaker", "aws.ec2"]),
            "detail-type": st.sampled_from(
                [
                    "SageMaker Processing Job State Change",
                    "SageMaker Endpoint State Change",
                    "SageMaker Endpoint Deployment State Change",
                    "Something Else",
                ]
            ),
            "detail": st.dictionaries(_detail_keys, _values, max_size=5),
        }
    )
    | _values
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ev=_events)
def test_handler_never_raises_on_malformed_events(stack, ev):
    result = stack.app.lambda_handler(ev, context())
    assert result["status"] in ("rejected", "ignored", "alerted")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_values.map(json.dumps).map(str.encode) | st.binary(max_size=100), n=st.uuids())
def test_handler_never_raises_on_malformed_violation_files(stack, body, n):
    ev = event("monitor-run-violations.json")
    ev["detail"]["ProcessingJobArn"] += f"-{n}"  # a new run each time: not deduplicated
    put_object(output_uri(ev) + "/constraint_violations.json", body)
    result = stack.app.lambda_handler(ev, context())
    assert result["status"] in ("alerted", "ignored")
    assert result.get("kind") in (None, "monitoring-violations", "monitoring-unreadable")
    stack.drain("alerts")
