"""Is it fast enough, on moto: ModelLatency percentiles read in the scan's own GetMetricData batches (the
testkit's moto computes them from per-request values, as CloudWatch does), targets from tags, the default
and the CLI flag; `slow` in the report, in every form of the digest, and a bad tag said, not a crash."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sagewatch.cli import main
from sagewatch.notify import from_document, slack_payloads
from sagewatch.settings import Thresholds
from sagewatch_testkit import fleet
from sagewatch_testkit.schemas import validate_report

REGION = "us-east-1"
TARGET = "sagewatch:latency-p99-ms"


def sim(name: str, p99_ms: float, **tags: str) -> fleet.SimEndpoint:
    v = fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 1, fleet.flat(200), cpu=60, memory=40, latency_ms=(30.0, p99_ms))
    return fleet.SimEndpoint(name, [v], tags={TARGET if k == "target" else k: v for k, v in tags.items()})


FLEET = [
    sim("ranker-slow", 250.0, target="100"),
    sim("ranker-ok", 90.0, target="100"),
    sim("ranker-default", 300.0),
    sim("ranker-badtag", 300.0, target="fast"),
]


def test_a_scheduled_scan_finds_the_slow_endpoint_and_every_form_says_so(scan_stack, sm):
    now = datetime.now(UTC)
    fleet.seed(sm, FLEET, region=REGION, now=now)
    _, result = scan_stack.run(now)
    assert result["findings_by_kind"] == {"slow": 1}
    assert any(w.startswith("ranker-badtag: tag sagewatch:latency-p99-ms='fast'") for w in result["warnings"])
    [digest] = scan_stack.digests()
    [slow] = digest["announcements"]
    finding = slow["finding"]
    assert (finding["endpoint"], finding["kind"], finding["severity"]) == ("ranker-slow", "slow", "high")
    latency = finding["evidence"]["latency"]
    # the window's edge hours are partial (GetMetricData periods start at StartTime): figures within a little
    assert latency["p50_ms"] == pytest.approx(30.0, abs=1) and latency["slo_p99_ms"] == 100.0
    assert latency["p99_ms"] == pytest.approx(250.0, rel=0.1)
    assert 200 * 23 <= latency["requests"] <= 200 * 24  # the hours of the idle window (its first may be cut)
    notice = from_document(digest)
    assert slack_payloads(notice)  # the Slack notifier's reading renders


def test_the_default_target_and_the_cli_flag(scan_stack, sm, capsys):
    now = datetime.now(UTC)
    fleet.seed(sm, FLEET, region=REGION, now=now)
    defaulted = replace(scan_stack.settings, thresholds=Thresholds(latency_p99_ms=200))
    report, _ = replace(scan_stack, settings=defaulted).run(now)
    assert {f.endpoint for f in report.findings if f.kind.value == "slow"} == {
        "ranker-slow",
        "ranker-default",
        "ranker-badtag",  # its tag is unreadable: the default applies
    }
    assert main(["scan", "--region", REGION, "--format", "json", "--latency-p99-ms", "200"]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate_report(doc)
    assert {f["endpoint"] for f in doc["findings"] if f["kind"] == "slow"} == {
        "ranker-slow",
        "ranker-default",
        "ranker-badtag",
    }
    assert doc["thresholds"]["latency_p99_ms"] == 200


def test_a_deployment_that_made_it_slower_is_a_regression(demo, now):
    """An endpoint updated a day ago whose p99 went from 100 ms to 400 ms (per-request values: CloudWatch's
    percentiles of each hour), read in one more small GetMetricData call for that endpoint only."""
    from sagewatch_testkit import moto_ext

    sm = demo.sagemaker
    fleet.seed(
        sm,
        [fleet.SimEndpoint("ranker-v2", [fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 1)])],
        region=REGION,
        now=now,
    )
    changed = now - timedelta(hours=24)
    moto_ext.set_endpoint_times(REGION, "ranker-v2", now - timedelta(days=30), changed)
    dims = {"EndpointName": "ranker-v2", "VariantName": "AllTraffic"}
    hours = [now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=h) for h in range(24 * 9, 0, -1)]
    moto_ext.put_series(REGION, "AWS/SageMaker", "Invocations", dims, [(t, 20.0) for t in hours])
    samples = []
    for t in hours:
        tail = 400_000.0 if t >= changed else 100_000.0
        samples += [(t + timedelta(minutes=5 * i), 30_000.0) for i in range(9)] + [(t + timedelta(minutes=50), tail)]
    moto_ext.put_series(REGION, "AWS/SageMaker", "ModelLatency", dims, samples)
    before = demo.calls["GetMetricData"]
    report = demo.scan(now)
    [f] = [f for f in report.findings if f.kind.value == "latency-regression"]
    assert f.endpoint == "ranker-v2" and f.evidence["before_p99_ms"] == pytest.approx(100.0, rel=0.1)
    assert f.evidence["after_p99_ms"] == pytest.approx(400.0, rel=0.1)  # the hour of the change is mixed
    # the main batch, the hour-of-week profile's, and the history of the changed endpoint
    assert demo.calls["GetMetricData"] - before <= 3


def test_the_containers_of_a_pipeline_are_found_with_one_listing(sm, demo):
    """ContainerLatency series are found by one region-wide ListMetrics, read in the main batch."""
    from sagewatch_testkit import moto_ext

    now = datetime.now(UTC)
    fleet.seed(sm, [sim("pipeline", 400.0, target="100")], region=REGION, now=now)
    hours = [
        now.replace(minute=0, second=0, microsecond=0) - __import__("datetime").timedelta(hours=h)
        for h in range(30, 0, -1)
    ]
    for name, avg in (("preprocess", 20_000.0), ("model", 300_000.0)):
        dims = {"EndpointName": "pipeline", "VariantName": "AllTraffic", "ContainerName": name}
        moto_ext.put_series(REGION, "AWS/SageMaker", "ContainerLatency", dims, [(t, avg) for t in hours])
    before = demo.calls["ListMetrics"]
    report = demo.scan(now)
    [f] = [f for f in report.findings if f.kind.value == "slow"]
    assert [c["container"] for c in f.evidence["containers"]] == ["model", "preprocess"]
    assert demo.calls["ListMetrics"] - before == 1


def test_the_demos_latency_showcase_shows_every_latency_finding(sm, demo):
    now = datetime.now(UTC)
    fleet.seed_latency_showcase(sm, REGION, now)
    found = {(f.endpoint, f.kind.value) for f in demo.scan(now).findings}
    assert {
        ("ranker-latency", "slow"),
        ("embedder-v2", "latency-regression"),
        ("fraud-pipeline", "slow"),
        ("recsys-mme", "cache-thrashing"),
    } <= found


def test_serverless_cold_starts_on_moto(sm, demo):
    """ModelSetupTime's SampleCount counts cold starts and its p99 comes from the per-request values."""
    from sagewatch_testkit import moto_ext

    now = datetime.now(UTC)
    v = fleet.SimVariant("AllTraffic", None, invocations=fleet.flat(100))
    fleet.seed(sm, [fleet.SimEndpoint("sentiment-cold", [v])], region=REGION, now=now)
    dims = {"EndpointName": "sentiment-cold", "VariantName": "AllTraffic"}
    hours = [now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=h) for h in range(30, 0, -1)]
    # 12 cold starts an hour (12% of 100 requests), the slowest 2.5 s
    setups = [(t + timedelta(minutes=5 * i), 2_500_000.0 if i == 0 else 900_000.0) for t in hours for i in range(12)]
    moto_ext.put_series(REGION, "AWS/SageMaker", "ModelSetupTime", dims, setups)
    [f] = [f for f in demo.scan(now).findings if f.kind.value == "cold-starts"]
    assert f.endpoint == "sentiment-cold" and 2000 <= f.evidence["cold_start_p99_ms"] <= 2500  # edge hours are partial
    assert 11.5 <= f.evidence["cold_start_pct"] <= 12.5
