"""Endpoint configs described once, then kept between scans (issue 18): in the stack's state table and in the
CLI's file. A name reused after its config was deleted is described again; a broken cache only costs calls."""

import json
from datetime import timedelta

import boto3
import pytest

from sagewatch.app.judge import run_scan
from sagewatch.aws.config_cache import FileConfigArchive, TableConfigArchive
from sagewatch.aws.state import StateStore
from sagewatch.aws.wiring import readers
from sagewatch.catalog import Catalog
from sagewatch.cli import main
from sagewatch.settings import Thresholds
from sagewatch_testkit import aws_rules, fleet, moto_ext
from sagewatch_testkit.aws_fixtures import id_table

REGION = moto_ext.DEFAULT_REGION
TABLE = "sagewatch-state"


def sims(n=12):
    return [
        fleet.SimEndpoint(
            f"ep-{i:02d}", [fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 2, fleet.flat(100), cpu=5, memory=8)]
        )
        for i in range(n)
    ]


def scan(harness, now, archive):
    return run_scan(
        *readers(harness.clients, configs=archive), Catalog.load(), Thresholds(), now=now, region=REGION, account=None
    )


def conclusions(report):
    return sorted((f.endpoint, f.kind.value, f.recommendation.action.value, f.instance_type) for f in report.findings)


@pytest.fixture
def table(aws):
    ddb = boto3.client("dynamodb", region_name=REGION)
    id_table(ddb, TABLE)
    return ddb


def test_a_second_scan_describes_no_config_and_judges_the_same(harness, sm, now, table):
    fleet.seed(sm, sims(), region=REGION, now=now)
    archive = TableConfigArchive(table, TABLE)
    first = scan(harness, now, archive)
    assert harness.calls["DescribeEndpointConfig"] == 12 and harness.calls["ListEndpointConfigs"] == 0
    harness.calls.clear()
    second = scan(harness, now + timedelta(hours=1), archive)
    assert harness.calls["DescribeEndpointConfig"] == 0
    assert harness.calls["ListEndpointConfigs"] == 1  # configs created since the first scan: none
    assert harness.calls["DescribeEndpoint"] == 12  # the floor: live counts
    assert conclusions(second) == conclusions(first) and first.findings
    # the finding state shares the table and never sees the cache's items
    assert StateStore(table, TABLE).load() == {}


def test_a_reused_config_name_is_described_again(harness, sm, now, table):
    fleet.seed(sm, sims(2), region=REGION, now=now)
    archive = TableConfigArchive(table, TABLE)
    scan(harness, now - timedelta(hours=2), archive)  # the cache is two hours old
    # ep-00's config deleted and made again under the same name, now with a bigger type
    sm.delete_endpoint(EndpointName="ep-00")
    aws_rules.CLOCK.sleep(aws_rules.DURATIONS.endpoint_delete)  # its config is in use until it is gone
    sm.delete_endpoint_config(EndpointConfigName="ep-00-config")
    sm.create_endpoint_config(
        EndpointConfigName="ep-00-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "ep-00-model",
                "InstanceType": "ml.m5.4xlarge",
                "InitialInstanceCount": 2,
            }
        ],
    )
    sm.create_endpoint(EndpointName="ep-00", EndpointConfigName="ep-00-config")
    moto_ext.in_service(REGION, ["ep-00"])
    moto_ext.set_endpoint_times(REGION, "ep-00", now - timedelta(days=30))
    harness.calls.clear()
    report = scan(harness, now, archive)
    assert harness.calls["DescribeEndpointConfig"] == 1  # ep-00-config only; ep-01's comes from the cache
    found = {f.endpoint: f for f in report.findings}
    assert "ep-00" in found and found["ep-00"].instance_type == "ml.m5.4xlarge"


def test_an_unreadable_cache_costs_calls_never_the_scan(harness, sm, now, aws):
    fleet.seed(sm, sims(3), region=REGION, now=now)
    archive = TableConfigArchive(boto3.client("dynamodb", region_name=REGION), "no-such-table")
    report = scan(harness, now, archive)
    assert report.endpoints == 3 and report.errors == []
    assert harness.calls["DescribeEndpointConfig"] == 3


def test_the_cli_keeps_configs_in_its_cache_file(sm, now, aws, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fleet.seed(sm, sims(4), region=REGION, now=now - timedelta(hours=1))
    assert main(["scan", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    cache = tmp_path / "sagewatch" / "endpoint-configs.json"
    doc = json.loads(cache.read_text())
    [(scope, entry)] = doc.items()
    assert scope == f"{moto_ext.DEFAULT_ACCOUNT}/{REGION}" and len(entry["configs"]) == 4

    archive = FileConfigArchive(cache)
    assert set(archive.load(scope).configs) == {f"ep-{i:02d}-config" for i in range(4)}
    assert archive.load("999999999999/us-east-1").configs == {}  # another account never gets these

    cache.write_text("{damaged")
    assert main(["scan", "--format", "json"]) == 0  # a damaged file is ignored and rewritten
    again = json.loads(capsys.readouterr().out)["findings"]

    def judged(findings):  # the same conclusions; the windows move with the clock (the scans may straddle a minute)
        return [(f["id"], f["recommendation"], f["monthly_savings_usd"]) for f in findings]

    assert judged(again) == judged(first["findings"])
    assert json.loads(cache.read_text())[scope]["configs"]


def test_progress_hears_every_stage_to_its_end(harness, sm, now):
    fleet.seed(sm, sims(5), region=REGION, now=now)
    heard = []
    run_scan(
        *readers(harness.clients, progress=lambda stage, done, total: heard.append((stage, done, total))),
        Catalog.load(),
        Thresholds(),
        now=now,
        region=REGION,
        account=None,
    )
    assert ("listed", 5, 5) in heard and ("described", 5, 5) in heard
    assert sorted(d for s, d, _ in heard if s == "described") == [1, 2, 3, 4, 5]
    batches = [(d, t) for s, d, t in heard if s == "metric batches"]
    assert batches[0][0] == 0 and batches[-1][0] == batches[-1][1] >= 1


def test_the_cli_prints_no_progress_when_stderr_is_not_a_terminal(sm, now, aws, capsys):
    fleet.seed(sm, sims(2), region=REGION, now=now)
    assert main(["scan", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "sagewatch:" not in captured.err and "\x1b" not in captured.err + captured.out
    json.loads(captured.out)  # the JSON is whole


def test_damaged_cache_items_are_ignored(harness, sm, now, table):
    fleet.seed(sm, sims(3), region=REGION, now=now)
    scope = f"{moto_ext.DEFAULT_ACCOUNT}/{REGION}"
    for key, doc in ((f"config#{scope}", '{"nope": 1}'), (f"config#{scope}#ep-00-config", "not json")):
        table.put_item(TableName=TABLE, Item={"id": {"S": key}, "endpoint": {"S": ""}, "doc": {"S": doc}})
    report = scan(harness, now, TableConfigArchive(table, TABLE))
    assert report.endpoints == 3 and report.errors == []
    assert harness.calls["DescribeEndpointConfig"] == 3  # nothing from the damaged cache
    assert StateStore(table, TABLE).load() == {}  # nor does the finding state read them
