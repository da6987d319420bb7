"""Model Monitor events and violation files (pure), including hypothesis-generated garbage."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from sagewatch.monitoring import (
    AlertKind,
    EndpointEvent,
    EventShapeError,
    Ignored,
    ProcessingJobEvent,
    ViolationsFileError,
    classify,
    parse_violations,
    violations_alert,
)
from sagewatch.notify import alert as render

EVENTS = Path(__file__).resolve().parents[2] / "events"


def event(name):
    return json.loads((EVENTS / name).read_text())


def test_sample_events_classify_as_documented():
    assert isinstance(classify(event("monitor-run-violations.json")), ProcessingJobEvent)
    assert isinstance(classify(event("monitor-run-failed.json")), ProcessingJobEvent)
    assert isinstance(classify(event("processing-job-not-monitoring.json")), ProcessingJobEvent)
    failed = classify(event("endpoint-failed.json"))
    assert isinstance(failed, EndpointEvent) and failed.kind is AlertKind.ENDPOINT_FAILED
    rollback = classify(event("endpoint-deployment-rollback.json"))
    assert isinstance(rollback, EndpointEvent) and rollback.kind is AlertKind.DEPLOYMENT_ROLLBACK
    assert isinstance(classify(event("endpoint-in-service.json")), Ignored)
    with pytest.raises(EventShapeError, match="lacks ProcessingJobName, ProcessingJobStatus"):
        classify(event("monitor-malformed.json"))


def test_unfinished_jobs_and_other_sources_are_ignored():
    ev = event("monitor-run-violations.json")
    ev["detail"]["ProcessingJobStatus"] = "InProgress"
    assert isinstance(classify(ev), Ignored)
    assert isinstance(classify({**ev, "source": "aws.s3"}), Ignored)


def test_violations_worst_drift_first():
    violations = parse_violations((EVENTS / "model-monitor" / "constraint_violations.json").read_bytes()).items
    # drift 0.43 over 0.1 (gap 0.33); 91.6% complete of 100% (0.084); drift 0.18 over 0.1 (0.081); 97.3% (0.027)
    assert [v.name for v in violations] == [
        "transaction_amount",
        "customer_country",
        "card_age_days",
        "merchant_category",
    ]
    assert (violations[0].distance, violations[0].threshold) == (0.4318, 0.1)


def test_model_quality_violations_rank_by_gap():
    text = json.dumps(
        {
            "violations": [
                {
                    "metric_name": "accuracy",
                    "constraint_check_type": "LessThanThreshold",
                    "description": "Metric accuracy with 0.62 was LessThanThreshold '0.8'",
                },
                {
                    "metric_name": "recall",
                    "constraint_check_type": "LessThanThreshold",
                    "description": "Metric recall with 0.75 was LessThanThreshold '0.8'",
                },
            ]
        }
    )
    assert [v.name for v in parse_violations(text).items] == ["accuracy", "recall"]


@pytest.mark.parametrize(
    "text",
    ["", "[]", '{"violations": {}}', '{"violations": [1]}', '{"violations": [{"feature_name": "x"}]}', "[" * 100_000],
)
def test_malformed_violation_files_raise_a_clear_error(text):
    with pytest.raises(ViolationsFileError):
        parse_violations(text)


def alert():
    job = classify(event("monitor-run-violations.json"))
    assert isinstance(job, ProcessingJobEvent)
    violations = parse_violations((EVENTS / "model-monitor" / "constraint_violations.json").read_bytes())
    return violations_alert(
        job,
        violations,
        region="us-east-1",
        account="123456789012",
        monitoring_type="data quality",
        time="2026-11-22T09:12:31Z",
    )


def test_alert_text_lists_everything_needed_to_act():
    text = render.text(alert())
    for part in (
        "[MEDIUM] Model Monitor found 4 data quality violations on endpoint fraud-detector-prod",
        "Monitoring schedule: fraud-dq-hourly",
        "Violations (4, worst first):",
        "transaction_amount: baseline_drift_check: Baseline drift distance: 0.4318 exceeds threshold: 0.1",
        "Output: s3://",
        "  processing job: https://us-east-1.console.aws.amazon.com/sagemaker/",
    ):
        assert part in text


def test_alert_slack_and_chatbot():
    [payload] = render.slack(alert())
    for raw in payload["blocks"]:
        Block.parse(raw).validate_json()
    chatbot = render.chatbot(alert()).to_dict()
    assert chatbot["source"] == "custom" and chatbot["content"]["title"].startswith("Model Monitor found 4")


# --- hypothesis: nothing malformed escapes as an unexpected exception ------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15), children, max_size=4),
    max_leaves=20,
)
known_keys = st.sampled_from(
    [
        "ProcessingJobName",
        "ProcessingJobStatus",
        "ProcessingJobArn",
        "EndpointName",
        "EndpointStatus",
        "ProductionVariants",
        "Environment",
        "ProcessingOutputConfig",
        "FailureReason",
        "ExitMessage",
        "MonitoringScheduleArn",
    ]
)
details = st.dictionaries(known_keys, json_values, max_size=6) | json_values
events = (
    st.fixed_dictionaries(
        {
            "source": st.sampled_from(["aws.sagemaker", "aws.s3"]) | st.text(max_size=10),
            "detail-type": st.sampled_from(
                [
                    "SageMaker Processing Job State Change",
                    "SageMaker Endpoint State Change",
                    "SageMaker Endpoint Deployment State Change",
                ]
            )
            | st.text(max_size=10),
            "detail": details,
        },
    )
    | json_values
)


@settings(max_examples=300, deadline=None)
@given(events)
def test_classify_never_raises_anything_but_a_shape_error(ev):
    try:
        result = classify(ev)
    except EventShapeError:
        return
    assert isinstance(result, ProcessingJobEvent | EndpointEvent | Ignored)
    if isinstance(result, ProcessingJobEvent):
        _ = (result.schedule_name, result.endpoint, result.output_uri)


violation_docs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "violations": st.lists(
                st.dictionaries(
                    st.sampled_from(["feature_name", "metric_name", "constraint_check_type", "description"]),
                    json_values,
                    max_size=4,
                ),
                max_size=5,
            )
        }
    ),
)


@settings(max_examples=300, deadline=None)
@given(violation_docs | st.binary(max_size=200).map(lambda b: b))
def test_parse_violations_never_raises_anything_but_its_own_error(doc):
    text = doc if isinstance(doc, bytes) else json.dumps(doc)
    try:
        violations = parse_violations(text)
    except ViolationsFileError:
        return
    assert all(isinstance(v.name, str) for v in violations.items)
