"""The scan when AWS throttles, denies, loses endpoints mid-scan, or answers in pages: every endpoint it can
read is judged, every one it cannot is an error in the report, and nothing is guessed."""

import random
from collections import Counter
from datetime import UTC, datetime

from sagewatch_testkit import faults, fleet, moto_ext
from sagewatch_testkit.fleet import DEMO_EXPECTED as EXPECTED
from sagewatch_testkit.fleet import DEMO_FINDINGS, conclusions
from sagewatch_testkit.schemas import validate_report

REGION = moto_ext.DEFAULT_REGION
SERVICES = ("sagemaker", "cloudwatch", "dynamodb", "sns", "eventbridge")
CONTROL_PLANE_KINDS = {"quota-risk", "stuck-deployment", "broken-dependency", "scale-from-zero"}


def test_a_third_of_all_calls_throttled_every_endpoint_is_still_judged(scan_stack, sm):
    now = datetime.now(UTC)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    attempts: Counter[str] = Counter()
    rng = random.Random(7)  # seeded: the same throttles on every run
    with (
        faults.no_waiting() as waited,
        faults.every_new_client(lambda c: faults.throttle_randomly(c, 0.3, rng, attempts)),
    ):
        report, result = scan_stack.run(now)
    assert report.errors == [] and report.complete
    skipped = {s.endpoint for s in report.skipped}  # updating, opted out: skipped by design, not by faults
    # (a skipped endpoint is still looked at: translator-updating's stuck-deployment comes from its status alone)
    assert report.judged == set(report.listed) - skipped and set(EXPECTED) - skipped <= report.judged
    assert waited["backoff"] > 0  # botocore backed off (its waits recorded, not slept)
    assert conclusions(report) == EXPECTED
    assert result["announced"]["new"] == DEMO_FINDINGS and result["state_available"] and result["failed_events"] == 0
    assert len(scan_stack.digests()) == 1 and len(scan_stack.bus()) == DEMO_FINDINGS
    assert all(attempts[f"{service}:throttled"] for service in SERVICES), attempts  # every service the scan uses
    throttled = sum(n for key, n in attempts.items() if key.endswith(":throttled"))
    assert 0.25 < throttled / sum(n for key, n in attempts.items() if key.endswith(":sent")) < 0.45, attempts
    # and state was written despite the throttling: the next run is quiet
    assert scan_stack(now)["announced"]["unchanged"] == DEMO_FINDINGS


def test_endpoint_deleted_mid_scan_and_access_denied_are_errors_not_crashes(demo, now):
    backend = moto_ext.sagemaker_backend(REGION)

    def delete_first(params):
        if params.get("EndpointName") == "churn-model-staging":
            backend.endpoints.pop("churn-model-staging", None)

    faults.on_call(demo.sagemaker, "DescribeEndpoint", delete_first)
    faults.fail_call(
        demo.sagemaker,
        "DescribeEndpoint",
        "AccessDeniedException",
        "not authorized",
        when=lambda p: p["EndpointName"] == "doc-classifier",
    )
    report = demo.scan(now)
    errors = {(e.endpoint, e.operation, e.code) for e in report.errors}
    assert errors == {
        ("churn-model-staging", "DescribeEndpoint", "ResourceNotFound"),
        ("doc-classifier", "DescribeEndpoint", "AccessDeniedException"),
    }
    found = conclusions(report)
    assert "churn-model-staging" not in {f.endpoint for f in report.findings}
    assert found["image-embedder"] == EXPECTED["image-embedder"]  # the rest is judged
    assert report.endpoints == fleet.DEMO_ENDPOINTS - 2  # the deleted one and the denied one are not counted
    validate_report(report.to_dict())


def test_throttling_is_retried_with_backoff(demo, now):
    attempts = faults.throttle_sends(demo.sagemaker, "DescribeEndpoint", times=3)
    report = demo.scan(now)
    assert attempts["throttled"] == 3 and report.errors == []
    assert conclusions(report) == EXPECTED
    # retries are not new calls (each judged endpoint, and the ignored one: described for its cost)
    assert demo.calls["DescribeEndpoint"] == fleet.DEMO_ENDPOINTS + 1


def test_unreadable_metrics_never_make_an_endpoint_idle(demo, now):
    faults.fail_call(demo.cloudwatch, "GetMetricData", "AccessDenied", "no cloudwatch:GetMetricData")
    report = demo.scan(now)
    # only what is read from the control plane stays (quotas, stuck deployments, dependencies, scaling rules)
    assert {f.kind.value for f in report.findings} <= CONTROL_PLANE_KINDS, report.findings
    assert {f.endpoint for f in report.findings} == {
        e for e, found in EXPECTED.items() if {k for k, _, _ in found} & CONTROL_PLANE_KINDS
    }
    # both reads (the scan's window, the hour-of-week profile's) said so
    assert [(e.operation, e.code) for e in report.errors] == [("GetMetricData", "AccessDenied")] * 2


def test_failed_component_listing_keeps_component_endpoints_out_of_idle(demo, now):
    faults.fail_call(demo.sagemaker, "ListInferenceComponents", "AccessDeniedException")
    report = demo.scan(now)
    assert "genai-sandbox" not in {f.endpoint for f in report.findings}
    assert ("ListInferenceComponents", "AccessDeniedException") in {(e.operation, e.code) for e in report.errors}
    # endpoints that host models are judged as usual
    assert conclusions(report)["churn-model-staging"] == EXPECTED["churn-model-staging"]


def test_cloudwatch_pages_are_all_read(demo, now, monkeypatch):
    whole = demo.scan(now)
    monkeypatch.setattr(moto_ext, "MAX_DATAPOINTS", 700)  # force NextToken pages and PartialData
    before = demo.calls["GetMetricData"]
    paged = demo.scan(now)
    assert demo.calls["GetMetricData"] - before > 10
    assert [f.to_dict() for f in paged.sorted_findings()] == [f.to_dict() for f in whole.sorted_findings()]
