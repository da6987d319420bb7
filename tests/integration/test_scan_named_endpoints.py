"""`sagewatch scan --endpoint NAME` (repeatable) on moto: just those endpoints are judged, each read with one
DescribeEndpoint and no listing; a name that does not exist is a scan error naming it, never a crash."""

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from sagewatch.aws.clients import Clients
from sagewatch.cli import main
from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.calls import count_calls

REGION = moto_ext.DEFAULT_REGION


@pytest.fixture
def demo(sm):
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=datetime.now(UTC))
    return sm


def test_only_the_named_endpoints_are_scanned_with_one_describe_each(demo, capsys, monkeypatch):
    sessions: list[Counter] = []
    resolve = Clients.resolve.__func__  # type: ignore[attr-defined]

    def counting(cls, region=None):
        clients = resolve(cls, region)
        sessions.append(count_calls(clients.session.events))
        return clients

    monkeypatch.setattr(Clients, "resolve", classmethod(counting))
    argv = ["scan", "--region", REGION, "--format", "json", "--endpoint", "churn-model-staging"]
    assert main([*argv, "--endpoint", "image-embedder"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scanned"]["endpoints"] == 2
    assert {f["endpoint"] for f in doc["findings"]} <= {"churn-model-staging", "image-embedder"}
    assert {f["kind"] for f in doc["findings"]} >= {"idle", "oversized"}
    calls = sum(sessions, Counter())
    assert calls["ListEndpoints"] == 0 and calls["DescribeEndpoint"] == 2


def test_a_name_that_does_not_exist_is_said(demo, capsys):
    argv = ["scan", "--region", REGION, "--format", "json", "--endpoint", "no-such-endpoint"]
    assert main([*argv, "--endpoint", "image-embedder"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scanned"]["endpoints"] == 1
    [error] = [e for e in doc["errors"] if e.get("endpoint") == "no-such-endpoint"]
    assert error["operation"] == "DescribeEndpoint" and error["code"] == "ResourceNotFound"


def test_a_bad_name_or_several_regions_are_refused(demo, capsys):
    assert main(["scan", "--region", REGION, "--endpoint", "bad_name!"]) == 2
    assert "is not an endpoint name" in capsys.readouterr().err
    assert main(["scan", "--regions", "us-east-1,eu-west-1", "--endpoint", "image-embedder"]) == 2
    assert "--endpoint names endpoints of one region" in capsys.readouterr().err


def test_commands_run_as_printed_with_local_where_no_stack_deploys_remediation(demo, capsys):
    assert main(["scan", "--region", REGION, "--format", "json", "--endpoint", "churn-model-staging"]) == 0
    [finding] = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["kind"] == "idle"]
    command = finding["recommendation"]["command"]
    assert command.startswith("sagewatch remediate delete-endpoint ") and command.endswith(" --local")
    # a remediate call that finds no stack says what to do instead
    assert main(command.removesuffix(" --local").split()[1:]) == 2
    err = capsys.readouterr().err
    assert "has no remediation function" in err and "add --local" in err and "Remediation=enabled" in err
