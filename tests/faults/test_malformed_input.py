"""Hypothesis-made malformed input for every function that takes input from outside: each is refused with an
error that names the problem, no handler raises, and nothing in AWS is changed."""

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sagewatch.remediation import RemediationRequest
from sagewatch_testkit import moto_ext
from sagewatch_testkit.aws_fixtures import put_s3_object
from sagewatch_testkit.functions import ROOT, lambda_context, sample_event

REGION = moto_ext.DEFAULT_REGION
FIXTURES = [HealthCheck.function_scoped_fixture]

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
    max_leaves=12,
)

# --- remediation requests: real samples, corrupted -------------------------------------------------------

_SAMPLES = sorted(p.name for p in (ROOT / "events" / "remediate").glob("*.json"))
_FIELDS = ["action", "endpoint", "variant", "instance_type", "instance_count", "snapshot", "expect", "dry_run"]
_FIELDS += ["confirm", "force", "request_id", "unknown_field"]
_corruption = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(_FIELDS), _values),
    st.tuples(st.just("drop"), st.sampled_from(_FIELDS), st.none()),
)
_requests = st.one_of(
    st.tuples(st.sampled_from(_SAMPLES), st.lists(_corruption, min_size=1, max_size=3)),
    _values.map(lambda v: (None, v)),
)

# calls that change the user's estate (the stack's own idempotency records are not counted)
MUTATING = ("Create", "Delete", "Update", "Put", "Register", "AddTags", "Publish")


def corrupt(sample, changes):
    if sample is None:
        return changes  # a value that is not a request at all
    doc = sample_event(f"remediate/{sample}")
    for how, field, value in changes:
        if how == "set":
            doc[field] = value
        else:
            doc.pop(field, None)
    return doc


@pytest.fixture
def mutations(remediation):
    calls: Counter[str] = Counter()

    def count(model, **_):
        service = model.service_model.service_name
        if service != "dynamodb" and model.name.startswith(MUTATING):
            calls[f"{service}:{model.name}"] += 1

    remediation.app.CLIENTS.session.events.register("before-call", count)
    return calls


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURES)
@given(case=_requests)
def test_malformed_remediation_requests_are_refused_and_change_nothing(remediation, mutations, case):
    event = corrupt(*case)
    before = sum(mutations.values())
    result = remediation.invoke(event)
    assert isinstance(result, dict) and result["status"] in {
        "invalid",
        "refused",
        "planned",
        "stale",
        "done",
        "already-deleted",
    }
    try:
        RemediationRequest.model_validate(event)
    except ValidationError as exc:
        assert result["status"] == "invalid", result
        assert result["error"].startswith("invalid remediation request: ")
        named = {".".join(str(p) for p in e["loc"]) for e in exc.errors()}
        assert any(f"{where}: " in result["error"] for where in named), (named, result["error"])
    if result["status"] in {"invalid", "refused"}:
        assert result["error"]
    if result["status"] != "done":
        assert sum(mutations.values()) == before, mutations


# --- Model Monitor and endpoint events, and the violation files they point at -----------------------------

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


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(ev=_events)
def test_monitor_handler_never_raises_on_malformed_events(monitor_stack, ev):
    result = monitor_stack.app.lambda_handler(ev, lambda_context("model-monitor"))
    assert result["status"] in ("rejected", "ignored", "alerted")


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(body=_values.map(json.dumps).map(str.encode) | st.binary(max_size=100), n=st.uuids())
def test_monitor_handler_never_raises_on_malformed_violation_files(monitor_stack, body, n):
    ev = sample_event("monitor-run-violations.json")
    ev["detail"]["ProcessingJobArn"] += f"-{n}"  # a new run each time: not deduplicated
    uri = ev["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    put_s3_object(uri + "/constraint_violations.json", body, REGION)
    result = monitor_stack.app.lambda_handler(ev, lambda_context("model-monitor"))
    assert result["status"] in ("alerted", "ignored")
    assert result.get("kind") in (None, "monitoring-violations", "monitoring-unreadable")
    monitor_stack.drain("alerts")


# --- DescribeProcessingJob documents and events malformed at any depth (issue 12) ------------------------

_huge = st.sampled_from(["x" * 1_000_000, "<!channel> " * 20_000, "12", "s3://" + "b" * 2000])
_anything = _values | _huge
_paths = st.sampled_from(
    [
        ("Environment",),
        ("Environment", "sagemaker_endpoint_name"),
        ("Environment", "sagemaker_monitoring_schedule_name"),
        ("ProcessingOutputConfig",),
        ("ProcessingOutputConfig", "Outputs"),
        ("ProcessingOutputConfig", "Outputs", 0),
        ("ProcessingOutputConfig", "Outputs", 0, "S3Output"),
        ("ProcessingOutputConfig", "Outputs", 0, "S3Output", "S3Uri"),
        ("ExitMessage",),
        ("FailureReason",),
        ("MonitoringScheduleArn",),
        ("ProcessingJobStatus",),
    ]
)


def _set(doc, path, value):
    for key in path[:-1]:
        nxt = (
            doc[key]
            if isinstance(doc, dict) and key in doc
            else (doc[key] if isinstance(doc, list) and isinstance(key, int) and key < len(doc) else None)
        )
        if not isinstance(nxt, dict | list):
            return
        doc = nxt
    if isinstance(doc, dict) or (isinstance(doc, list) and isinstance(path[-1], int) and path[-1] < len(doc)):
        doc[path[-1]] = value


@pytest.mark.malformed_answers  # DescribeProcessingJob answers garbage on purpose: what the handler makes of it
@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(
    changes=st.lists(st.tuples(_paths, _anything), min_size=1, max_size=3),
    trimmed=st.booleans(),
    status=st.sampled_from(["Completed", "Failed"]),
    n=st.uuids(),
)
def test_monitor_handler_survives_any_job_document_and_sends_only_what_fits(monitor_stack, changes, trimmed, status, n):
    from sagewatch.notify.limits import SNS_MAX_BYTES

    ev = sample_event("monitor-run-violations.json")
    ev["detail"]["ProcessingJobName"] = f"model-monitoring-{n}"
    ev["detail"]["ProcessingJobArn"] += f"-{n}"
    uri = ev["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    put_s3_object(
        uri + "/constraint_violations.json",
        (ROOT / "tests/fixtures/model-monitor/bias-drift.json").read_bytes(),
        REGION,
    )
    for path, value in changes:
        _set(ev["detail"], path, value)
    ev["detail"]["ProcessingJobStatus"] = status
    if trimmed:  # the event says little; DescribeProcessingJob serves the malformed document
        moto_ext.put_processing_job(REGION, json.loads(json.dumps(ev["detail"])))
        ev["detail"] = {k: ev["detail"][k] for k in ("ProcessingJobName", "ProcessingJobArn", "ProcessingJobStatus")}
    result = monitor_stack.app.lambda_handler(ev, lambda_context("model-monitor"))
    assert result["status"] in ("rejected", "ignored", "alerted"), result
    for alert in monitor_stack.drain("alerts"):
        assert len(json.dumps(alert).encode()) < SNS_MAX_BYTES
        assert alert["schema"] == "sagewatch.alert/1"
    monitor_stack.drain("bus")


def test_a_described_job_botocore_cannot_parse_is_ignored_not_a_crash(monitor_stack):
    """Found by the property above once it stopped accepting crashes: an Environment that is not a map in
    DescribeProcessingJob's answer made botocore's parser raise AttributeError, passed off as a refusal."""
    ev = sample_event("monitor-run-violations.json")
    ev["detail"]["ProcessingJobName"] = "model-monitoring-unparsable"
    ev["detail"]["ProcessingJobArn"] += "-unparsable"
    ev["detail"]["Environment"] = "x" * 1000
    moto_ext.put_processing_job(REGION, json.loads(json.dumps(ev["detail"])))
    ev["detail"] = {k: ev["detail"][k] for k in ("ProcessingJobName", "ProcessingJobArn", "ProcessingJobStatus")}
    result = monitor_stack.app.lambda_handler(ev, lambda_context("model-monitor"))
    assert result["status"] == "ignored" and "not a monitoring run" in result["reason"], result
