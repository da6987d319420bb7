"""The Model Monitor / endpoint health function with every sample event, on moto."""

import json
from pathlib import Path

import boto3
import pytest

from sagewatch_testkit import moto_ext
from sagewatch_testkit.aws_fixtures import put_s3_object, watch_queue
from sagewatch_testkit.functions import lambda_context

ROOT = Path(__file__).resolve().parents[2]
REGION = moto_ext.DEFAULT_REGION
VIOLATIONS = (ROOT / "events" / "model-monitor" / "constraint_violations.json").read_bytes()


def event(name):
    return json.loads((ROOT / "events" / name).read_text())


def context():
    return lambda_context("model-monitor")


def output_uri(ev):
    return ev["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]


def put_object(uri, body):
    put_s3_object(uri, body, REGION)


@pytest.fixture
def stack(monitor_stack):
    return monitor_stack


def test_run_with_violations_alerts_once_with_the_worst_first(stack):
    ev = event("monitor-run-violations.json")
    put_object(output_uri(ev) + "/constraint_violations.json", VIOLATIONS)
    result = stack.app.lambda_handler(ev, context())
    assert result["status"] == "alerted" and result["kind"] == "monitoring-violations" and result["violations"] == 4
    [alert] = stack.drain("alerts")
    assert alert["schema"] == "sagewatch.alert/1" and alert["endpoint"] == "fraud-detector-prod"
    assert alert["monitoring_schedule"] == "fraud-dq-hourly" and alert["monitoring_type"] == "data quality"
    assert [v["name"] for v in alert["violations"]][:2] == ["transaction_amount", "customer_country"]
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


def test_an_update_that_rolled_back_is_announced_with_its_stuck_facts(stack):
    """InService again, with a FailureReason: the change is not live. The same facts a stuck-deployment finding
    states (status, since, failure reason), when it happens."""
    result = stack.app.lambda_handler(event("endpoint-update-rolled-back.json"), context())
    assert result["kind"] == "deployment-rollback"
    [alert] = stack.drain("alerts")
    assert (alert["status"], alert["since"], alert["severity"]) == ("IN_SERVICE", "2026-11-22T10:41:07Z", "medium")
    assert "did not pass the ping health check" in alert["reason"] and "not live" in alert["summary"]
    rollback = stack.app.lambda_handler(event("endpoint-deployment-rollback.json"), context())
    assert rollback["kind"] == "deployment-rollback"
    [alert] = stack.drain("alerts")
    assert (alert["status"], alert["since"], alert["severity"]) == ("ROLLING_BACK", "2026-11-22T09:18:20Z", "high")


def test_an_aws_health_event_alerts_each_affected_endpoints_owner_once(stack):
    boto3.client("sagemaker", region_name=REGION)  # the endpoints need not exist: tags are read if they do
    ev = event("health-sagemaker-endpoint.json")
    result = stack.app.lambda_handler(ev, context())
    assert result["status"] == "alerted" and result["kind"] == "aws-health", result
    assert result["endpoints"] == ["fraud-detector-prod", "llm-chat-prod"] and result["alerts"] == 2
    alerts = stack.drain("alerts")
    assert sorted(a["endpoint"] for a in alerts) == ["fraud-detector-prod", "llm-chat-prod"]
    for alert in alerts:
        assert alert["health_event"] == "AWS_SAGEMAKER_OPERATIONAL_NOTIFICATION" and alert["severity"] == "medium"
        assert alert["affected_endpoints"] == ["fraud-detector-prod", "llm-chat-prod"]
        assert "cannot be automatically patched" in alert["reason"]
        assert alert["links"]["health_event"].startswith("https://health.aws.amazon.com/")
    assert len(stack.drain("bus")) == 2
    assert stack.app.lambda_handler(ev, context()) == result  # a repeated delivery alerts no one again
    assert stack.drain("alerts") == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"service": "EC2"}, "ignored"),
        ({"statusCode": "closed"}, "ignored"),
        ({"eventArn": None}, "rejected"),
        ({"affectedEntities": "not a list"}, "alerted"),  # no endpoint named: one alert for the account
    ],
    ids=["other-service", "closed", "no-arn", "entities-malformed"],
)
def test_health_events_of_other_services_closed_or_malformed(stack, change, status):
    ev = event("health-sagemaker-endpoint.json")
    ev["detail"] |= change
    result = stack.app.lambda_handler(ev, context())
    assert result["status"] == status, result
    if status == "alerted":
        [alert] = stack.drain("alerts")
        assert alert["endpoint"] is None and alert["summary"].endswith("for SageMaker.")


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
