"""The data-capture finding on moto: a busy endpoint capturing most of its requests is found with the sampling
that would do, its bucket's lifecycle read (once a day); a quiet one, or one already sampled, is not."""

import json
from datetime import UTC, datetime

import boto3
import pytest

from sagewatch.cli import main
from sagewatch.models import Kind
from sagewatch.notify.digest import _SENTENCES
from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.fleet import SimEndpoint, SimVariant, flat
from sagewatch_testkit.schemas import validate_report

REGION = moto_ext.DEFAULT_REGION


def endpoint(name: str, per_hour: float, capture: int | None) -> SimEndpoint:
    return SimEndpoint(
        name, [SimVariant("AllTraffic", "ml.m5.xlarge", 2, flat(per_hour), cpu=60, memory=60)], capture_pct=capture
    )


def scan(capsys) -> dict:
    assert main(["scan", "--region", REGION, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate_report(doc)
    return doc


@pytest.fixture
def captured(sm):
    fleet.seed(
        sm,
        [
            endpoint("busy-all", 5000, 100),  # 120,000 a day, all captured
            endpoint("busy-sampled", 5000, 10),  # already sampled
            endpoint("quiet-all", 100, 100),  # 2,400 a day: nothing to trim
            endpoint("busy-none", 5000, None),
        ],
        region=REGION,
        now=datetime.now(UTC),
    )
    return sm


def test_a_busy_endpoint_capturing_everything_is_found_with_the_sampling_that_would_do(captured, capsys):
    found = [f for f in scan(capsys)["findings"] if f["kind"] == "data-capture"]
    assert [f["endpoint"] for f in found] == ["busy-all"]
    ev = found[0]["evidence"]
    assert ev["sampling_pct"] == 100 and ev["requests_per_day"] == pytest.approx(120_000, rel=0.05)
    assert ev["recommended_sampling_pct"] == 9  # 10,000 of 120,000 a day, rounded up
    assert ev["destination"] == "s3://capture-busy-all/datacapture" and ev["capture_modes"] == ["Input", "Output"]
    assert ev["lifecycle_rule"] is False and found[0]["severity"] == "medium"  # kept forever
    assert found[0]["monthly_cost_usd"] is None and found[0]["monthly_savings_usd"] is None  # storage not priced
    assert "9% would keep 10,000 a day" in _SENTENCES[Kind.DATA_CAPTURE](ev)


def test_a_bucket_that_expires_captures_makes_it_low(captured, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the lifecycle is read again
    boto3.client("s3", region_name=REGION).put_bucket_lifecycle_configuration(
        Bucket="capture-busy-all",
        LifecycleConfiguration={
            "Rules": [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 30}}]
        },
    )
    [found] = [f for f in scan(capsys)["findings"] if f["kind"] == "data-capture"]
    assert found["evidence"]["lifecycle_rule"] is True and found["severity"] == "low"


def test_an_unreadable_bucket_is_said_as_not_read(captured, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    s3 = boto3.client("s3", region_name=REGION)
    s3.delete_bucket(Bucket="capture-busy-all")  # gone (or another account's): not known, never a guess
    [found] = [f for f in scan(capsys)["findings"] if f["kind"] == "data-capture"]
    assert found["evidence"]["lifecycle_rule"] is None and found["severity"] == "low"
