"""AWS's own view on moto and the test kit's Compute Optimizer: the demo fleet's idle findings each say what
Compute Optimizer thinks, the scan report lists where they disagree and why; not enrolled and denied are said
once, never an error; the day's answer is kept."""

import json
from datetime import UTC, datetime

import pytest

from sagewatch.cli import main
from sagewatch_testkit import awsview_aws, fleet, moto_ext
from sagewatch_testkit.schemas import validate_report

REGION = moto_ext.DEFAULT_REGION


@pytest.fixture
def demo_fleet(sm):
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=datetime.now(UTC))
    return sm


def scan(capsys) -> dict:
    assert main(["scan", "--region", REGION, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate_report(doc)
    return doc


def idle_views(doc: dict) -> dict:
    return {(f["endpoint"], f["variant"]): f["evidence"]["aws_view"] for f in doc["findings"] if f["kind"] == "idle"}


def test_the_demo_fleet_beside_compute_optimizer(demo_fleet, capsys):
    fleet.seed_demo_aws_view(REGION)
    doc = scan(capsys)
    views = idle_views(doc)
    assert views[("genai-sandbox", None)] == views[("churn-model-staging", None)] == "idle"
    assert views[("recsys-ab-test", "challenger")] == "not idle"
    view = doc["aws_view"]
    assert view["status"] == "read" and view["idle_endpoints"] == 3
    assert sorted(view["agree"]) == ["churn-model-staging", "genai-sandbox"]
    differ = {d["endpoint"]: d for d in view["disagreements"]}
    assert differ["transcribe-async"]["aws"] == "idle" and differ["transcribe-async"]["sagewatch"] == "not idle"
    assert differ["transcribe-async"]["reason"].startswith("an asynchronous endpoint serving its queue")
    assert differ["recsys-ab-test"]["reason"].startswith("a variant idle beside a busy one")
    assert main(["scan", "--region", REGION]) == 0
    text = capsys.readouterr().out
    assert "AWS Compute Optimizer finds 3 endpoints idle; it agrees with sagewatch on 2" in text
    assert "AWS Cost Optimization Hub recommends acting on 4 endpoints:" in text


def test_cost_optimization_hub_beside_sagewatch(demo_fleet, capsys):
    fleet.seed_demo_aws_view(REGION)
    hub = scan(capsys)["aws_view"]["cost_optimization_hub"]
    assert hub["status"] == "read" and hub["count"] == 4  # eu-west-1's endpoint is another region's
    recs = {r["endpoint"]: r for r in hub["recommendations"]}
    assert recs["genai-sandbox"]["action"] == "Delete" and recs["genai-sandbox"]["sagewatch"] == [
        "idle: delete-endpoint"
    ]
    assert recs["image-embedder"]["action"] == "Rightsize"
    assert recs["image-embedder"]["estimated_monthly_savings_usd"] == 410.0
    assert "oversized: resize-variant" in recs["image-embedder"]["sagewatch"]
    assert not any(x.startswith("idle") for x in recs["transcribe-async"]["sagewatch"])


def test_cost_optimization_hub_not_enrolled_or_denied_is_said(demo_fleet, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    doc = scan(capsys)
    hub = doc["aws_view"]["cost_optimization_hub"]
    assert hub["status"] == "not enrolled" and hub["recommendations"] == [] and doc["errors"] == []
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "again"))
    awsview_aws.deny_hub()
    hub = scan(capsys)["aws_view"]["cost_optimization_hub"]
    assert hub["status"] == "not read" and "AccessDeniedException" in hub["note"]


def test_an_account_not_enrolled_or_denied_is_said_never_an_error(demo_fleet, capsys):
    doc = scan(capsys)  # the test kit's accounts start not enrolled, as AWS's do
    assert doc["aws_view"]["status"] == "not enrolled" and doc["errors"] == []
    assert set(idle_views(doc).values()) == {"not enrolled"}
    assert main(["scan", "--region", REGION]) == 0
    assert "AWS Compute Optimizer: Compute Optimizer: this account is not enrolled." in capsys.readouterr().out


def test_denied_is_said(demo_fleet, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no answer kept from another test
    awsview_aws.deny(REGION)
    doc = scan(capsys)
    assert doc["aws_view"]["status"] == "not read" and "AccessDeniedException" in doc["aws_view"]["note"]
    assert doc["errors"] == [] and set(idle_views(doc).values()) == {"not read"}


def test_the_days_answer_is_kept(demo_fleet, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fleet.seed_demo_aws_view(REGION)
    scan(capsys)
    awsview_aws.deny(REGION)  # a second read would now fail: the kept answer is used
    assert scan(capsys)["aws_view"]["status"] == "read"
